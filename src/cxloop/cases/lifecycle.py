"""Status moves of a case: new → assigned → responded → waiting on customer (clock paused) →
resolved → callback done → closed, and reopen. Each move is one ``CaseEvent`` and moves the
SLA clocks in the same transaction. A case is closed only after the callback (定效) confirmed
the customer is satisfied.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cxloop.cases import signals, sla
from cxloop.cases.events import record_event
from cxloop.cases.models import Case, CaseEvent, CaseTask, SlaRule, Solution
from cxloop.cases.services import CaseError
from cxloop.core.roles import require

S = Case.Status
Target = SlaRule.Target
MAX_TEXT = 10_000


def _text(value, field: str, message: str) -> str:
    text = str(value or "").strip()
    if not text:
        raise CaseError(message, {field: [message]})
    if len(text) > MAX_TEXT:
        raise CaseError(_("Too long."), {field: [_("At most 10,000 characters.")]})
    return text


def _move(case: Case, to_status: str, *, actor, at, kind, body="", public=True, data=None):
    previous = case.status
    case.status = to_status
    case.save()
    return record_event(
        case=case, kind=kind, actor=actor, at=at, body=body, public=public,
        from_status=previous, to_status=to_status, data=data,
    )  # fmt: skip


def _require_open(case: Case) -> None:
    if not case.is_open:
        raise CaseError(_("This case is not open."))


def reply(*, case: Case, actor, body: str, solution: Solution | None = None, now=None) -> Case:
    """A reply to the customer: the first one meets the first-response target."""
    require(actor, "cases.work_case")
    _require_open(case)
    body = _text(body, "body", _("Write the reply."))
    now = now or timezone.now()
    with transaction.atomic():
        first = case.first_response_at is None
        case.first_response_at = case.first_response_at or now
        case.agent_response_count += 1
        if case.owner_id is None:
            case.owner = actor
        to_status = S.RESPONDED if case.status in (S.NEW, S.ASSIGNED) else case.status
        _move(case, to_status, actor=actor, at=now, kind=CaseEvent.Kind.RESPONSE, body=body,
              data={"solution": solution.pk if solution else None})  # fmt: skip
        if first:
            sla.meet(case=case, kind=Target.FIRST_RESPONSE, at=now, actor=actor)
        sla.touch_progress(case=case, at=now)
        if solution is not None:
            Solution.objects.filter(pk=solution.pk).update(uses=solution.uses + 1)
        _tell_customer(case, body)
    return case


def _tell_customer(case: Case, body: str) -> None:
    """Replies reach the customer through the outbox (email when we have an address)."""
    from cxloop.core.outbox import enqueue_message

    if case.contact_email or (case.customer and case.customer.email):
        enqueue_message(
            channel="email", recipient=case.contact_email or case.customer.email,
            subject=f"{case.number} {case.subject}", body=body,
        )  # fmt: skip


def add_note(*, case: Case, actor, body: str, now=None) -> Case:
    require(actor, "cases.work_case")
    body = _text(body, "body", _("Write the note."))
    record_event(case=case, kind=CaseEvent.Kind.NOTE, actor=actor, at=now, body=body)
    return case


def wait_on_customer(*, case: Case, actor, body: str = "", now=None) -> Case:
    """Waiting for the customer (information, a visit): the clocks pause."""
    require(actor, "cases.work_case")
    if case.status not in (S.ASSIGNED, S.RESPONDED, S.NEW):
        raise CaseError(_("Only a case being worked can wait on the customer."))
    now = now or timezone.now()
    with transaction.atomic():
        _move(case, S.WAITING, actor=actor, at=now, kind=CaseEvent.Kind.STATUS, body=body)
        sla.pause(case=case, at=now)
    return case


def resume(*, case: Case, actor=None, now=None, body: str = "") -> Case:
    """The customer answered (or the agent resumes): the clocks run again, moved by the pause."""
    if actor is not None:
        require(actor, "cases.work_case")
    if case.status != S.WAITING:
        raise CaseError(_("This case is not waiting on the customer."))
    now = now or timezone.now()
    with transaction.atomic():
        to_status = S.RESPONDED if case.first_response_at else S.ASSIGNED
        _move(case, to_status, actor=actor, at=now, kind=CaseEvent.Kind.STATUS, body=body)
        sla.resume(case=case, at=now)
    return case


def customer_message(*, case: Case, body: str, now=None) -> Case:
    """A message from the customer (progress page, reply by email): resumes a waiting case."""
    body = _text(body, "body", _("Write your message."))
    now = now or timezone.now()
    with transaction.atomic():
        record_event(
            case=case, kind=CaseEvent.Kind.CUSTOMER_MESSAGE, at=now, body=body, public=True
        )
        if case.status == S.WAITING:
            resume(case=case, now=now)
    return case


def resolve(*, case: Case, actor, resolution: str, now=None) -> Case:
    """Resolved: the resolution target is met; the survey and the callback follow (loop.py)."""
    require(actor, "cases.work_case")
    _require_open(case)
    resolution = _text(resolution, "resolution", _("Say how the problem was solved."))
    now = now or timezone.now()
    with transaction.atomic():
        if case.status == S.WAITING:
            sla.resume(case=case, at=now)
        case.resolution, case.resolved_at = resolution, now
        case.owner = case.owner or actor  # whoever resolves an unowned case owns the callback
        _move(case, S.RESOLVED, actor=actor, at=now, kind=CaseEvent.Kind.STATUS, body=resolution)
        sla.meet(case=case, kind=Target.RESOLUTION, at=now, actor=actor)
        sla.meet(case=case, kind=Target.PROGRESS_UPDATE, at=now, actor=actor)
        signals.case_resolved.send(Case, case=case, actor=actor, cycle=case.resolution_cycle)
    return case


def record_callback(*, case: Case, actor, satisfied: bool, note: str = "", now=None) -> Case:
    """The callback (定效): satisfied → callback done, ready to close; not satisfied → reopen."""
    require(actor, "cases.work_case")
    if case.status != S.RESOLVED:
        raise CaseError(_("Call back after the case is resolved."))
    now = now or timezone.now()
    with transaction.atomic():
        CaseTask.objects.filter(
            case=case, kind=CaseTask.Kind.CALLBACK, cycle=case.resolution_cycle, done_at=None
        ).update(done_at=now, outcome=note[:300] or ("satisfied" if satisfied else "not solved"))
        record_event(
            case=case, kind=CaseEvent.Kind.CALLBACK, actor=actor, at=now, body=note,
            data={"satisfied": bool(satisfied)},
        )  # fmt: skip
        sla.meet(case=case, kind=Target.CALLBACK, at=now, actor=actor)
        if not satisfied:
            return reopen(case=case, actor=actor, reason=note or _("Not solved at the callback"))
        case.callback_at = now
        _move(case, S.CALLBACK_DONE, actor=actor, at=now, kind=CaseEvent.Kind.STATUS)
    return case


def close(*, case: Case, actor, now=None) -> Case:
    require(actor, "cases.work_case")
    if case.status != S.CALLBACK_DONE:
        raise CaseError(_("A case is closed only after the callback confirmed the result."))
    now = now or timezone.now()
    with transaction.atomic():
        case.closed_at = now
        _move(case, S.CLOSED, actor=actor, at=now, kind=CaseEvent.Kind.STATUS)
    return case


def reopen(*, case: Case, actor=None, reason: str, now: dt.datetime | None = None) -> Case:
    """Back to work: a new resolution cycle with fresh clocks (a low score, a failed callback)."""
    if actor is not None:
        require(actor, "cases.work_case")
    if case.status not in (S.RESOLVED, S.CALLBACK_DONE, S.CLOSED):
        raise CaseError(_("Only a resolved or closed case can be reopened."))
    now = now or timezone.now()
    with transaction.atomic():
        previous = case.status
        case.resolution_cycle += 1
        case.reopen_count += 1
        case.resolved_at = case.callback_at = case.closed_at = None
        case.status = S.ASSIGNED if case.owner_id else S.NEW
        case.save()
        record_event(
            case=case, kind=CaseEvent.Kind.REOPENED, actor=actor, at=now, body=reason,
            public=True, from_status=previous, to_status=case.status,
            data={"cycle": case.resolution_cycle},
        )  # fmt: skip
        sla.start_cycle(case=case, at=now)
        signals.case_reopened.send(Case, case=case, actor=actor, reason=reason)
    return case
