"""Problem → cause → action in headless Chromium: the CX manager opens a survey's results,
goes to its low-score clusters, reads why East's detractors are unhappy (logistics, with
examples), starts an improvement action from the finding and finds it on the improvement list.

Uses the console browser helpers (Debian's /usr/bin/chromium; CXLOOP_SKIP_BROWSER=1 skips).
"""

from __future__ import annotations

import re

import pytest

from cxloop.console.tests.test_browser import _page, browser  # noqa: F401 - the fixture
from cxloop.programs.models import ImprovementAction
from cxloop.surveys.tests.test_clusters import LATE, survey  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


def test_from_the_results_to_an_improvement_action(browser, live_server, owner, survey):  # noqa: F811
    from playwright.sync_api import expect

    context, page = _page(browser, live_server, owner)
    page.goto(f"{live_server.url}/surveys/{survey.pk}/results/")
    page.get_by_role("link", name="Low-score clusters").first.click()
    expect(page).to_have_url(re.compile(rf"/surveys/{survey.pk}/analysis/clusters/"))
    expect(page.locator("[data-summary]")).to_contain_text("61 of 211 analysed texts are low")

    east = page.locator('section[data-place="华东"]')
    row = east.locator('tr[data-term="logistics"]')
    expect(row.locator("th")).to_contain_text("Logistics")
    expect(row.locator("td").first).to_have_text(re.compile(r"^\d+\.\d×$"))
    row.get_by_text("3 examples").click()
    expect(row.locator("ul.examples li").first).to_contain_text(LATE)

    # Break it down by store instead: the filter form keeps the rule.
    page.get_by_label("Break down by").select_option("store")
    page.get_by_role("button", name="Show").click()
    expect(page.locator('section[data-place="华东0店"]')).to_be_visible()
    page.go_back()

    page.locator('section[data-place="华东"] tr[data-term="logistics"]').get_by_role(
        "link", name="Start an improvement action"
    ).click()
    expect(page.get_by_label("Title")).to_have_value(re.compile(r"^Region 华东: Logistics, "))
    expect(page.get_by_label("Description")).to_have_value(re.compile("Low-score cluster in"))
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(re.compile(r"/programs/improvements/$"))
    listed = page.locator("tr", has_text="Region 华东: Logistics")
    expect(listed).to_contain_text("Low-score cluster")
    action = ImprovementAction.objects.get()
    assert action.source_kind == "cluster" and LATE in action.description
    context.close()
