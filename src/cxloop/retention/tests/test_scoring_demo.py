"""The demo company scored: every tier, VIPs, the stages and a tier history appear."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cxloop.customers.demo import generate
from cxloop.customers.services import bulk_upsert_customers, bulk_upsert_orders
from cxloop.retention.demo import load_retention_demo
from cxloop.retention.models import CustomerScore, ScoringRun, TierChange

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 11, 22)


def test_demo_scores_show_every_tier_and_a_history():
    customers, orders = generate(as_of=AS_OF)
    bulk_upsert_customers(rows=customers, actor=None)
    bulk_upsert_orders(rows=orders, actor=None)
    now = timezone.make_aware(dt.datetime.combine(AS_OF, dt.time(23, 0)))
    message = load_retention_demo(now=now)
    print(message)
    assert message.startswith("Scored 2,000 customers (High value ")
    counts = {
        tier: CustomerScore.objects.filter(tier=tier).count()
        for tier in ("high_value", "potential", "basic", "churn_warning")
    }
    assert all(counts.values()), counts
    assert counts["high_value"] == 200 and counts["churn_warning"] > 0
    stages = set(CustomerScore.objects.values_list("stage", flat=True))
    assert {"active", "inactive"} <= stages
    assert CustomerScore.objects.filter(is_vip=True).count() >= 150
    assert CustomerScore.objects.exclude(clv_fen=None).count() > 1_500
    assert CustomerScore.objects.exclude(derived_tags=[]).count() > 100
    assert ScoringRun.objects.filter(kind="demo").count() == 3
    moved = TierChange.objects.exclude(from_tier="")
    assert moved.filter(changed_at=now).count() > 10  # this month's movement report
    again = load_retention_demo(now=now)  # later calls only score as of now: no change
    assert ScoringRun.objects.filter(kind="demo").count() == 4 and "; 0 tier changes." in again
