"""Builders for the points ledger tests: customers, orders, rules, rewards."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from django.utils import timezone

from cxloop.customers.models import Customer, Order
from cxloop.loyalty.models import Campaign, EarnRule, Reward

_numbers = itertools.count(1)
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def customer(external_id: str | None = None, **fields) -> Customer:
    return Customer.objects.create(
        external_id=external_id or f"pts-c{next(_numbers)}",
        name=fields.pop("name", "王芳"),
        **fields,
    )


def order(customer: Customer, *, amount_fen: int = 10_000, status: str = "placed", **fields):
    """An order written directly (no upsert, no signal)."""
    return Order.objects.create(
        external_id=fields.pop("external_id", f"pts-o{next(_numbers)}"),
        customer=customer,
        amount_fen=amount_fen,
        placed_at=fields.pop("placed_at", timezone.now()),
        status=status,
        **fields,
    )


def rule(rate: str = "1", *, level: str | None = None, category: str | None = None, **fields):
    return EarnRule.objects.create(
        name=fields.pop("name", f"rule {rate}"),
        points_per_yuan=Decimal(rate),
        level_code=level,
        category=category,
        **fields,
    )


def campaign(multiplier: str = "2", *, starts_at=None, ends_at=None, **fields) -> Campaign:
    now = timezone.now()
    return Campaign.objects.create(
        name=fields.pop("name", f"×{multiplier}"),
        multiplier=Decimal(multiplier),
        starts_at=starts_at or now - dt.timedelta(days=1),
        ends_at=ends_at or now + dt.timedelta(days=1),
        **fields,
    )


def reward(cost: int = 100, *, stock: int | None = None, **fields) -> Reward:
    return Reward.objects.create(
        name=fields.pop("name", f"reward {cost}"),
        kind=fields.pop("kind", Reward.Kind.GOODS),
        cost_points=cost,
        stock=stock,
        **fields,
    )
