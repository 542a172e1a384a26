"""Programs fixtures: the programs permissions granted to the shared role users (until
core/roles.py lists them), customers, a template and an API client on a test urlconf that
mounts the ideas router (until api/api.py registers it)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache

from cxloop.core import roles
from cxloop.customers.models import Customer
from cxloop.programs import audits

ALL = [
    f"{verb}_{model}"
    for model in ("idea", "improvementaction", "audittemplate", "mysteryaudit")
    for verb in ("view", "add", "change")
]
PERMS = {
    roles.CX_MANAGER: ALL,
    roles.AGENT: [
        "view_idea",
        "add_idea",
        "view_improvementaction",
        "change_improvementaction",
        "view_audittemplate",
        "view_mysteryaudit",
        "add_mysteryaudit",
    ],
    roles.ANALYST: [
        "view_idea",
        "view_improvementaction",
        "view_audittemplate",
        "view_mysteryaudit",
    ],
    roles.VIEWER: ["view_mysteryaudit"],
}


@pytest.fixture(autouse=True)
def programs_perms(db):
    for role, codenames in PERMS.items():
        group = Group.objects.get(name=role)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="programs", codename__in=codenames)
        )


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # the public form's rate limit counts in the cache
    yield
    cache.clear()


@pytest.fixture
def customer(db):
    return Customer.objects.create(external_id="c-1", name="李娜", phone="13800138000")


@pytest.fixture
def template(owner):
    return audits.save_template(
        actor=owner,
        name="门店服务",
        touchpoint="store",
        items=[
            {"text": "进门问候", "weight": 2, "max_score": 5},
            {"text": "价签清晰", "weight": 1, "max_score": 5},
            {"text": "结账速度", "weight": 1, "max_score": 10},
        ],
    )
