"""The demo company: deterministic, shaped like the plans, loaded once through the services."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from cxloop.customers.demo import DemoSize, generate, load_demo_data, stores
from cxloop.customers.models import Customer, Order

AS_OF = dt.date(2026, 11, 22)


def _age(birthday: dt.date) -> int:
    return AS_OF.year - birthday.year - ((AS_OF.month, AS_OF.day) < (birthday.month, birthday.day))


def test_same_seed_same_data():
    assert generate(seed=7, as_of=AS_OF) == generate(seed=7, as_of=AS_OF)
    assert generate(seed=7, as_of=AS_OF) != generate(seed=8, as_of=AS_OF)


def test_shape_matches_the_plans():
    customers, orders = generate(as_of=AS_OF)
    assert len(customers) == 2_000 and len(orders) == 20_000
    assert len(stores()) == 20 and len({c["region"] for c in customers}) == 3
    ages = Counter(
        "25-45"
        if 25 <= _age(c["birthday"]) <= 45
        else "18-24"
        if _age(c["birthday"]) < 25
        else "46+"
        for c in customers
    )
    assert 0.55 <= ages["25-45"] / 2_000 <= 0.65
    assert 0.25 <= ages["18-24"] / 2_000 <= 0.35
    spend = Counter()
    for order in orders:
        assert AS_OF - dt.timedelta(days=366) <= order["placed_at"].date() <= AS_OF
        if order["status"] not in {"cancelled", "refunded"}:
            spend[order["customer_external_id"]] += order["amount_fen"]
    vips = [key for key, fen in spend.items() if fen >= 500_000]
    assert len(vips) == 200  # exactly 10 %
    buyers = Counter(o["customer_external_id"] for o in orders)
    repeat_rate = sum(1 for count in buyers.values() if count >= 2) / len(buyers)
    assert 0.5 <= repeat_rate <= 0.8  # not everyone comes back


@pytest.mark.django_db
def test_load_once_through_the_services():
    small = DemoSize(customers=50, orders=300)  # keeps the database test quick
    first = load_demo_data(as_of=AS_OF, size=small)
    second = load_demo_data(as_of=AS_OF, size=small)
    assert "50" in first and "already" in second
    demo_customers = Customer.objects.exclude(external_id__startswith="C-REF-")  # + invitees
    assert demo_customers.count() == 50
    assert Order.objects.exclude(external_id__startswith="O-REF-").count() == 300
    from cxloop.surveys.models import Response, Survey

    assert "demo surveys" in first and Survey.objects.count() == 3
    assert Response.objects.filter(submitted_at__isnull=False).exists()
    # The retain part: points, levels and referrals, segments for everyone, the churn model
    # (50 customers are too few to train: it says so instead of flagging anyone).
    assert "loyalty demo" in first and "Scored" in first and "Churn model" in first
    from cxloop.retention.models import CustomerScore

    assert CustomerScore.objects.count() == Customer.objects.count()
    assert not CustomerScore.objects.filter(churn_risk__isnull=False).exists()
