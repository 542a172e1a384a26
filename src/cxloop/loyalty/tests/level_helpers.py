"""Builders and the setup of the levels, stars and referrals tests.

``level_setup`` (import it into a test module: it is autouse) connects the receivers, makes
the default levels/settings/stars ladder as ``post_migrate`` does, and gives the role groups
the permissions these pages and endpoints need (the lead adds them to ``core/roles.py``).
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from cxloop.core import roles
from cxloop.customers.models import Customer, Order
from cxloop.customers.services import upsert_order
from cxloop.loyalty.level_defaults import ensure_level_defaults
from cxloop.loyalty.level_receivers import connect_level_hooks

_numbers = itertools.count(1)
ROLE_PERMS = {
    roles.CX_MANAGER: [
        "view_level", "change_level", "view_customerlevel", "view_referral", "add_referral",
    ],
    roles.AGENT: ["view_level", "view_customerlevel", "view_referral", "add_referral"],
    roles.ANALYST: ["view_level", "view_customerlevel", "view_referral"],
}  # fmt: skip


def grant_role_perms() -> None:
    for role, codenames in ROLE_PERMS.items():
        group = Group.objects.get(name=role)
        perms = Permission.objects.filter(content_type__app_label="loyalty", codename__in=codenames)
        group.permissions.add(*perms)


@pytest.fixture(autouse=True)
def level_setup(db):
    connect_level_hooks()
    ensure_level_defaults()
    grant_role_perms()


def customer(external_id: str | None = None, **fields) -> Customer:
    return Customer.objects.create(
        external_id=external_id or f"lvl-c{next(_numbers)}", name=fields.pop("name", "李娜"),
        **fields,
    )  # fmt: skip


def order(customer: Customer, *, amount_fen: int = 10_000, status: str = "completed", **fields):
    """An order written directly: no upsert, no signal, no points."""
    return Order.objects.create(
        external_id=fields.pop("external_id", f"lvl-o{next(_numbers)}"), customer=customer,
        amount_fen=amount_fen, placed_at=fields.pop("placed_at", timezone.now()),
        status=status, **fields,
    )  # fmt: skip


def complete_order(customer: Customer, *, amount_fen: int = 10_000, external_id=None, **fields):
    """An order completed through the order upsert, as the API and imports do: the signal
    fires and the receivers run (points, level, stars, referral)."""
    external_id = external_id or f"lvl-o{next(_numbers)}"
    data = {
        "external_id": external_id, "customer_external_id": customer.external_id,
        "amount_fen": amount_fen, "status": "completed",
        "placed_at": fields.pop("placed_at", timezone.now()).isoformat(), **fields,
    }  # fmt: skip
    found, _status = upsert_order(data=data, actor=None)
    return found


def days_ago(days: float, now: dt.datetime | None = None) -> dt.datetime:
    return (now or timezone.now()) - dt.timedelta(days=days)
