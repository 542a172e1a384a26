"""Case fixtures: two departments with a supervisor and a handler each, and a case factory.

With the shared ``owner`` (CX manager), ``teammate`` (agent) and ``outsider`` (no role):
``handler`` works in logistics only and must never see a customer-service case.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from cxloop.cases.models import Category, Department, Membership
from cxloop.core import roles


@pytest.fixture
def departments(db) -> dict[str, Department]:
    service = Department.objects.create(code="cs-test", name="客服中心")
    logistics = Department.objects.create(code="logistics-test", name="物流部")
    return {"service": service, "logistics": logistics}


@pytest.fixture
def categories(departments) -> dict[str, Category]:
    product = Category.objects.create(
        code="product-test", name="产品质量", default_department=departments["service"]
    )
    logistics = Category.objects.create(
        code="logistics-test", name="物流配送", default_department=departments["logistics"]
    )
    return {"product": product, "logistics": logistics}


def _member(django_user_model, username, role_group, department, role=Membership.Role.MEMBER):
    user = django_user_model.objects.create_user(
        username=username, password="pw-" + username, email=f"{username}@example.com"
    )
    user.groups.add(Group.objects.get(name=role_group))
    Membership.objects.create(department=department, user=user, role=role)
    return user


@pytest.fixture
def handler(departments, django_user_model):
    return _member(django_user_model, "handler", roles.DEPARTMENT_HANDLER, departments["logistics"])


@pytest.fixture
def supervisor(departments, django_user_model):
    return _member(
        django_user_model, "supervisor", roles.AGENT, departments["service"],
        Membership.Role.SUPERVISOR,
    )  # fmt: skip


@pytest.fixture
def handler_client(handler):
    client = Client()
    client.force_login(handler)
    return client


@pytest.fixture
def make_case(categories):
    """``make_case(**overrides)``: a case through the real service (deadlines, routing)."""
    from cxloop.cases import services

    def make(**overrides):
        fields = {
            "channel": "hotline",
            "subject": "快递三天没到",
            "description": "订单显示已发货，三天没有物流更新。",
            "contact_name": "王女士",
            "contact_phone": "13800001234",
            "category": categories["product"],
        }
        return services.create_case(**{**fields, **overrides})

    return make
