"""The survey editor in headless Chromium: template → add a question → warning → publish.

Uses the launch and sign-in helpers of the console browser tests (Debian's /usr/bin/chromium;
CXLOOP_SKIP_BROWSER=1 skips).
"""

from __future__ import annotations

import pytest

from cxloop.console.tests.test_browser import _page, browser  # noqa: F401 - the fixture
from cxloop.surveys.models import Survey

pytestmark = pytest.mark.browser

LEADING_TEXT = "您是否觉得我们的服务非常好？"


def test_create_from_template_add_question_see_warning_publish(browser, live_server, owner):  # noqa: F811
    from playwright.sync_api import expect

    context, page = _page(browser, live_server, owner)
    try:
        page.goto(live_server.url + "/")
        page.locator("nav.sidebar").get_by_role("link", name="Surveys", exact=True).click()
        page.locator("[data-template=post_delivery_csat]").click()
        editor = page.locator("#survey-editor")
        expect(editor).to_be_visible()
        survey = Survey.objects.get()

        # Add an open question to the first page: htmx swaps the editor, the new one is open.
        page.select_option("#add-type-0", "text")
        page.locator("#page-0 .add-question button").click()
        question = page.locator("#q-q1")
        expect(question).to_be_visible()
        expect(question.locator("details")).to_have_attribute("open", "")

        # A leading wording gets a warning in the side panel after saving.
        question.locator("textarea[name='q-q1-text']").fill(LEADING_TEXT)
        condition = question.locator("input[name='q-q1-show_if']")
        condition.fill("csat <<= 2")  # the live check explains the mistake while typing
        expect(question.locator(".condition-error")).to_be_visible()
        condition.fill("csat <= 2")
        expect(question.locator(".condition-ok")).to_be_visible()
        question.get_by_role("button", name="Save question").click()
        warnings = page.locator("#design-warnings")
        expect(warnings.locator("[data-code^=leading]")).to_contain_text("q1")
        expect(page.locator("#live-preview")).to_contain_text(LEADING_TEXT)

        page.locator("#publish-button").click()
        expect(page.locator("#survey-editor .messages")).to_contain_text("Published version 1")
        expect(page.locator("#version-list")).to_contain_text("v1")
        survey.refresh_from_db()
        assert survey.current_version.number == 1
        assert survey.status == Survey.Status.ACTIVE
        texts = [q.get("text") for p in survey.draft["pages"] for q in p["questions"]]
        assert LEADING_TEXT in texts
    finally:
        context.close()
