"""The loyalty demo on a small demo company: members, points, the referral chain, stars."""

from __future__ import annotations

import random

import pytest
from django.utils import timezone

from cxloop.customers.demo import DemoSize, generate
from cxloop.customers.services import bulk_upsert_customers, bulk_upsert_orders
from cxloop.loyalty.demo import load_loyalty_demo
from cxloop.loyalty.level_models import CustomerLevel, LongTermReward, StarAward
from cxloop.loyalty.models import PointsEntry
from cxloop.loyalty.referral_models import Referral
from cxloop.loyalty.tests.level_helpers import level_setup  # noqa: F401  (autouse)

pytestmark = pytest.mark.django_db


def test_the_loyalty_demo_and_running_it_twice():
    customers, orders = generate(seed=7, as_of=timezone.localdate(), size=DemoSize(300, 2500))
    bulk_upsert_customers(rows=customers, actor=None)
    bulk_upsert_orders(rows=orders, actor=None)
    message = load_loyalty_demo(rng=random.Random(7))
    assert message.startswith("Loaded loyalty demo:")
    members = CustomerLevel.objects.filter(until__isnull=True, level__isnull=False)
    assert (
        members.filter(level__code="gold").exists()
        and members.filter(level__code="silver").exists()
    )
    assert LongTermReward.objects.exists()
    assert PointsEntry.objects.filter(kind="earn", source="order").exists()
    assert PointsEntry.objects.filter(kind="redeem").exists()
    chain = Referral.objects.filter(invitee__external_id__in=["C-REF-B", "C-REF-C"]).order_by("id")
    assert [r.status for r in chain] == ["qualified", "qualified"]
    b, c = chain
    assert c.inviter == b.invitee  # three generations: A → B → C
    assert PointsEntry.objects.filter(idempotency_key=f"referral:{c.pk}:inviter").exists()
    assert Referral.objects.filter(reject_reason="self_referral").count() == 1
    assert StarAward.objects.filter(month=timezone.localdate().replace(day=1)).exists()
    counts = (Referral.objects.count(), PointsEntry.objects.count(), StarAward.objects.count())
    load_loyalty_demo(rng=random.Random(7))
    assert (
        Referral.objects.count(),
        PointsEntry.objects.count(),
        StarAward.objects.count(),
    ) == counts
