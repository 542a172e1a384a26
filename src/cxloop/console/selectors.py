"""Headline figures and chart series for the console home, each one SQL aggregate.

Orders that were cancelled or refunded do not count as orders or revenue here. The grouped
queries read a year of orders, which takes seconds at millions of orders, so ``home_data``
keeps the result in the cache for a few minutes; new customers or orders refresh it at once.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from cxloop.customers.models import Customer, Order
from cxloop.customers.selectors import VIP_WINDOW, spent_orders, vip_threshold_fen

RECENT = dt.timedelta(days=30)
HOME_CACHE_SECONDS = 300


@dataclass(frozen=True)
class HomeFigures:
    customers_total: int
    customers_new: int  # registered in the last 30 days
    orders_recent: int  # orders placed in the last 30 days
    revenue_recent_fen: int
    average_order_fen: int | None
    buyers_year: int  # customers with an order in the last 365 days
    vip_count: int  # customers whose spend in the last 365 days reaches the VIP threshold
    repeat_rate: float | None  # share of this year's buyers with two or more orders


@dataclass(frozen=True)
class MonthPoint:
    month: dt.date
    orders: int
    revenue_fen: int


@dataclass(frozen=True)
class RegionPoint:
    region: str
    orders: int
    revenue_fen: int


def home_figures(*, now: dt.datetime | None = None) -> HomeFigures:
    now = now or timezone.now()
    since = now - RECENT
    customers = Customer.objects.aggregate(
        total=Count("id"),
        new=Count(
            "id",
            filter=Q(registered_at__gte=timezone.localdate(since))
            | Q(registered_at__isnull=True, created_at__gte=since),
        ),
    )
    recent = (
        spent_orders().filter(placed_at__gte=since).aggregate(n=Count("id"), s=Sum("amount_fen"))
    )
    year = _buyers_in_year(now)
    revenue = recent["s"] or 0
    return HomeFigures(
        customers_total=customers["total"],
        customers_new=customers["new"],
        orders_recent=recent["n"],
        revenue_recent_fen=revenue,
        average_order_fen=round(revenue / recent["n"]) if recent["n"] else None,
        buyers_year=year["buyers"],
        vip_count=year["vips"],
        repeat_rate=year["repeaters"] / year["buyers"] if year["buyers"] else None,
    )


def _buyers_in_year(now: dt.datetime) -> dict[str, int]:
    """Buyers, repeat buyers and VIPs of the last 365 days in one query.

    Groups orders per customer in a subquery, then counts over the groups.
    """
    per_customer = (
        spent_orders()
        .filter(placed_at__gte=now - VIP_WINDOW)
        .order_by()
        .values("customer_id")
        .annotate(order_count=Count("id"), spend=Sum("amount_fen"))
    )
    return per_customer.aggregate(
        buyers=Count("customer_id"),
        repeaters=Count("customer_id", filter=Q(order_count__gte=2)),
        vips=Count("customer_id", filter=Q(spend__gte=vip_threshold_fen())),
    )


def _local_month_start(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment, _zone()).date().replace(day=1)


def _zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _shift_months(month: dt.date, delta: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + delta
    return dt.date(index // 12, index % 12 + 1, 1)


def monthly_orders(*, now: dt.datetime | None = None, months: int = 12) -> list[MonthPoint]:
    """Orders and revenue per calendar month (Asia/Shanghai), oldest first, gaps as zero.

    One pass over the window with a filtered COUNT/SUM per month: the month boundaries are
    computed here in local time, so the database needs no per-row time-zone conversion
    (which SQLite would do in Python, row by row).
    """
    now = now or timezone.now()
    first = _shift_months(_local_month_start(now), -(months - 1))
    starts = [_shift_months(first, offset) for offset in range(months + 1)]
    bounds = [dt.datetime.combine(month, dt.time.min, tzinfo=_zone()) for month in starts]
    aggregates = {}
    for index in range(months):
        in_month = Q(placed_at__gte=bounds[index], placed_at__lt=bounds[index + 1])
        aggregates[f"orders_{index}"] = Count("id", filter=in_month)
        aggregates[f"revenue_{index}"] = Sum("amount_fen", filter=in_month)
    totals = spent_orders().filter(placed_at__gte=bounds[0], placed_at__lt=bounds[-1])
    row = totals.aggregate(**aggregates)
    return [
        MonthPoint(
            month=starts[index],
            orders=row[f"orders_{index}"],
            revenue_fen=row[f"revenue_{index}"] or 0,
        )
        for index in range(months)
    ]


def orders_by_region(*, now: dt.datetime | None = None, limit: int = 15) -> list[RegionPoint]:
    """Orders and revenue of the last 365 days per customer region, biggest first."""
    now = now or timezone.now()
    rows = (
        spent_orders()
        .filter(placed_at__gte=now - VIP_WINDOW)
        .order_by()
        .values("customer__region")
        .annotate(orders=Count("id"), revenue=Sum("amount_fen"))
        .order_by("-orders")[:limit]
    )
    return [
        RegionPoint(
            region=row["customer__region"], orders=row["orders"], revenue_fen=row["revenue"]
        )
        for row in rows
    ]


@dataclass(frozen=True)
class HomeData:
    figures: HomeFigures
    months: list[MonthPoint]
    regions: list[RegionPoint]
    computed_at: dt.datetime


def home_data() -> HomeData:
    """Figures and chart series for the home page, cached per data version."""
    key = f"cxloop:console:home:{_data_version()}"
    data = cache.get(key)
    if data is None:
        now = timezone.now()
        data = HomeData(
            figures=home_figures(now=now),
            months=monthly_orders(now=now),
            regions=orders_by_region(now=now),
            computed_at=now,
        )
        cache.set(key, data, HOME_CACHE_SECONDS)
    return data


def _data_version() -> str:
    """Changes when customers or orders are added or the VIP threshold changes (cheap: PKs)."""
    newest_customer = Customer.objects.aggregate(newest=Max("id"))["newest"]
    newest_order = Order.objects.aggregate(newest=Max("id"))["newest"]
    return f"{newest_customer}:{newest_order}:{vip_threshold_fen()}"
