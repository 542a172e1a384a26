"""Console shell: login, home figures and charts, loop sections, plotly.js, navigation."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from cxloop.customers.models import Customer, Order

pytestmark = pytest.mark.django_db


def _customer(external_id: str, **fields) -> Customer:
    return Customer.objects.create(external_id=external_id, **fields)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Home figures and filter lists are cached; every test starts from an empty cache."""
    cache.clear()


def _order(customer: Customer, external_id: str, fen: int, days_ago: float, **fields) -> Order:
    placed = timezone.now() - dt.timedelta(days=days_ago)
    return Order.objects.create(
        customer=customer, external_id=external_id, amount_fen=fen, placed_at=placed, **fields
    )


def _in_figure_json(text: str) -> str:
    """How ``text`` appears inside the figure's JSON (non-ASCII is \\u-escaped)."""
    return json.dumps(text)[1:-1]


# --- permissions -------------------------------------------------------------------------


def test_home_sends_anonymous_visitors_to_login(client):
    response = client.get(reverse("console:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login"))


@pytest.mark.parametrize("who", ["owner_client", "teammate_client", "analyst_client"])
def test_home_opens_for_every_role(request, who):
    response = request.getfixturevalue(who).get(reverse("console:home"))
    assert response.status_code == 200
    assert b'data-figure="customers-total"' in response.content


def test_home_refuses_user_without_role(outsider_client):
    response = outsider_client.get(reverse("console:home"))
    assert response.status_code == 403
    assert b"data-figure" not in response.content


@pytest.mark.parametrize("slug", ["listen", "understand", "act", "retain"])
def test_built_sections_link_their_pages(owner_client, slug):
    response = owner_client.get(reverse("console:section", args=[slug]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert b"What is here" in response.content and b"What will come here" not in response.content
    assert b"Available now" in response.content
    assert b'aria-current="page"' in response.content


def test_prove_section_says_what_comes(owner_client):
    response = owner_client.get(reverse("console:section", args=["prove"]))
    assert b"What will come here" in response.content and b"release" in response.content


def test_section_links_follow_the_role(teammate_client, analyst_client):
    listen = reverse("console:section", args=["listen"])
    assert b"Triggers" in teammate_client.get(listen).content
    page = analyst_client.get(listen).content.decode()
    available = page[page.index("Available now") :].split("</p>", 1)[0]
    assert reverse("surveys:list") in available and reverse("cases:new") not in available


def test_unknown_section_is_404(owner_client):
    assert owner_client.get("/loop/nowhere/").status_code == 404


def test_sections_refuse_outsider(outsider_client):
    assert outsider_client.get(reverse("console:section", args=["act"])).status_code == 403


# --- login -----------------------------------------------------------------------------


def test_login_page_and_sign_in(client, owner):
    page = client.get(reverse("console:login"))
    assert page.status_code == 200
    assert b'name="username"' in page.content
    response = client.post(
        reverse("console:login"), {"username": "owner", "password": "pw-owner", "next": "/"}
    )
    assert response.status_code == 302
    assert client.get(reverse("console:home")).status_code == 200


def test_login_with_wrong_password_shows_error(client, owner):
    response = client.post(
        reverse("console:login"),
        {"username": "owner", "password": "wrong"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert b'class="errorlist nonfield"' in response.content


def test_sign_out(owner_client):
    response = owner_client.post(reverse("console:logout"))
    assert response.status_code == 302
    assert owner_client.get(reverse("console:home")).status_code == 302


# --- home figures and charts ---------------------------------------------------------------


def test_home_shows_figures_from_orders(owner_client):
    vip = _customer("C1", region="华东", registered_at=timezone.localdate())
    other = _customer("C2", region="华南", registered_at=dt.date(2020, 1, 1))
    _order(vip, "O1", 300_000, days_ago=2)
    _order(vip, "O2", 250_000, days_ago=40)
    _order(other, "O3", 10_000, days_ago=5)
    _order(other, "O4", 99_999, days_ago=3, status=Order.Status.CANCELLED)
    response = owner_client.get(reverse("console:home"), HTTP_ACCEPT_LANGUAGE="en")
    figures = response.context["figures"]
    assert figures.customers_total == 2
    assert figures.customers_new == 1
    assert figures.orders_recent == 2  # the cancelled order does not count
    assert figures.revenue_recent_fen == 310_000
    assert figures.vip_count == 1
    html = response.content.decode()
    assert "¥3,100.00" in html  # revenue of the last 30 days
    assert "¥1,550.00" in html  # average order value
    assert "50.0 %" in html  # one of two buyers ordered twice


def test_home_renders_charts_without_inlining_plotly(owner_client):
    customer = _customer("C1", region="华北")
    _order(customer, "O1", 12_345, days_ago=1)
    response = owner_client.get(reverse("console:home"), HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert 'id="chart-monthly-orders"' in html
    assert 'id="chart-orders-by-region"' in html
    assert "Plotly.newPlot" in html
    assert reverse("console:plotly_js") in html
    assert len(html) < 200_000  # plotly.js itself (4 MB) is not in the page
    assert _in_figure_json("华北") in html
    assert _in_figure_json("Revenue (¥)") in html


def test_home_works_without_any_data(analyst_client):
    response = analyst_client.get(reverse("console:home"))
    assert response.status_code == 200
    assert response.context["figures"].average_order_fen is None
    assert response.context["figures"].repeat_rate is None


def test_plotly_js_is_served_compressed_and_cached(client):
    response = client.get(reverse("console:plotly_js"), HTTP_ACCEPT_ENCODING="gzip, br")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"]
    assert "max-age=31536000" in response["Cache-Control"]
    body = gzip.decompress(response.content)
    assert b"plotly" in body[:2000].lower()
    again = client.get(reverse("console:plotly_js"), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_plotly_js_plain_for_clients_without_gzip(client):
    response = client.get(reverse("console:plotly_js"))
    assert "Content-Encoding" not in response
    assert len(response.content) > 1_000_000


# --- navigation ----------------------------------------------------------------------------


def test_navigation_shows_admin_links_only_to_managers(owner_client, teammate_client):
    owner_html = owner_client.get(reverse("console:home")).content.decode()
    agent_html = teammate_client.get(reverse("console:home")).content.decode()
    for url in (reverse("core:settings"), reverse("core:users"), reverse("core:audit")):
        assert url in owner_html
        assert url not in agent_html
    assert reverse("customers:list") in agent_html
    assert reverse("customers:imports") not in agent_html


def test_navigation_marks_current_page(owner_client):
    html = owner_client.get(reverse("customers:list")).content.decode()
    assert f'href="{reverse("customers:list")}" aria-current="page"' in html


def test_organisation_name_from_settings_in_sidebar(owner_client):
    from cxloop.core.services import set_setting

    set_setting(key="organisation_name", value="新零售集团", actor=None)
    assert "新零售集团" in owner_client.get(reverse("console:home")).content.decode()


def test_language_switch_to_english(owner_client):
    owner_client.post(reverse("set_language"), {"language": "en", "next": "/"})
    response = owner_client.get(reverse("console:home"))
    assert response.wsgi_request.LANGUAGE_CODE == "en"
    assert '<html lang="en">' in response.content.decode()
    assert 'value="en" lang="en" selected' in response.content.decode()


def test_console_speaks_chinese_by_default(settings, owner_client):
    settings.LANGUAGE_CODE = "zh-hans"
    html = owner_client.get(reverse("console:home")).content.decode()
    assert '<html lang="zh-hans">' in html
    for label in ["首页", "倾听", "洞察", "行动", "留存", "成效", "退出登录"]:
        assert label in html
