"""The answer pages in headless Chromium on a phone: invitation link → branch → thank-you, then
the manager's results page counts the response.

Uses the launch and sign-in helpers of the console browser tests (Debian's /usr/bin/chromium;
CXLOOP_SKIP_BROWSER=1 skips).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from cxloop.console.tests.test_browser import _page, browser  # noqa: F401 - the fixture
from cxloop.surveys import tokens
from cxloop.surveys.models import Invitation, Response
from cxloop.surveys.tests.answer_helpers import make_invitation, make_survey

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def _fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_answer_invitation_on_a_phone_with_a_branch(browser, live_server, owner):  # noqa: F811
    from playwright.sync_api import expect

    # speeder_seconds=0: a robot answers in seconds; the response must still count.
    survey = make_survey(speeder_seconds=0)
    invitation = make_invitation(survey)
    link = reverse("answer:invitation", args=[tokens.make_invitation_token(invitation)])
    context, page = _page(browser, live_server, locale="en-US", viewport=PHONE)
    try:
        page.goto(live_server.url + link)
        expect(page.locator("h1")).to_have_text("Shopping survey")
        expect(page.locator("main")).to_contain_text("About 3 minutes")
        page.get_by_role("button", name="Start").click()

        expect(page.locator("#progress-text")).to_have_text("Page 1 of 3")
        expect(page.locator("#question-reasons")).to_have_count(0)
        page.get_by_role("group", name="How likely?").get_by_label("3", exact=True).check()
        # Keyboard: focus the first rating and move with the arrow key.
        page.focus("#q-overall-1")
        page.keyboard.press("ArrowDown")
        expect(page.locator("#q-overall-2")).to_be_checked()
        tap_target = page.locator("label[for=q-overall-2]").bounding_box()
        assert tap_target["height"] >= 44
        _fits_the_phone(page)
        page.get_by_role("button", name="Next").click()

        # The low score reveals the reasons question; answers given so far are kept.
        expect(page.locator(".notice")).to_contain_text("A follow-up question appeared")
        expect(page.locator("#q-nps-3")).to_be_checked()
        page.get_by_role("button", name="Next").click()  # reasons is required: an error
        expect(page.locator("#answer-errors")).to_contain_text("What disappointed you?")
        expect(page.locator("#error-reasons")).to_have_text("This question needs an answer.")
        page.get_by_label("Delivery").check()
        page.get_by_role("button", name="Next").click()

        expect(page.locator("#progress-text")).to_have_text("Page 2 of 4")
        for row, value in (("efficiency", 2), ("attitude", 3), ("resolution", 2)):
            page.check(f"#q-dims-{row}-{value}")
        page.check("#q-dims-environment-4")
        page.check("#q-effort-5")
        page.check("#q-kano_fast-functional-0")
        page.check("#q-kano_fast-dysfunctional-4")
        _fits_the_phone(page)
        page.get_by_role("button", name="Next").click()

        expect(page.locator("#progress-text")).to_have_text("Page 3 of 4")
        page.get_by_label("Yes").check()
        page.get_by_role("button", name="Next").click()
        page.get_by_label("Anything else?").fill("送货太慢")
        page.get_by_role("button", name="Submit").click()

        expect(page.locator("h1")).to_have_text("Thanks for your feedback!")
        expect(page.locator(".incentive")).to_have_text("You are in the prize draw")
    finally:
        context.close()

    response = Response.objects.get()
    assert response.nps == 3 and response.csat == 2 and response.excluded is False
    assert response.answers["reasons"] == ["物流"] and response.answers["followup"] == "yes"
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ANSWERED

    # The manager's results page shows the response.
    context, page = _page(browser, live_server, owner)
    try:
        page.goto(live_server.url + reverse("surveys:view_results", args=[survey.pk]))
        expect(page.locator("[data-figure=responses]")).to_have_text("1")
        expect(page.locator("[data-figure=nps]")).to_have_text("-100.0")
    finally:
        context.close()
