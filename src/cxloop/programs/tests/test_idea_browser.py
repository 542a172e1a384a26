"""服务金点子 end to end in headless Chromium: a customer sends an idea from a phone (a bad
number is a message beside the field, nothing typed is lost); staff open it on the console,
see its sentiment and aspects, choose it as the week's best, which rewards the author with
points, and adopt it onto the improvement list.

Uses the console browser helpers (Debian's /usr/bin/chromium; CXLOOP_SKIP_BROWSER=1 skips).
"""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from cxloop.console.tests.test_browser import _page, browser  # noqa: F401 - the fixture
from cxloop.customers.models import Customer
from cxloop.programs.models import Idea, ImprovementAction

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
BODY = "结账排队太久了，希望高峰期多开一个收银台，或者增加自助结账机，会方便很多。"


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_an_idea_from_a_phone_to_the_improvement_list(browser, live_server, owner):  # noqa: F811
    from playwright.sync_api import expect

    cache.clear()  # the form's rate limit lives in the cache
    Customer.objects.create(external_id="C-88", name="王女士", phone="13912345678")
    context, page = _page(browser, live_server, viewport=PHONE)
    page.goto(f"{live_server.url}/programs/ideas/new/")
    _fits(page)
    page.get_by_label("Your idea in one line").fill("高峰期多开收银台")
    page.get_by_label("Tell us more").fill(BODY)
    page.get_by_label("Mobile number").fill("12345")
    page.get_by_role("button", name="Send my idea").click()
    expect(page.get_by_role("alert")).to_contain_text("Mobile number")
    expect(page.get_by_label("Tell us more")).to_have_value(BODY)
    page.get_by_label("Mobile number").fill("13912345678")
    page.get_by_role("button", name="Send my idea").click()
    expect(page.locator("h2")).to_contain_text("Thank you for your idea!")
    _fits(page)
    context.close()

    idea = Idea.objects.get()
    assert idea.customer.external_id == "C-88"
    context, page = _page(browser, live_server, owner)
    page.goto(f"{live_server.url}/programs/ideas/")
    page.get_by_role("link", name="高峰期多开收银台").click()
    expect(page.locator("dl.facts")).to_contain_text("Response speed")  # 排队太久
    page.get_by_role("button", name="Best idea of this week").click()
    expect(page.locator("dl.facts")).to_contain_text(re.compile(r"\d+ points"))
    page.get_by_role("button", name="Adopt").click()
    expect(page.locator("body")).to_contain_text("Improvement actions")
    action = ImprovementAction.objects.get(idea=idea)
    assert action.source_kind == "idea"
    idea.refresh_from_db()
    assert idea.status == "adopted" and idea.reward_entry.points > 0
    context.close()
