"""Survey test fixtures: quiet hours are off unless a test asks for them.

Otherwise an SMS sent "now" would be held back whenever the suite runs at night in Shanghai.
"""

from __future__ import annotations

import pytest

from cxloop.surveys import invitations


@pytest.fixture(autouse=True)
def _no_quiet_hours(request, monkeypatch):
    if "quiet_hours" not in request.fixturenames:
        monkeypatch.setattr(invitations, "quiet_hours_end", lambda invitation, now: now)


@pytest.fixture
def quiet_hours():
    """The organisation's real quiet-hours setting (default 21:00–08:00) applies."""
