"""Alert fixtures: the alert permissions granted to the shared role users (until core/roles.py
lists them), and a factory for a store's daily orders and cases."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.contrib.auth.models import Group, Permission

from cxloop.cases.models import Case
from cxloop.core import roles
from cxloop.customers.models import Customer, Order
from cxloop.surveys.rollups import day_start

PERMS = {
    roles.CX_MANAGER: ["view_alert", "acknowledge_alert", "view_alertrule", "change_alertrule"],
    roles.AGENT: ["view_alert", "acknowledge_alert"],
    roles.ANALYST: ["view_alert"],
    roles.VIEWER: ["view_alert"],
}
_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def alert_perms(db):
    for role, codenames in PERMS.items():
        group = Group.objects.get(name=role)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="alerts", codename__in=codenames)
        )


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return day_start(day) + dt.timedelta(hours=hour)


def fill_store(store: str, days: list[dt.date], orders: int, cases_per_day, *, region="华东"):
    """``orders`` orders and ``cases_per_day(i)`` cases on each day, in bulk."""
    customer = Customer.objects.create(
        external_id=f"c-{store}-{next(_numbers)}", region=region, store=store
    )
    order_rows, case_rows = [], []
    for i, day in enumerate(days):
        for _ in range(orders):
            n = next(_numbers)
            order_rows.append(Order(external_id=f"o{n}", customer=customer, amount_fen=100,
                                    placed_at=at(day), store=store))  # fmt: skip
        for _ in range(cases_per_day(i)):
            n = next(_numbers)
            created = at(day, 10)
            answered = created + dt.timedelta(minutes=20)
            case_rows.append(Case(number=f"T{n}", channel="hotline", subject="s", store=store,
                                  region=region, customer=customer, created_at=created,
                                  first_response_at=answered))  # fmt: skip
    Order.objects.bulk_create(order_rows, batch_size=2000)
    Case.objects.bulk_create(case_rows, batch_size=2000)
