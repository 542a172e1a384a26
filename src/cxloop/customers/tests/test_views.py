"""Customer list and profile: permissions, search, filters, masking, live search, editing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from cxloop.core.models import AuditLog
from cxloop.customers.models import Customer, Order

pytestmark = pytest.mark.django_db
PHONE = "13812345678"
EMAIL = "zhang.wei@example.com"
LIST = reverse("customers:list")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Home figures and filter lists are cached; every test starts from an empty cache."""
    cache.clear()


@pytest.fixture
def zhang():
    return Customer.objects.create(
        external_id="C000001",
        name="张伟",
        phone=PHONE,
        email=EMAIL,
        birthday=dt.date(1990, 5, 1),
        registered_at=dt.date(2024, 3, 1),
        region="华东",
        store="上海徐汇店",
        consent_survey=True,
        tags=["关注高端款", "会员日活跃"],
    )


@pytest.fixture
def li():
    return Customer.objects.create(
        external_id="C000002",
        name="李娜",
        phone="13900001111",
        region="华南",
        store="广州天河店",
        consent_marketing=True,
        tags=["偏好性价比"],
    )


def _order(customer, external_id, fen, days_ago=1, **fields):
    return Order.objects.create(
        customer=customer,
        external_id=external_id,
        amount_fen=fen,
        placed_at=timezone.now() - dt.timedelta(days=days_ago),
        **fields,
    )


def _names(response) -> set[str]:
    return {row.customer.name for row in response.context["rows"]}


def detail_url(customer) -> str:
    return reverse("customers:detail", args=[customer.pk])


# --- permissions -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner_client", "teammate_client", "analyst_client"])
def test_list_and_profile_open_for_roles_that_view_customers(request, who, zhang):
    client = request.getfixturevalue(who)
    assert client.get(LIST).status_code == 200
    assert client.get(detail_url(zhang)).status_code == 200


def test_outsider_is_refused(outsider_client, zhang):
    assert outsider_client.get(LIST).status_code == 403
    assert outsider_client.get(detail_url(zhang)).status_code == 403
    assert outsider_client.post(detail_url(zhang), {"region": "x"}).status_code == 403


def test_anonymous_goes_to_login(client, zhang):
    assert client.get(LIST).status_code == 302
    assert client.get(detail_url(zhang)).status_code == 302


def test_unknown_customer_is_404(owner_client):
    assert owner_client.get(reverse("customers:detail", args=[999999])).status_code == 404


def test_export_and_import_links_follow_permissions(owner_client, teammate_client, analyst_client):
    export = reverse("customers:export")
    imports = reverse("customers:imports")
    owner_html = owner_client.get(LIST).content.decode()
    assert f"{export}?kind=customers&amp;format=csv" in owner_html
    assert f"{export}?kind=customers&amp;format=xlsx" in owner_html
    assert imports in owner_html
    analyst_html = analyst_client.get(LIST).content.decode()
    assert export in analyst_html and imports not in analyst_html
    agent_html = teammate_client.get(LIST).content.decode()
    assert export not in agent_html and imports not in agent_html


# --- search and filters --------------------------------------------------------------------


def test_search_by_name_and_customer_number(owner_client, zhang, li):
    assert _names(owner_client.get(LIST, {"q": "张"})) == {"张伟"}
    assert _names(owner_client.get(LIST, {"q": "c000002"})) == {"李娜"}
    assert _names(owner_client.get(LIST, {"q": "nobody"})) == set()


def test_staff_with_pii_find_by_part_of_the_phone(teammate_client, zhang, li):
    assert _names(teammate_client.get(LIST, {"q": "5678"})) == {"张伟"}
    assert _names(teammate_client.get(LIST, {"q": "+86 138-1234-5678"})) == {"张伟"}


def test_analyst_finds_by_whole_phone_but_never_sees_it(analyst_client, zhang, li):
    response = analyst_client.get(LIST, {"q": PHONE})
    assert _names(response) == {"张伟"}
    # The typed query is echoed in the search box; the results never show the number.
    results = response.content.decode().split('<div id="customer-results"', 1)[1]
    assert PHONE not in results
    assert "138****5678" in results


def test_analyst_cannot_probe_digits_with_partial_phone(analyst_client, zhang):
    assert _names(analyst_client.get(LIST, {"q": "5678"})) == set()
    assert _names(analyst_client.get(LIST, {"q": "1381234"})) == set()


