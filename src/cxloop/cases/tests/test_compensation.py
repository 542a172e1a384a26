"""Frontline empowerment: the ¥50 rule per case, approvals, idempotency, audit, care tasks."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from cxloop.cases import compensation as comp
from cxloop.cases.models import CaseEvent, CaseTask, Compensation
from cxloop.cases.services import CaseError
from cxloop.core.models import AuditLog, OutboxMessage
from cxloop.core.services import set_setting

pytestmark = pytest.mark.django_db
S = Compensation.Status


def grant(case, actor, amount_fen, **extra):
    fields = {"kind": "coupon", "reason": "快递延误补偿"}
    return comp.grant_compensation(case=case, actor=actor, amount_fen=amount_fen,
                                   **{**fields, **extra})  # fmt: skip


@pytest.mark.parametrize(("amount", "status"), [(5000, S.GRANTED), (5001, S.PENDING)])
def test_up_to_fifty_yuan_is_granted_at_once(make_case, teammate, amount, status):
    row = grant(make_case(), teammate, amount)
    assert row.status == status and row.requested_by == teammate


def test_the_limit_is_per_case_and_cumulative(make_case, teammate):
    case, other = make_case(), make_case()
    assert grant(case, teammate, 3000).status == S.GRANTED
    assert grant(case, teammate, 2000).status == S.GRANTED  # 5000 in all: still within
    assert grant(case, teammate, 1).status == S.PENDING  # one fen over the case's ¥50
    assert grant(other, teammate, 5000).status == S.GRANTED  # another case, its own ¥50
    assert comp.given_fen(case) == 5000


def test_pending_and_rejected_do_not_count_but_approved_does(make_case, teammate, owner):
    case = make_case()
    big = grant(case, teammate, 8000)
    assert grant(case, teammate, 5000).status == S.GRANTED  # the pending ¥80 is not given yet
    comp.decide_compensation(compensation=big, actor=owner, approve=True, note="同意")
    assert comp.given_fen(case) == 13000
    assert grant(case, teammate, 100).status == S.PENDING


def test_the_limit_follows_the_setting(make_case, teammate, owner):
    set_setting(key="compensation_limit_fen", value=10000, actor=owner)
    assert grant(make_case(), teammate, 10000).status == S.GRANTED


def test_each_grant_is_an_event_and_an_audit_row(make_case, teammate):
    case = make_case()
    row = grant(case, teammate, 1200, kind="gift")
    event = case.events.get(kind=CaseEvent.Kind.COMPENSATION)
    assert event.actor == teammate and event.data["compensation"] == row.pk
    assert event.data["status"] == "granted" and "¥12.00" in event.body
    audit = AuditLog.objects.get(action="case.compensation.grant", object_id=str(row.pk))
    assert audit.actor == teammate and audit.after["amount_fen"] == 1200
    pending = grant(case, teammate, 9000)
    assert AuditLog.objects.filter(action="case.compensation.request",
                                   object_id=str(pending.pk)).exists()  # fmt: skip


def test_a_request_tells_the_approvers(make_case, teammate, owner):
    owner.email = "boss@example.com"
    owner.save()
    grant(make_case(), teammate, 6000)
    assert OutboxMessage.objects.filter(recipient="boss@example.com").count() == 1


def test_the_same_idempotency_key_returns_the_same_row(make_case, teammate):
    case = make_case()
    first = grant(case, teammate, 2000, idempotency_key="form-abc")
    again = grant(case, teammate, 2000, idempotency_key="form-abc")
    assert again.pk == first.pk and Compensation.objects.count() == 1
    assert case.events.filter(kind=CaseEvent.Kind.COMPENSATION).count() == 1
    with pytest.raises(CaseError):
        grant(make_case(), teammate, 2000, idempotency_key="form-abc")  # another case


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"amount_fen": 0}, "amount_fen"),
        ({"amount_fen": -5}, "amount_fen"),
        ({"amount_fen": 12.5}, "amount_fen"),
        ({"amount_fen": "3000"}, "amount_fen"),
        ({"amount_fen": True}, "amount_fen"),
        ({"kind": "cash"}, "kind"),
        ({"reason": "  "}, "reason"),
        ({"reason": "x" * 301}, "reason"),
    ],
)
def test_bad_input_names_the_field(make_case, teammate, fields, bad):
    data = {"amount_fen": 1000, "kind": "coupon", "reason": "补偿", **fields}
    with pytest.raises(CaseError) as error:
        comp.grant_compensation(case=make_case(), actor=teammate, **data)
    assert bad in error.value.field_errors
    assert not Compensation.objects.exists()


def test_only_case_workers_grant(make_case, analyst, outsider):
    for user in (analyst, outsider):
        with pytest.raises(PermissionDenied):
            grant(make_case(), user, 100)


def test_approve_and_reject_once(make_case, teammate, owner):
    case = make_case()
    row = grant(case, teammate, 8000)
    comp.decide_compensation(compensation=row, actor=owner, approve=True, note="合理")
    row.refresh_from_db()
    assert row.status == S.APPROVED and row.decided_by == owner and row.decided_at
    with pytest.raises(CaseError, match="already been decided"):
        comp.decide_compensation(compensation=row, actor=owner, approve=False, note="不行")
    stale = Compensation.objects.get(pk=row.pk)
    stale.status = S.PENDING  # an old copy of the row, as a second browser tab would hold
    with pytest.raises(CaseError):
        comp.decide_compensation(compensation=stale, actor=owner, approve=False, note="晚了")
    assert Compensation.objects.get(pk=row.pk).status == S.APPROVED
    events = case.events.filter(kind=CaseEvent.Kind.COMPENSATION).order_by("id")
    assert [e.data["status"] for e in events] == ["pending", "approved"]
    audit = AuditLog.objects.get(action="case.compensation.approve")
    assert audit.before["status"] == "pending" and audit.after["status"] == "approved"


def _at_once(*calls) -> list:
    """Run ``calls`` in threads released together; returns their results or exceptions."""
    start, results = threading.Barrier(len(calls)), []

    def run(call):
        try:
            start.wait()
            results.append(call())
        except Exception as error:  # noqa: BLE001 - the test inspects what each thread got
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_grants_at_once_cannot_both_fit_under_the_limit(make_case, teammate, supervisor):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL; SQLite serialises them")
    case = make_case()
    results = _at_once(lambda: grant(case, teammate, 3000), lambda: grant(case, supervisor, 3000))
    assert sorted(row.status for row in results) == [S.GRANTED, S.PENDING]
    assert comp.given_fen(case) == 3000


@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_once_decide_once(make_case, teammate, owner, django_user_model):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL; SQLite serialises them")
    second = django_user_model.objects.create_user(username="manager2", is_superuser=True)
    row = grant(make_case(), teammate, 8000)
    results = _at_once(
        lambda: comp.decide_compensation(compensation=row, actor=owner, approve=True),
        lambda: comp.decide_compensation(compensation=row, actor=second, approve=False, note="否"),
    )
    assert sum(isinstance(result, CaseError) for result in results) == 1
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.COMPENSATION).count() == 2


def test_a_rejection_needs_a_reason(make_case, teammate, owner):
    row = grant(make_case(), teammate, 8000)
    with pytest.raises(CaseError) as error:
        comp.decide_compensation(compensation=row, actor=owner, approve=False, note="")
    assert "note" in error.value.field_errors
    comp.decide_compensation(compensation=row, actor=owner, approve=False, note="超出标准")
    row.refresh_from_db()
    assert row.status == S.REJECTED and row.decision_note == "超出标准"
    assert comp.given_fen(row.case) == 0


def test_only_approvers_decide_and_never_their_own_request(make_case, teammate, owner):
    row = grant(make_case(), teammate, 8000)
    with pytest.raises(PermissionDenied):
        comp.decide_compensation(compensation=row, actor=teammate, approve=True)
    own = grant(make_case(), owner, 9000)  # a manager asking for more than ¥50 …
    assert own.status == S.PENDING
    with pytest.raises(CaseError, match="Another approver"):
        comp.decide_compensation(compensation=own, actor=owner, approve=True)  # … needs another
    assert Compensation.objects.get(pk=own.pk).status == S.PENDING


def test_the_queue_is_pending_oldest_first(make_case, teammate):
    case = make_case()
    now = timezone.now()
    newer = grant(case, teammate, 7000, now=now)
    older = grant(case, teammate, 6000, now=now - dt.timedelta(hours=1))
    granted = grant(case, teammate, 100)  # pending requests do not count: granted
    assert granted.status == S.GRANTED
    assert list(comp.pending_compensations()) == [older, newer]


def test_a_care_package_task_is_due_in_working_days_and_made_once(make_case, teammate):
    case = make_case()
    task = comp.create_care_task(case=case, actor=teammate, kind="care_package")
    assert task.kind == "care_package" and task.due_at > timezone.now() and task.done_at is None
    assert task.assignee == (case.owner or teammate)
    again = comp.create_care_task(case=case, actor=teammate, kind="care_package")
    assert again.pk == task.pk
    note = comp.create_care_task(case=case, actor=teammate, kind="thank_you_note")
    assert note.pk != task.pk
    assert case.events.filter(kind=CaseEvent.Kind.TASK).count() == 2
    with pytest.raises(CaseError):
        comp.create_care_task(case=case, actor=teammate, kind="callback")


def test_complete_a_task_once_with_an_outcome(make_case, teammate):
    case = make_case()
    task = comp.create_care_task(case=case, actor=teammate, kind="thank_you_note")
    with pytest.raises(CaseError):
        comp.complete_task(task=task, actor=teammate, outcome=" ")
    comp.complete_task(task=task, actor=teammate, outcome="感谢信已寄出")
    assert task.done_at is not None and task.outcome == "感谢信已寄出"
    with pytest.raises(CaseError, match="already done"):
        comp.complete_task(task=task, actor=teammate, outcome="再次")
    assert AuditLog.objects.filter(action="case.task.complete").count() == 1


def test_a_callback_task_is_completed_by_the_callback(make_case, teammate):
    case = make_case()
    task = CaseTask.objects.create(case=case, kind="callback")
    with pytest.raises(CaseError, match="callback"):
        comp.complete_task(task=task, actor=teammate, outcome="打过了")
