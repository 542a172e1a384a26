"""Major complaints: the emergency procedure — general manager, urgent, management clock and
urgent notifications — once per case, at creation or when an edit makes the case major."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cxloop.cases import defaults, major, services
from cxloop.cases.models import CaseEvent, CaseTarget, Department
from cxloop.core.models import OutboxMessage

pytestmark = pytest.mark.django_db
HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _default_rules(db):
    defaults.ensure_defaults()  # the plans' rules: management in 2 h, major result in 24 h


@pytest.fixture
def gm(django_user_model):
    user = django_user_model.objects.create_user(username="gm", email="gm@example.com")
    department, _ = Department.objects.get_or_create(code="quality-control",
                                                     defaults={"name": "质量控制"})  # fmt: skip
    department.head, department.is_active = user, True
    department.save()
    return user


def test_a_major_complaint_starts_the_emergency_procedure(make_case, gm, supervisor):
    now = timezone.now()
    case = make_case(amount_fen=1_200_000, now=now)
    case.refresh_from_db()
    assert case.is_major and case.owner == gm and case.severity == "urgent"
    notice = CaseTarget.objects.get(case=case, kind="management_notice")
    assert notice.due_at == now + 2 * HOUR  # 7×24
    assert CaseTarget.objects.get(case=case, kind="resolution").due_at == now + 24 * HOUR
    event = case.events.get(kind=CaseEvent.Kind.MAJOR)
    assert event.data["general_manager"] == gm.pk and "24 hours" in event.body
    told = OutboxMessage.objects.filter(subject__contains="MAJOR complaint")
    assert {m.recipient for m in told} == {"gm@example.com", "supervisor@example.com"}
    assert all(m.next_attempt_at <= timezone.now() for m in told)  # urgent: not held back


def test_media_risk_alone_is_major(make_case, gm):
    case = make_case(media_risk=True)
    assert case.owner == gm and case.events.filter(kind=CaseEvent.Kind.MAJOR).exists()


def test_an_ordinary_case_has_no_procedure(make_case, gm):
    case = make_case(amount_fen=5_000)
    assert case.owner != gm and not case.events.filter(kind=CaseEvent.Kind.MAJOR).exists()
    assert not CaseTarget.objects.filter(case=case, kind="management_notice").exists()


def test_an_edit_that_makes_it_major_starts_it_once(make_case, gm, teammate):
    case = make_case()
    services.update_case(case=case, actor=teammate, amount_fen=2_000_000)
    case.refresh_from_db()
    assert case.owner == gm and case.severity == "urgent"
    assert CaseTarget.objects.filter(case=case, kind="management_notice").count() == 1
    messages = OutboxMessage.objects.count()
    assert major.start_emergency_procedure(case=case) is False  # idempotent
    services.update_case(case=case, actor=teammate, media_risk=True)
    assert case.events.filter(kind=CaseEvent.Kind.MAJOR).count() == 1
    assert OutboxMessage.objects.count() == messages


def test_without_a_quality_control_head_an_approver_takes_it(make_case, owner):
    Department.objects.filter(code="quality-control").update(head=None)
    case = make_case(amount_fen=1_000_000)
    assert major.general_manager() == owner
    assert case.owner == owner


def test_management_acknowledges_and_meets_the_clock(make_case, gm, owner):
    case = make_case(amount_fen=1_000_000)
    met = major.acknowledge(case=case, actor=owner, note="总经理已介入")
    assert met is not None and met.met_at is not None
    assert major.acknowledge(case=case, actor=owner) is None  # once
    assert case.events.filter(kind=CaseEvent.Kind.MAJOR, data__acknowledged=True).count() == 1