def test_list_masks_phone_for_analyst(analyst_client, zhang):
    html = analyst_client.get(LIST).content.decode()
    assert PHONE not in html
    assert "138****5678" in html


def test_filters_region_store_consent(owner_client, zhang, li):
    assert _names(owner_client.get(LIST, {"region": "华南"})) == {"李娜"}
    assert _names(owner_client.get(LIST, {"store": "上海徐汇店"})) == {"张伟"}
    assert _names(owner_client.get(LIST, {"consent": "survey"})) == {"张伟"}
    assert _names(owner_client.get(LIST, {"consent": "marketing"})) == {"李娜"}
    assert _names(owner_client.get(LIST, {"consent": "no_survey"})) == {"李娜"}
    assert _names(owner_client.get(LIST, {"consent": "bogus"})) == {"张伟", "李娜"}


def test_filter_by_chinese_tag(owner_client, zhang, li):
    assert _names(owner_client.get(LIST, {"tag": "偏好性价比"})) == {"李娜"}
    assert _names(owner_client.get(LIST, {"tag": "关注高端款"})) == {"张伟"}
    assert _names(owner_client.get(LIST, {"tag": "高端"})) == set()  # whole tags only


def test_filter_vip_by_annual_spend(owner_client, zhang, li):
    _order(zhang, "O1", 300_000, days_ago=10)
    _order(zhang, "O2", 200_000, days_ago=200)
    _order(li, "O3", 600_000, days_ago=400)  # more than a year ago
    _order(li, "O4", 600_000, days_ago=5, status=Order.Status.REFUNDED)
    response = owner_client.get(LIST, {"vip": "1"})
    assert _names(response) == {"张伟"}
    assert "VIP" in response.content.decode()


def test_sorting(owner_client, zhang, li):
    newest = [row.customer.pk for row in owner_client.get(LIST).context["rows"]]
    assert newest == [li.pk, zhang.pk]
    oldest = [row.customer.pk for row in owner_client.get(LIST, {"sort": "oldest"}).context["rows"]]
    assert oldest == [zhang.pk, li.pk]
    # An unknown sort falls back to newest first instead of failing.
    assert owner_client.get(LIST, {"sort": "drop table"}).status_code == 200


def test_paginates_fifty_per_page(owner_client):
    Customer.objects.bulk_create(Customer(external_id=f"X{n:04d}") for n in range(120))
    first = owner_client.get(LIST)
    assert len(first.context["rows"]) == 50
    assert first.context["page"].paginator.num_pages == 3
    last = owner_client.get(LIST, {"page": "3"})
    assert len(last.context["rows"]) == 20
    assert owner_client.get(LIST, {"page": "abc"}).status_code == 200
    assert owner_client.get(LIST, {"page": "999"}).context["page"].number == 3


def test_list_queries_do_not_grow_with_rows(owner_client, django_assert_max_num_queries):
    customers = Customer.objects.bulk_create(Customer(external_id=f"Y{n:04d}") for n in range(60))
    for index, customer in enumerate(customers[:20]):
        _order(customer, f"Y-O{index}", 1000)
    with django_assert_max_num_queries(12):
        owner_client.get(LIST)


