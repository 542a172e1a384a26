"""Home figures and chart series: SQL aggregates with the right windows and time zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cxloop.console.selectors import home_data, home_figures, monthly_orders, orders_by_region
from cxloop.core.services import set_setting
from cxloop.customers.models import Customer, Order

pytestmark = pytest.mark.django_db
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2025, 6, 15, 4, 0, tzinfo=dt.UTC)  # 12:00 in Shanghai


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Home figures and filter lists are cached; every test starts from an empty cache."""
    cache.clear()


def _order(customer, external_id, fen, placed_at, status=Order.Status.COMPLETED):
    return Order.objects.create(
        customer=customer,
        external_id=external_id,
        amount_fen=fen,
        placed_at=placed_at,
        status=status,
    )


def test_vip_and_repeat_rate_follow_the_365_day_window():
    big = Customer.objects.create(external_id="big")
    old = Customer.objects.create(external_id="old")
    small = Customer.objects.create(external_id="small")
    _order(big, "b1", 400_000, NOW - dt.timedelta(days=10))
    _order(big, "b2", 100_000, NOW - dt.timedelta(days=300))
    _order(old, "o1", 900_000, NOW - dt.timedelta(days=400))  # too old for VIP
    _order(small, "s1", 1_000, NOW - dt.timedelta(days=1))
    _order(small, "s2", 900_000, NOW - dt.timedelta(days=2), status=Order.Status.REFUNDED)
    figures = home_figures(now=NOW)
    assert figures.vip_count == 1
    assert figures.buyers_year == 2
    assert figures.repeat_rate == 0.5
    assert figures.orders_recent == 2
    assert figures.revenue_recent_fen == 401_000
    assert figures.average_order_fen == 200_500


def test_vip_threshold_is_a_setting():
    customer = Customer.objects.create(external_id="c")
    _order(customer, "o", 100_000, NOW - dt.timedelta(days=1))
    assert home_figures(now=NOW).vip_count == 0
    set_setting(key="vip_annual_spend_fen", value=100_000, actor=None)
    assert home_figures(now=NOW).vip_count == 1


def test_home_figures_use_a_fixed_number_of_queries():
    for index in range(30):
        customer = Customer.objects.create(external_id=f"c{index}")
        _order(customer, f"o{index}", 1000, NOW - dt.timedelta(days=index))
    with CaptureQueriesContext(connection) as queries:
        home_figures(now=NOW)
    assert len(queries) <= 4  # customers, recent orders, the grouped year, the VIP setting


def test_monthly_orders_uses_shanghai_months_and_fills_gaps():
    customer = Customer.objects.create(external_id="c")
    # 2025-05-31 23:30 in Shanghai is still May although it is 15:30 UTC.
    _order(customer, "may", 1_000, dt.datetime(2025, 5, 31, 23, 30, tzinfo=SHANGHAI))
    _order(customer, "june", 2_000, dt.datetime(2025, 6, 1, 0, 30, tzinfo=SHANGHAI))
    _order(customer, "june2", 3_000, dt.datetime(2025, 6, 2, 9, 0, tzinfo=SHANGHAI))
    _order(customer, "too-old", 9_000, dt.datetime(2024, 6, 30, 12, 0, tzinfo=SHANGHAI))
    points = monthly_orders(now=NOW, months=12)
    assert len(points) == 12
    assert points[0].month == dt.date(2024, 7, 1)
    assert points[-1].month == dt.date(2025, 6, 1)
    by_month = {point.month: point for point in points}
    assert (by_month[dt.date(2025, 5, 1)].orders, by_month[dt.date(2025, 5, 1)].revenue_fen) == (
        1,
        1_000,
    )
    assert (by_month[dt.date(2025, 6, 1)].orders, by_month[dt.date(2025, 6, 1)].revenue_fen) == (
        2,
        5_000,
    )
    assert by_month[dt.date(2025, 1, 1)].orders == 0
    assert sum(point.orders for point in points) == 3


def test_orders_by_region_biggest_first():
    east = Customer.objects.create(external_id="e", region="华东")
    south = Customer.objects.create(external_id="s", region="华南")
    nowhere = Customer.objects.create(external_id="n")
    for index in range(3):
        _order(east, f"e{index}", 1_000, NOW - dt.timedelta(days=index))
    _order(south, "s0", 5_000, NOW - dt.timedelta(days=1))
    _order(nowhere, "n0", 5_000, NOW - dt.timedelta(days=1))
    _order(south, "cancelled", 5_000, NOW, status=Order.Status.CANCELLED)
    points = orders_by_region(now=NOW)
    assert points[0].region == "华东"
    assert (points[0].orders, points[0].revenue_fen) == (3, 3_000)
    assert {(p.region, p.orders) for p in points[1:]} == {("华南", 1), ("", 1)}


def test_new_customers_count_registration_in_last_30_days():
    today = timezone.localdate(NOW)
    Customer.objects.create(external_id="new", registered_at=today - dt.timedelta(days=3))
    Customer.objects.create(external_id="old", registered_at=today - dt.timedelta(days=90))
    figures = home_figures(now=NOW)
    assert (figures.customers_total, figures.customers_new) == (2, 1)


def test_home_data_is_cached_until_new_orders_arrive(django_assert_max_num_queries):
    customer = Customer.objects.create(external_id="c")
    _order(customer, "o1", 1_000, timezone.now() - dt.timedelta(days=1))
    first = home_data()
    assert first.figures.orders_recent == 1
    with django_assert_max_num_queries(3):  # only the cheap data-version check
        assert home_data() == first
    _order(customer, "o2", 2_000, timezone.now() - dt.timedelta(days=1))
    assert home_data().figures.orders_recent == 2
