"""A mystery shopper enters an audit on a phone in headless Chromium: one item per row, no
sideways scrolling, a forgotten score is a message beside the item and nothing typed is lost;
the saved audit shows its weighted score, and the weak item is on the improvement list.

Uses the console browser helpers (Debian's /usr/bin/chromium; CXLOOP_SKIP_BROWSER=1 skips).
"""

from __future__ import annotations

import re

import pytest

from cxloop.console.tests.test_browser import _page, browser  # noqa: F401 - the fixture
from cxloop.programs.models import ImprovementAction, MysteryAudit

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_audit_entry_on_a_phone(browser, live_server, teammate, template):  # noqa: F811
    from playwright.sync_api import expect

    context, page = _page(browser, live_server, teammate, viewport=PHONE)
    page.goto(f"{live_server.url}/programs/audits/new/{template.pk}/")
    _fits(page)
    page.get_by_label("Store", exact=True).fill("杭州西湖店")
    page.get_by_label("Shopper").fill("王女士")
    page.get_by_label("1. 进门问候").select_option("5")
    page.get_by_label("3. 结账速度").select_option("2")  # weak: 2 of 10
    page.get_by_role("button", name="Save audit").click()

    # Item 2 was forgotten: the form comes back with the message and the answers kept.
    expect(page.locator("#form-errors")).to_be_visible()
    expect(page.get_by_label("1. 进门问候")).to_have_value("5")
    expect(page.get_by_label("Store", exact=True)).to_have_value("杭州西湖店")
    _fits(page)
    page.get_by_label("2. 价签清晰").select_option("4")
    page.get_by_role("button", name="Save audit").click()

    expect(page).to_have_url(re.compile(r"/programs/audits/\d+/$"))
    audit = MysteryAudit.objects.get(store="杭州西湖店")
    # (2·5/5 + 1·4/5 + 1·2/10) / 4 = 75 %
    assert audit.score_percent == pytest.approx(75.0)
    expect(page.locator("body")).to_contain_text("75.0")
    _fits(page)
    weak = ImprovementAction.objects.get(store="杭州西湖店")
    assert weak.source_kind == "audit_item" and "结账速度" in weak.title
    context.close()