def test_htmx_live_search_returns_only_the_results(owner_client, zhang, li):
    response = owner_client.get(
        LIST, {"q": "李"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="customer-results"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="customer-results"')
    assert "<html" not in html
    assert "李娜" in html and "张伟" not in html
    assert "HX-Request" in response["Vary"]


def test_list_form_works_without_javascript(owner_client, zhang):
    html = owner_client.get(LIST, {"q": "张"}).content.decode()
    assert '<form method="get" action="/customers/"' in html
    assert 'hx-trigger="input changed delay:300ms, submit"' in html
    assert 'value="张"' in html


def test_analyst_htmx_partial_is_masked(analyst_client, zhang):
    response = analyst_client.get(
        LIST, {"q": PHONE}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="customer-results"
    )
    html = response.content.decode()
    assert "张伟" in html
    assert PHONE not in html and EMAIL not in html


# --- profile ---------------------------------------------------------------------------------


def test_profile_shows_identity_spend_and_orders(owner_client, zhang):
    _order(zhang, "O-1", 128_050, days_ago=3)
    _order(zhang, "O-2", 10_000, days_ago=500)
    _order(zhang, "O-3", 99_900, days_ago=1, status=Order.Status.CANCELLED)
    response = owner_client.get(detail_url(zhang), HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert PHONE in html and EMAIL in html
    assert "¥1,380.50" in html  # lifetime spend without the cancelled order
    assert "¥1,280.50" in html  # the order itself
    assert "关注高端款" in html and "上海徐汇店" in html
    summary = response.context["summary"]
    assert (summary.order_count, summary.annual_spend_fen, summary.is_vip) == (2, 128_050, False)
    for panel in ("answers", "cases", "loyalty"):  # the other apps' panels beside the orders
        assert f'id="{panel}-panel"' in html


def test_profile_shows_order_time_in_shanghai(owner_client, zhang):
    placed = dt.datetime(2025, 3, 1, 16, 30, tzinfo=dt.UTC)  # 2025-03-02 00:30 in Shanghai
    Order.objects.create(customer=zhang, external_id="TZ", amount_fen=100, placed_at=placed)
    assert "2025-03-02 00:30" in owner_client.get(detail_url(zhang)).content.decode()


def test_profile_orders_are_paginated(owner_client, zhang):
    now = timezone.now()
    Order.objects.bulk_create(
        Order(customer=zhang, external_id=f"P{n}", amount_fen=100, placed_at=now) for n in range(25)
    )
    first = owner_client.get(detail_url(zhang))
    assert len(first.context["orders"]) == 20
    second = owner_client.get(detail_url(zhang), {"orders_page": "2"})
    assert len(second.context["orders"]) == 5


def test_profile_vip_flag(owner_client, zhang):
    _order(zhang, "BIG", 500_000, days_ago=30)
    response = owner_client.get(detail_url(zhang))
    assert response.context["summary"].is_vip
    assert '<span class="badge vip">VIP</span>' in response.content.decode()


def test_profile_age_band(owner_client, zhang):
    response = owner_client.get(detail_url(zhang))
    assert response.context["age_band"]  # 1990 → a band, not the birth date


def test_analyst_profile_contains_no_personal_data(analyst_client, zhang):
    html = analyst_client.get(detail_url(zhang)).content.decode()
    assert PHONE not in html
    assert EMAIL not in html
    assert "zhang.wei" not in html
    assert "1990-05-01" not in html
    assert "138****5678" in html
    assert "z***@example.com" in html
    assert '<form method="post" class="stack"' not in html  # no edit form either


def test_edit_form_has_no_personal_data_fields(teammate_client, zhang):
    form = teammate_client.get(detail_url(zhang)).context["form"]
    assert set(form.fields) == {"tags", "consent_survey", "consent_marketing", "region", "store"}


# --- editing ---------------------------------------------------------------------------------


def test_agent_edits_tags_consent_region_store(teammate, teammate_client, zhang):
    response = teammate_client.post(
        detail_url(zhang),
        {
            "tags": "偏好性价比，母婴用品, 偏好性价比",
            "consent_marketing": "on",
            "region": " 华北 ",
            "store": "北京朝阳店",
        },
    )
    assert response.status_code == 302
    zhang.refresh_from_db()
    assert zhang.tags == ["偏好性价比", "母婴用品"]
    assert (zhang.consent_survey, zhang.consent_marketing) == (False, True)
    assert (zhang.region, zhang.store) == ("华北", "北京朝阳店")
    entry = AuditLog.objects.get(action="customer.updated", object_id=str(zhang.pk))
    assert entry.actor == teammate
    assert entry.before["region"] == "华东" and entry.after["region"] == "华北"


def test_unchanged_edit_writes_no_audit_row(teammate_client, zhang):
    data = {
        "tags": "关注高端款, 会员日活跃",
        "consent_survey": "on",
        "region": "华东",
        "store": "上海徐汇店",
    }
    assert teammate_client.post(detail_url(zhang), data).status_code == 302
    assert not AuditLog.objects.filter(action="customer.updated").exists()


def test_bad_edit_re_renders_and_keeps_data(teammate_client, zhang):
    too_long = ",".join(f"tag{n}" for n in range(60))
    response = teammate_client.post(
        detail_url(zhang), {"tags": too_long, "region": "x" * 65}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"tags", "region"}
    zhang.refresh_from_db()
    assert zhang.region == "华东"


def test_analyst_cannot_edit(analyst_client, zhang):
    response = analyst_client.post(detail_url(zhang), {"region": "华北"})
    assert response.status_code == 403
    zhang.refresh_from_db()
    assert zhang.region == "华东"
