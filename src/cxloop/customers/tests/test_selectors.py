"""Customer selectors: age bands, VIP subquery, profile summary."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from cxloop.customers.models import Customer, Order
from cxloop.customers.selectors import (
    CustomerFilters,
    age_band,
    annual_spend_by_customer,
    customer_summary,
    search_customers,
    vip_customer_ids,
)

TODAY = dt.date(2025, 6, 15)


@pytest.mark.parametrize(
    ("birthday", "band"),
    [
        (None, ""),
        (dt.date(2010, 1, 1), "under 18"),
        (dt.date(2007, 6, 15), "18–24"),  # 18th birthday today
        (dt.date(2007, 6, 16), "under 18"),  # one day short
        (dt.date(1995, 1, 1), "25–34"),
        (dt.date(1985, 1, 1), "35–44"),
        (dt.date(1975, 1, 1), "45–54"),
        (dt.date(1965, 1, 1), "55–64"),
        (dt.date(1940, 1, 1), "65 and over"),
    ],
)
def test_age_band(birthday, band):
    with translation.override("en"):
        assert age_band(birthday, today=TODAY) == band


@pytest.mark.django_db
def test_vip_ids_and_summary_ignore_cancelled_and_old_orders():
    now = timezone.now()
    customer = Customer.objects.create(external_id="c")

    def order(ref, fen, days, status=Order.Status.COMPLETED):
        Order.objects.create(
            customer=customer,
            external_id=ref,
            amount_fen=fen,
            placed_at=now - dt.timedelta(days=days),
            status=status,
        )

    order("a", 300_000, 10)
    order("b", 300_000, 400)
    order("c", 300_000, 5, Order.Status.CANCELLED)
    assert list(vip_customer_ids(now=now)) == []
    assert list(vip_customer_ids(now=now, threshold_fen=300_000)) == [{"customer_id": customer.pk}]
    summary = customer_summary(customer, now=now)
    assert summary.lifetime_spend_fen == 600_000
    assert summary.annual_spend_fen == 300_000
    assert summary.order_count == 2
    assert not summary.is_vip
    assert annual_spend_by_customer([customer.pk]) == {customer.pk: 300_000}
    assert annual_spend_by_customer([]) == {}


@pytest.mark.django_db
def test_phone_search_spellings_for_a_masked_user(analyst):
    customer = Customer.objects.create(external_id="c", phone="13812345678")
    for query in ("13812345678", "+86 138 1234 5678", "138-1234-5678"):
        found = search_customers(filters=CustomerFilters(q=query), user=analyst)
        assert list(found) == [customer], query
