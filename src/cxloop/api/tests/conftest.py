"""API test helpers: they live in the shared ``cxloop/conftest.py`` with the fixtures
(``owner_api``, ``teammate_api``, ``analyst_api``, ``outsider_api``, ``anonymous_api``); the
names stay importable from here for the modules that import them this way."""

from __future__ import annotations

from cxloop.conftest import ApiClient, make_token

__all__ = ["ApiClient", "make_token"]
