"""The console in a real browser: headless Chromium driven by Playwright against live_server.

Needs Debian's chromium at /usr/bin/chromium (``apt-get install -y chromium``). Without it these
tests fail with that hint, unless CXLOOP_SKIP_BROWSER=1 asks to skip them.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from cxloop.customers.models import Customer, Order

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = "13812345678"
TIMEOUT_MS = 10_000


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Home figures and filter lists are cached; every test starts from an empty cache."""
    cache.clear()


@pytest.fixture(scope="module")
def browser():
    if os.environ.get("CXLOOP_SKIP_BROWSER") == "1":
        pytest.skip("CXLOOP_SKIP_BROWSER=1")
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: install it with `apt-get install -y chromium`, "
            "or set CXLOOP_SKIP_BROWSER=1 to skip the browser tests.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; the ORM calls the
    # tests make for their data are safe here (one thread, no concurrent use).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()


@pytest.fixture
def shop(db):
    """Three customers with orders this month, so figures and charts have something to show."""
    now = timezone.now()
    zhang = Customer.objects.create(
        external_id="C000001", name="张伟", phone=PHONE, region="华东", tags=["关注高端款"]
    )
    li = Customer.objects.create(external_id="C000002", name="李娜", phone="13900001111")
    wang = Customer.objects.create(external_id="C000003", name="王芳", region="华南")
    for index, (customer, fen) in enumerate([(zhang, 600_000), (li, 12_800), (wang, 9_900)]):
        Order.objects.create(
            customer=customer,
            external_id=f"O{index}",
            amount_fen=fen,
            placed_at=now - dt.timedelta(days=index + 1),
            status=Order.Status.COMPLETED,
        )
    return {"zhang": zhang, "li": li, "wang": wang}


def _page(browser, live_server, user=None, *, locale="en-US", viewport=None):
    """A fresh browser context, signed in as ``user`` through a real session cookie."""
    context = browser.new_context(
        locale=locale, viewport=viewport or {"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    if user is not None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
        )
    return context, context.new_page()


def test_login_then_home_shows_figures_and_chart(browser, live_server, owner, shop):
    from playwright.sync_api import expect

    context, page = _page(browser, live_server)
    try:
        page.goto(live_server.url + "/")
        expect(page).to_have_url(f"{live_server.url}/login/?next=/")
        page.fill("#id_username", "owner")
        page.fill("#id_password", "pw-owner")
        page.click("button[type=submit].primary")
        expect(page.locator("[data-figure=customers-total]")).to_have_text("3")
        expect(page.locator("[data-figure=vip-count]")).to_have_text("1")
        expect(page.locator("[data-figure=revenue-recent]")).to_have_text("¥6,227.00")
        # plotly.js loaded from its cached URL and drew both charts as SVG.
        expect(page.locator("#chart-monthly-orders .main-svg").first).to_be_visible()
        expect(page.locator("#chart-orders-by-region .main-svg").first).to_be_visible()
        expect(page.locator("#chart-monthly-orders")).to_contain_text("Orders")
    finally:
        context.close()


def test_customers_live_search_and_profile(browser, live_server, owner, shop):
    from playwright.sync_api import expect

    context, page = _page(browser, live_server, owner)
    try:
        page.goto(live_server.url + "/")
        page.locator("nav.sidebar").get_by_role("link", name="Customers").click()
        rows = page.locator("#customer-results tbody tr")
        expect(rows).to_have_count(3)
        page.fill("#customer-q", "李")  # htmx swaps the results after a short pause
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("李娜")
        expect(page).to_have_url(re.compile(r"/customers/\?q=%E6%9D%8E"))  # pushed to history
        page.get_by_role("link", name="李娜").click()
        expect(page.locator("h1")).to_contain_text("李娜")
        expect(page.locator("main")).to_contain_text("13900001111")
        expect(page.locator("main")).to_contain_text("¥128.00")
    finally:
        context.close()


def test_switch_language_to_english(browser, live_server, owner, shop):
    from playwright.sync_api import expect

    context, page = _page(browser, live_server, owner, locale="zh-CN")
    try:
        page.goto(live_server.url + "/customers/")
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        expect(page.locator("nav.sidebar")).to_contain_text("倾听")
        expect(page.locator("h1")).to_have_text("客户")
        page.select_option("#language-select", "en")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page).to_have_url(f"{live_server.url}/customers/")
        sidebar = page.locator("nav.sidebar")
        expect(sidebar.get_by_role("link", name="Customers")).to_be_visible()
        expect(sidebar).to_contain_text("Listen")
        expect(page.locator("h1")).to_have_text("Customers")
    finally:
        context.close()


def test_phone_layout_has_a_menu_button(browser, live_server, owner, shop):
    from playwright.sync_api import expect

    viewport = {"width": 390, "height": 844}
    context, page = _page(browser, live_server, owner, viewport=viewport)
    try:
        page.goto(live_server.url + "/customers/")
        sidebar = page.locator("nav.sidebar")
        menu = page.locator("label.nav-toggle-button")
        expect(menu).to_be_visible()
        expect(sidebar).to_be_hidden()
        menu.click()
        expect(sidebar).to_be_visible()
        expect(sidebar.get_by_role("link", name="Customers")).to_be_visible()
        # The table scrolls sideways inside its box instead of widening the page.
        page_width = page.evaluate("document.documentElement.scrollWidth")
        assert page_width <= viewport["width"]
    finally:
        context.close()


def test_analyst_sees_masked_phone_numbers(browser, live_server, analyst, shop):
    from playwright.sync_api import expect

    context, page = _page(browser, live_server, analyst)
    try:
        page.goto(live_server.url + "/customers/")
        results = page.locator("#customer-results")
        expect(results).to_contain_text("138****5678")
        assert PHONE not in results.inner_text()
        page.fill("#customer-q", PHONE)  # the whole number finds the customer
        expect(page.locator("#customer-results tbody tr")).to_have_count(1)
        expect(results).to_contain_text("张伟")
        assert PHONE not in results.inner_text()
        page.get_by_role("link", name="张伟").click()
        expect(page.locator("main")).to_contain_text("138****5678")
        assert PHONE not in page.content()
    finally:
        context.close()
