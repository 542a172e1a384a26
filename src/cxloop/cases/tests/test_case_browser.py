"""The closed loop in headless Chromium: a customer files a complaint on a phone through /c/new/
and lands on the progress page; an agent signs into the console on a laptop, opens the case
from their queue, replies and resolves it; the customer reloads and sees the reply and the
"resolved" stage.

Uses the launch and sign-in helpers of the console browser tests (Debian's /usr/bin/chromium;
CXLOOP_SKIP_BROWSER=1 skips).
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache

from cxloop.cases.models import AssignmentRule, Case, Membership
from cxloop.console.tests.test_browser import _page, browser  # noqa: F401 - the fixture
from cxloop.core import roles

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
REPLY = "王女士您好，我们已联系快递公司，明天上午重新派送。"
RESOLUTION = "已重新派送并补偿 20 元优惠券。"


def _fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.fixture
def agent(departments, categories, django_user_model):
    """An agent in customer service, who gets the product-quality cases (a routing rule)."""
    user = django_user_model.objects.create_user(
        username="xiaoli", password="pw-xiaoli", first_name="小李", email="xiaoli@corp.example"
    )
    user.groups.add(Group.objects.get(name=roles.AGENT))
    Membership.objects.create(department=departments["service"], user=user)
    AssignmentRule.objects.create(
        name="product → service", category=categories["product"],
        department=departments["service"], strategy=AssignmentRule.Strategy.LEAST_LOADED,
    )  # fmt: skip
    cache.clear()  # the form's rate limit lives in the cache
    return user


def _file_complaint(page, live_server, category) -> str:
    """The customer's part: fill in the form, send it; returns the progress page's URL."""
    from playwright.sync_api import expect

    page.goto(live_server.url + "/c/new/")
    expect(page.locator("h1")).to_have_text("Send us your feedback")
    _fits_the_phone(page)
    page.get_by_label("Complaint").check()
    page.get_by_label("What happened?").fill("买的电水壶三天了还没送到，物流一直不更新。")
    page.get_by_label("Topic").select_option(value=str(category.pk))  # the defaults have one too
    page.get_by_label("Order number").fill("SO-20261201-88")
    page.get_by_label("Your name").fill("王女士")
    page.get_by_label("Mobile number").fill("13912345678")
    page.get_by_label("I agree that my contact details").check()
    page.get_by_role("button", name="Send").click()

    expect(page).to_have_url(re.compile(r"/c/[^/]+/\?new=1$"))
    expect(page.locator("#filed")).to_contain_text("Thank you, we have received your feedback.")
    expect(page.locator("h1")).to_contain_text("Complaint: 买的电水壶三天了还没送到")
    expect(page.locator("#stage")).to_have_attribute("data-stage", "handling")
    expect(page.locator("#handler")).to_have_text("小李 · 客服中心")
    expect(page.locator("#expected time")).to_be_visible()
    expect(page.locator("#keep-link a")).to_have_text(re.compile(r"^http.*/c/[^/]+/$"))
    _fits_the_phone(page)
    return page.url.split("?")[0]


def _answer_and_resolve(page, live_server, number: str) -> None:
    """The agent's part: sign in, open the case from My queue, reply, resolve."""
    from playwright.sync_api import expect

    page.goto(live_server.url + "/cases/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/cases/"))
    page.fill("#id_username", "xiaoli")
    page.fill("#id_password", "pw-xiaoli")
    page.click("button[type=submit].primary")
    expect(page).to_have_url(f"{live_server.url}/cases/")
    page.get_by_role("link", name=number).click()
    expect(page.locator("h1")).to_contain_text(number)
    expect(page.locator("main")).to_contain_text("买的电水壶三天了还没送到")

    page.get_by_label("Reply to the customer").fill(REPLY)
    page.get_by_role("button", name="Send the reply").click()
    expect(page.locator("main")).to_contain_text("Reply sent.")
    expect(page.locator(".case-timeline")).to_contain_text(REPLY)

    page.locator("summary", has_text=re.compile(r"^Resolve$")).click()
    page.get_by_label("How was it solved?").fill(RESOLUTION)
    page.get_by_role("button", name="Mark resolved").click()
    expect(page.locator("main")).to_contain_text("Case resolved.")
    expect(page.locator(".case-header .case-status-resolved")).to_have_text("Resolved")


def test_complaint_answered_and_resolved(browser, live_server, agent, categories):  # noqa: F811
    from playwright.sync_api import expect

    customer, phone_page = _page(browser, live_server, locale="en-US", viewport=PHONE)
    staff, desk_page = _page(browser, live_server)
    try:
        progress_url = _file_complaint(phone_page, live_server, categories["product"])
        case = Case.objects.get()
        assert case.channel == "web_form" and case.owner == agent
        assert case.contact_phone == "13912345678"

        _answer_and_resolve(desk_page, live_server, case.number)

        phone_page.goto(progress_url)
        expect(phone_page.locator("#stage")).to_have_attribute("data-stage", "resolved")
        steps = phone_page.locator("#stepper li")
        expect(phone_page.locator('[data-step="resolved"]')).to_have_attribute(
            "aria-current", "step"
        )
        expect(steps).to_have_class(["done", "done", "skipped", "current", "todo"])
        timeline = phone_page.locator("#timeline")
        expect(timeline).to_contain_text("Reply from us")
        expect(timeline).to_contain_text(REPLY)
        expect(timeline).to_contain_text(RESOLUTION)
        expect(phone_page.locator("main")).not_to_contain_text("xiaoli@corp.example")
        _fits_the_phone(phone_page)

        # The customer answers on the page; the agent sees it on the case's timeline.
        phone_page.get_by_label("Send us a message").fill("收到了，谢谢！")
        phone_page.get_by_role("button", name="Send message").click()
        expect(phone_page.locator("#sent")).to_have_text("Your message has been sent.")
        desk_page.reload()
        expect(desk_page.locator(".case-timeline")).to_contain_text("收到了，谢谢！")
    finally:
        customer.close()
        staff.close()

    case.refresh_from_db()
    assert case.status == Case.Status.RESOLVED and case.first_response_at is not None
