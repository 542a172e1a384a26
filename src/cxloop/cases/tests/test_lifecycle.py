"""The case life cycle: reply, wait (paused), resolve, callback, close, reopen — one event each."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from cxloop.cases import lifecycle
from cxloop.cases.models import Case, CaseEvent
from cxloop.cases.services import CaseError
from cxloop.core.models import OutboxMessage

pytestmark = pytest.mark.django_db
S = Case.Status


def test_first_reply_meets_the_first_response_target(make_case, teammate):
    case = make_case(contact_email="wang@example.com")
    lifecycle.reply(case=case, actor=teammate, body="您好，我们正在核实。")
    case.refresh_from_db()
    assert case.status == S.RESPONDED and case.owner == teammate
    assert case.first_response_at is not None and case.agent_response_count == 1
    assert case.targets.get(kind="first_response").met_at == case.first_response_at
    assert case.events.filter(kind=CaseEvent.Kind.RESPONSE, public=True).count() == 1
    message = OutboxMessage.objects.get(recipient="wang@example.com")  # through the outbox
    assert "核实" in message.body


def test_a_reply_needs_text_and_the_right_role(make_case, teammate, analyst):
    case = make_case()
    with pytest.raises(CaseError) as error:
        lifecycle.reply(case=case, actor=teammate, body="   ")
    assert "body" in error.value.field_errors
    with pytest.raises(PermissionDenied):
        lifecycle.reply(case=case, actor=analyst, body="hi")


def test_waiting_pauses_and_resume_moves_the_deadlines(make_case, teammate):
    start = timezone.now()
    case = make_case(severity="urgent", now=start)  # urgent: a 7×24 clock, easy arithmetic
    due = case.targets.get(kind="resolution").due_at
    lifecycle.wait_on_customer(case=case, actor=teammate, now=start + dt.timedelta(hours=1))
    assert case.status == S.WAITING and case.paused_at is not None
    lifecycle.customer_message(case=case, body="照片已上传", now=start + dt.timedelta(hours=4))
    case.refresh_from_db()
    assert case.status == S.ASSIGNED and case.paused_at is None
    assert case.targets.get(kind="resolution").due_at == due + dt.timedelta(hours=3)


def test_resolve_then_callback_then_close(make_case, teammate):
    case = make_case()
    lifecycle.reply(case=case, actor=teammate, body="已安排补发")
    with pytest.raises(CaseError):
        lifecycle.close(case=case, actor=teammate)  # not before the callback (定效)
    lifecycle.resolve(case=case, actor=teammate, resolution="补发新品")
    assert case.status == S.RESOLVED and case.resolved_at is not None
    assert case.targets.get(kind="resolution").met_at is not None
    lifecycle.record_callback(case=case, actor=teammate, satisfied=True, note="客户满意")
    assert case.status == S.CALLBACK_DONE
    lifecycle.close(case=case, actor=teammate)
    assert case.status == S.CLOSED and case.closed_at is not None
    statuses = list(case.events.exclude(to_status="").values_list("to_status", flat=True))
    assert statuses[-3:] == [S.RESOLVED, S.CALLBACK_DONE, S.CLOSED]


def test_an_unhappy_callback_reopens_with_a_new_cycle(make_case, teammate):
    case = make_case()
    lifecycle.resolve(case=case, actor=teammate, resolution="已处理")
    lifecycle.record_callback(case=case, actor=teammate, satisfied=False, note="还是坏的")
    case.refresh_from_db()
    assert case.status == S.ASSIGNED and case.resolution_cycle == 2 and case.reopen_count == 1
    assert case.targets.filter(kind="resolution", cycle=2, met_at__isnull=True).exists()
    assert case.events.filter(kind=CaseEvent.Kind.REOPENED).exists()


def test_moves_the_state_does_not_allow_are_refused(make_case, teammate):
    case = make_case()
    for move in (
        lambda: lifecycle.resume(case=case, actor=teammate),
        lambda: lifecycle.record_callback(case=case, actor=teammate, satisfied=True),
        lambda: lifecycle.reopen(case=case, actor=teammate, reason="x"),
    ):
        with pytest.raises(CaseError):
            move()
    lifecycle.resolve(case=case, actor=teammate, resolution="ok")
    with pytest.raises(CaseError):
        lifecycle.reply(case=case, actor=teammate, body="again")
