"""Experiment fixtures: the role grants the lead adds to core/roles.py, a category, a factory
of cases written straight to the table, and survey answers linked to cases like the loop does.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from cxloop.cases.models import Case, Category
from cxloop.core import roles
from cxloop.experiments import services
from cxloop.experiments.models import Assignment, Experiment

GRANTS = {
    roles.CX_MANAGER: ["view_experiment", "add_experiment", "change_experiment"],
    roles.ANALYST: ["view_experiment", "add_experiment", "change_experiment"],
    roles.AGENT: ["view_experiment"],
}
NOW = dt.datetime(2026, 5, 20, 10, 0, tzinfo=dt.UTC)
_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def _grants(db):
    for role, codenames in GRANTS.items():
        group = Group.objects.get(name=role)
        group.permissions.add(*Permission.objects.filter(
            content_type__app_label="experiments", codename__in=codenames))  # fmt: skip


@pytest.fixture
def category(db) -> Category:
    return Category.objects.create(code="exp-logistics", name="物流")


@pytest.fixture
def other_category(db) -> Category:
    return Category.objects.create(code="exp-product", name="产品")


def make_cases(count: int, **fields) -> list[Case]:
    """Cases written straight to the table (no signals): outcomes set by the test."""
    fields.setdefault("created_at", NOW - dt.timedelta(days=3))
    fields.setdefault("channel", "hotline")
    rows = [Case(number=f"X{next(_numbers):07d}", subject="test", **fields) for _ in range(count)]
    return Case.objects.bulk_create(rows)


def assign_all(experiment: Experiment, cases, variant: str) -> None:
    Assignment.objects.bulk_create(
        [Assignment(experiment=experiment, case=c, variant=variant, assigned_at=c.created_at)
         for c in cases]
    )  # fmt: skip


def new_experiment(owner, **values) -> Experiment:
    base = {"name": "Empathy", "unit": "case", "metric": "csat_top2", "variant_a": "标准话术",
            "variant_b": "共情话术", "split_b_percent": 50}  # fmt: skip
    return services.create_experiment(actor=owner, values={**base, **values})


def started(owner, **values) -> Experiment:
    experiment = new_experiment(owner, **values)
    return services.start_experiment(experiment=experiment, actor=owner, now=timezone.now())
