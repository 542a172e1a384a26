"""Fixtures and builders shared by the churn and play tests (no tests here).

``retention_perms`` grants the churn and play permissions to the role groups the way the lead is
asked to in core/roles.py: CX manager everything; agent views and runs plays (the win-back
calls are agent work); analyst views only; outsider nothing.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from cxloop.cases.models import Case
from cxloop.core import roles
from cxloop.customers.models import Customer, Order
from cxloop.retention.models import CustomerScore

NOW = timezone.make_aware(dt.datetime(2026, 6, 30, 12, 0))
ROLE_GRANTS = {
    roles.CX_MANAGER: [
        "view_churnmodelrecord", "train_churn_model", "view_retentionplay", "add_retentionplay",
        "change_retentionplay", "delete_retentionplay", "run_plays", "view_playassignment",
    ],
    roles.AGENT: ["view_churnmodelrecord", "view_retentionplay", "run_plays",
                  "view_playassignment"],
    roles.ANALYST: ["view_churnmodelrecord", "view_retentionplay", "view_playassignment"],
}  # fmt: skip


@pytest.fixture
def retention_perms(db):
    for role, codenames in ROLE_GRANTS.items():
        group = Group.objects.get(name=role)
        found = Permission.objects.filter(
            content_type__app_label="retention", codename__in=codenames
        )
        assert found.count() == len(codenames), codenames
        group.permissions.add(*found)


def make_customers(n: int, *, prefix: str = "T", consent: bool = True, tier: str = "basic"):
    customers = Customer.objects.bulk_create(
        Customer(external_id=f"{prefix}{i:05d}", name=f"客户{i}", phone=f"138{i:08d}",
                 email=f"c{prefix}{i}@example.com", consent_marketing=consent,
                 registered_at=(NOW - dt.timedelta(days=500)).date(), region="华东",
                 store="上海徐汇店")
        for i in range(n)
    )  # fmt: skip
    CustomerScore.objects.bulk_create(
        CustomerScore(customer=c, tier=tier, stage="active") for c in customers
    )
    return customers


def _order(customer, day_offset: int, n: int) -> Order:
    return Order(
        external_id=f"O{customer.pk}-{n}",
        customer=customer,
        amount_fen=10_000 + n,
        placed_at=NOW - dt.timedelta(days=day_offset, hours=1),
        status="completed",
    )


def _case(customer, day_offset: int, n: int) -> Case:
    return Case(
        number=f"X{customer.pk}-{n}",
        channel="hotline",
        subject="投诉",
        customer=customer,
        created_at=NOW - dt.timedelta(days=day_offset),
        status="new",
    )


def signal_history(n_stay: int = 260, n_churn: int = 260, seed: int = 7) -> dict[str, list]:
    """Stayers order every 10-30 days until now. Churners do the same until a stop day spread
    over the last 450 days; their gaps double over the last two months before it and they
    complain, unresolved, three weeks before stopping. Returns the two customer lists."""
    rng = random.Random(seed)
    stay = make_customers(n_stay, prefix="S")
    gone = make_customers(n_churn, prefix="G")
    orders, cases = [], []
    for customer in stay + gone:
        churner = customer in gone
        stop = rng.randrange(0, 450) if churner else -1
        gap, day, n = rng.randrange(10, 30), 540 - rng.randrange(30), 0
        while day > max(stop, 0):
            orders.append(_order(customer, day, n))
            n += 1
            day -= gap * (2 if churner and day - stop < 60 else 1)
        if churner:
            cases.append(_case(customer, stop + 21, n))
    Order.objects.bulk_create(orders, batch_size=2000)
    Case.objects.bulk_create(cases, batch_size=2000)
    return {"stay": stay, "gone": gone}
