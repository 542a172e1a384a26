"""Read-side queries for the customer list and the customer profile.

Everything here is a SQL filter or aggregate; nothing loops over customers or orders in Python.
Spend counts orders that were not cancelled or refunded.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cxloop.core.pii import can_see_pii
from cxloop.core.settings_registry import VIP_ANNUAL_SPEND_FEN, get_setting
from cxloop.customers.models import Customer, Order
from cxloop.customers.validation import Invalid, parse_phone

VIP_WINDOW = dt.timedelta(days=365)
CHOICES_CACHE_SECONDS = 300
NOT_SPENT = (Order.Status.CANCELLED, Order.Status.REFUNDED)

SORTS = {
    "newest": ("-id",),
    "oldest": ("id",),
    "name": ("name", "id"),
    "registered": ("-registered_at", "-id"),
    "external_id": ("external_id",),
}
SORT_LABELS = {
    "newest": _("Newest first"),
    "oldest": _("Oldest first"),
    "name": _("Name"),
    "registered": _("Latest registration"),
    "external_id": _("Customer number"),
}
CONSENT_LABELS = {
    "survey": _("Surveys: yes"),
    "no_survey": _("Surveys: no"),
    "marketing": _("Marketing: yes"),
    "no_marketing": _("Marketing: no"),
}
_CONSENT_FILTERS = {
    "survey": Q(consent_survey=True),
    "no_survey": Q(consent_survey=False),
    "marketing": Q(consent_marketing=True),
    "no_marketing": Q(consent_marketing=False),
}
_PHONE_NOISE = re.compile(r"[\s\-()（）.]")


def spent_orders() -> QuerySet[Order]:
    return Order.objects.exclude(status__in=NOT_SPENT)


def vip_threshold_fen() -> int:
    return get_setting(VIP_ANNUAL_SPEND_FEN)


def vip_customer_ids(*, now: dt.datetime | None = None, threshold_fen: int | None = None):
    """Subquery of customer ids whose spend in the last 365 days reaches the VIP threshold."""
    now = now or timezone.now()
    threshold = vip_threshold_fen() if threshold_fen is None else threshold_fen
    return (
        spent_orders()
        .filter(placed_at__gte=now - VIP_WINDOW)
        .order_by()
        .values("customer_id")
        .annotate(spend=Sum("amount_fen"))
        .filter(spend__gte=threshold)
        .values("customer_id")
    )


@dataclass(frozen=True)
class CustomerFilters:
    q: str = ""
    region: str = ""
    store: str = ""
    consent: str = ""
    tag: str = ""
    vip: bool = False
    sort: str = "newest"


def search_customers(*, filters: CustomerFilters, user) -> QuerySet[Customer]:
    """Customers matching ``filters``, sorted; phone search never leaks digits to masked users."""
    customers = Customer.objects.all()
    if filters.q:
        customers = customers.filter(_text_query(filters.q.strip(), show_pii=can_see_pii(user)))
    if filters.region:
        customers = customers.filter(region=filters.region)
    if filters.store:
        customers = customers.filter(store=filters.store)
    if filters.consent in _CONSENT_FILTERS:
        customers = customers.filter(_CONSENT_FILTERS[filters.consent])
    if filters.tag:
        customers = customers.filter(_tag_query(filters.tag.strip()))
    if filters.vip:
        customers = customers.filter(id__in=vip_customer_ids())
    return customers.order_by(*SORTS.get(filters.sort, SORTS["newest"]))


def _text_query(text: str, *, show_pii: bool) -> Q:
    query = Q(name__icontains=text) | Q(external_id__istartswith=text)
    with contextlib.suppress(Invalid):
        query |= Q(phone=parse_phone(text))  # a whole number, in any usual spelling
    digits = _PHONE_NOISE.sub("", text)
    if show_pii and digits.isdigit() and len(digits) >= 3:
        # Only people who see numbers may match part of one (e.g. the last four digits):
        # for masked users partial matches would reveal hidden digits one probe at a time.
        query |= Q(phone__contains=digits)
    return query


def _tag_query(tag: str) -> Q:
    if connection.features.supports_json_field_contains:
        return Q(tags__contains=[tag])
    # SQLite stores the list as JSON text with \\u escapes; match the quoted element.
    return Q(tags__icontains=json.dumps(tag))


def filter_choices() -> dict[str, list[str]]:
    """Regions and stores for the filter dropdowns.

    DISTINCT over a million customers costs a few hundred ms, so the lists are cached for a
    few minutes; a new customer (a new highest id) refreshes them at once.
    """
    newest = Customer.objects.aggregate(newest=Max("id"))["newest"]
    key = f"cxloop:customers:filter-choices:{newest}"
    choices = cache.get(key)
    if choices is None:
        regions = Customer.objects.exclude(region="").order_by("region").values_list("region")
        stores = Customer.objects.exclude(store="").order_by("store").values_list("store")
        choices = {
            "regions": [row[0] for row in regions.distinct()[:200]],
            "stores": [row[0] for row in stores.distinct()[:500]],
        }
        cache.set(key, choices, CHOICES_CACHE_SECONDS)
    return choices


def annual_spend_by_customer(customer_ids: list[int]) -> dict[int, int]:
    """Spend in the last 365 days for one page of customers (one grouped query)."""
    if not customer_ids:
        return {}
    rows = (
        spent_orders()
        .filter(customer_id__in=customer_ids, placed_at__gte=timezone.now() - VIP_WINDOW)
        .order_by()
        .values("customer_id")
        .annotate(spend=Sum("amount_fen"))
    )
    return {row["customer_id"]: row["spend"] for row in rows}


@dataclass(frozen=True)
class CustomerSummary:
    lifetime_spend_fen: int
    order_count: int
    last_order_at: dt.datetime | None
    annual_spend_fen: int
    is_vip: bool


def customer_summary(customer: Customer, *, now: dt.datetime | None = None) -> CustomerSummary:
    now = now or timezone.now()
    totals = (
        spent_orders()
        .filter(customer=customer)
        .aggregate(
            lifetime=Sum("amount_fen"),
            orders=Count("id"),
            last=Max("placed_at"),
            annual=Sum("amount_fen", filter=Q(placed_at__gte=now - VIP_WINDOW)),
        )
    )
    annual = totals["annual"] or 0
    return CustomerSummary(
        lifetime_spend_fen=totals["lifetime"] or 0,
        order_count=totals["orders"],
        last_order_at=totals["last"],
        annual_spend_fen=annual,
        is_vip=annual >= vip_threshold_fen(),
    )


def customer_orders(customer: Customer) -> QuerySet[Order]:
    """All orders of one customer, newest first (uses the customer+placed_at index)."""
    return Order.objects.filter(customer=customer).order_by("-placed_at", "-id")


AGE_BANDS = (
    (18, _("under 18")),
    (25, _("18–24")),
    (35, _("25–34")),
    (45, _("35–44")),
    (55, _("45–54")),
    (65, _("55–64")),
)


def age_band(birthday: dt.date | None, *, today: dt.date | None = None) -> str:
    """A coarse age band, so the profile shows life stage without the birth date."""
    if birthday is None:
        return ""
    today = today or timezone.localdate()
    age = today.year - birthday.year - ((today.month, today.day) < (birthday.month, birthday.day))
    for upper, label in AGE_BANDS:
        if age < upper:
            return str(label)
    return str(_("65 and over"))
