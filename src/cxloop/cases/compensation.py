"""Frontline empowerment (R3.7): compensation an agent grants, approvals, care tasks.

**The ¥50 rule is per case.** An agent may grant compensation (coupon, refund, gift) without
approval as long as everything already given on the case — granted rows and approved rows —
plus the new amount stays within the setting ``compensation_limit_fen`` (default 5000 fen =
¥50). Exactly the limit is granted at once; one fen more waits in the approval queue. Pending
and rejected rows do not count: nothing was given yet, or never will be.

Every grant is an append-only ``Compensation`` row; a decision changes its status once, with a
conditional UPDATE on ``status = pending`` (of two approvers clicking at once one wins, the
other is told it was decided). A requester never decides their own request. Each grant and
decision is a ``CaseEvent`` (COMPENSATION) and an ``AuditLog`` row, in the same transaction.

Care package and thank-you note (000 §4.2.3) are ``CaseTask`` rows due in a few working days,
listed on the follow-up tasks page and marked done with an outcome.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from cxloop.cases import notify
from cxloop.cases.events import record_event
from cxloop.cases.models import Case, CaseEvent, CaseTask, Compensation
from cxloop.cases.services import MAX_AMOUNT_FEN, CaseError
from cxloop.core.audit import record_audit, snapshot
from cxloop.core.money import format_fen
from cxloop.core.roles import require
from cxloop.core.settings_registry import COMPENSATION_LIMIT_FEN, get_setting

S = Compensation.Status
APPROVE_PERM = "cases.approve_compensation"
# What counts toward the per-case limit: compensation actually given.
GIVEN = (S.GRANTED, S.APPROVED)
AUDITED = ("case", "kind", "amount_fen", "reason", "status", "decided_by", "decision_note")
TEXT_MAX = 300
KEY_MAX = Compensation._meta.get_field("idempotency_key").max_length
CARE_KINDS = (CaseTask.Kind.CARE_PACKAGE, CaseTask.Kind.THANK_YOU_NOTE)
CARE_TASK_WORKING_DAYS = 3
CLOSED_TO_COMPENSATION = (Case.Status.MERGED,)


# --- grant ---------------------------------------------------------------------------------


def limit_fen() -> int:
    return get_setting(COMPENSATION_LIMIT_FEN)


def given_fen(case: Case) -> int:
    """Compensation already given on ``case`` (granted and approved), in fen."""
    total = Compensation.objects.filter(case=case, status__in=GIVEN).aggregate(s=Sum("amount_fen"))
    return int(total["s"] or 0)


def grant_compensation(
    *, case: Case, actor, kind: str, amount_fen: int, reason: str,
    idempotency_key: str | None = None, now: dt.datetime | None = None,
) -> Compensation:  # fmt: skip
    """Grant within the per-case limit, else put the request in the approval queue.

    The same ``idempotency_key`` returns the first row (a double click, a retried request).
    """
    require(actor, "cases.work_case")
    key = _clean_key(idempotency_key)
    if key and (existing := _by_key(key, case)) is not None:
        return existing
    fields = _clean_grant(kind=kind, amount_fen=amount_fen, reason=reason)
    if case.status in CLOSED_TO_COMPENSATION:
        raise CaseError(_("This case was merged; compensate on the case it was merged into."))
    now = now or timezone.now()
    try:
        with transaction.atomic():
            return _grant(case, actor, fields, key, now)
    except IntegrityError:
        if key and (existing := _by_key(key, case)) is not None:
            return existing  # a twin request with the same key won the race
        raise


def _grant(case: Case, actor, fields: dict, key: str | None, now: dt.datetime) -> Compensation:
    # Lock the case so two grants at once cannot both fit under the limit (PostgreSQL).
    Case.objects.select_for_update().filter(pk=case.pk).first()
    before = given_fen(case)
    within = before + fields["amount_fen"] <= limit_fen()
    row = Compensation.objects.create(
        case=case, **fields, status=S.GRANTED if within else S.PENDING,
        requested_by=actor, requested_at=now, idempotency_key=key,
    )  # fmt: skip
    body = _("%(kind)s %(amount)s: %(reason)s") % {
        "kind": row.get_kind_display(), "amount": format_fen(row.amount_fen), "reason": row.reason,
    }  # fmt: skip
    record_event(
        case=case, kind=CaseEvent.Kind.COMPENSATION, actor=actor, at=now, body=body,
        data={"compensation": row.pk, "kind": row.kind, "amount_fen": row.amount_fen,
              "status": row.status, "given_before_fen": before, "limit_fen": limit_fen()},
    )  # fmt: skip
    action = "case.compensation.grant" if within else "case.compensation.request"
    record_audit(actor=actor, action=action, target=row, after=snapshot(row, AUDITED))
    if not within:
        _tell_approvers(row, actor, now)
    return row


def _clean_grant(*, kind, amount_fen, reason) -> dict:
    errors: dict[str, list[str]] = {}
    if kind not in Compensation.Kind.values:
        errors["kind"] = [_("Choose a coupon, a refund or a gift.")]
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        errors["amount_fen"] = [_("Enter an amount of more than ¥0 in whole fen.")]
    elif amount_fen > MAX_AMOUNT_FEN:
        errors["amount_fen"] = [_("That amount is too large.")]
    reason = " ".join(str(reason or "").split())
    if not reason:
        errors["reason"] = [_("Say why the customer is compensated.")]
    elif len(reason) > TEXT_MAX:
        errors["reason"] = [_("At most 300 characters.")]
    if errors:
        raise CaseError(_("The compensation could not be saved."), errors)
    return {"kind": kind, "amount_fen": amount_fen, "reason": reason}


def _clean_key(key: str | None) -> str | None:
    key = str(key or "").strip()
    if len(key) > KEY_MAX:
        raise CaseError(_("Bad request key."), {"idempotency_key": [_("At most 100 characters.")]})
    return key or None


def _by_key(key: str, case: Case) -> Compensation | None:
    row = Compensation.objects.filter(idempotency_key=key).first()
    if row is not None and row.case_id != case.pk:
        raise CaseError(
            _("This request key was used for another case."),
            {"idempotency_key": [_("This request key was used for another case.")]},
        )
    return row


def approvers():
    """Active users who may approve compensation (by role, by direct grant or superuser)."""
    return get_user_model().objects.with_perm(APPROVE_PERM).filter(is_active=True)


def _tell_approvers(row: Compensation, actor, now: dt.datetime) -> None:
    users = [user for user in approvers() if user.pk != getattr(actor, "pk", None)]
    case = row.case
    notify.notify(
        users=users, case=case, urgent=False, now=now,
        subject=_("[cxloop] Compensation to approve: %(number)s") % {"number": case.number},
        body=_("%(amount)s %(kind)s for %(number)s waits for your approval: %(reason)s") % {
            "amount": format_fen(row.amount_fen), "kind": row.get_kind_display(),
            "number": case.number, "reason": row.reason,
        },
        dedupe_key=f"compensation:{row.pk}",
    )  # fmt: skip


# --- decide --------------------------------------------------------------------------------


def pending_compensations():
    """The approval queue: pending requests, oldest first."""
    return (
        Compensation.objects.filter(status=S.PENDING)
        .select_related("case", "requested_by")
        .order_by("requested_at", "id")
    )


def decide_compensation(
    *, compensation: Compensation, actor, approve: bool, note: str = "", now=None
) -> Compensation:
    """Approve or reject a pending request, once; never by the person who asked for it."""
    require(actor, APPROVE_PERM)
    if compensation.requested_by_id is not None and compensation.requested_by_id == actor.pk:
        raise CaseError(_("Another approver must decide on your own request."))
    note = " ".join(str(note or "").split())
    if not approve and not note:
        raise CaseError(_("Say why."), {"note": [_("Say why the request is rejected.")]})
    if len(note) > TEXT_MAX:
        raise CaseError(_("Too long."), {"note": [_("At most 300 characters.")]})
    now = now or timezone.now()
    status = S.APPROVED if approve else S.REJECTED
    with transaction.atomic():
        decided = Compensation.objects.filter(pk=compensation.pk, status=S.PENDING).update(
            status=status, decided_by=actor, decided_at=now, decision_note=note
        )
        if not decided:
            raise CaseError(_("This request has already been decided."))
        before = snapshot(compensation, AUDITED)
        compensation.refresh_from_db()
        _record_decision(compensation, actor, before, now)
    return compensation


def _record_decision(row: Compensation, actor, before: dict, now: dt.datetime) -> None:
    approved = row.status == S.APPROVED
    text = _("Approved") if approved else _("Rejected")
    body = f"{text}: {row.get_kind_display()} {format_fen(row.amount_fen)}"
    record_event(
        case=row.case, kind=CaseEvent.Kind.COMPENSATION, actor=actor, at=now,
        body=f"{body} — {row.decision_note}" if row.decision_note else body,
        data={"compensation": row.pk, "status": row.status, "amount_fen": row.amount_fen},
    )  # fmt: skip
    record_audit(
        actor=actor, action=f"case.compensation.{'approve' if approved else 'reject'}",
        target=row, before=before, after=snapshot(row, AUDITED),
    )  # fmt: skip
    if row.requested_by is not None:
        notify.notify(
            users=[row.requested_by], case=row.case, urgent=False, now=now,
            subject=f"[cxloop] {row.case.number} {body}", body=body,
            dedupe_key=f"compensation-decided:{row.pk}",
        )  # fmt: skip


# --- care package, thank-you note, completing tasks ------------------------------------------


def care_due(case: Case, now: dt.datetime) -> dt.datetime:
    from cxloop.cases import sla
    from cxloop.core.business_time import add_working_days

    calendar = sla.calendar_for(case=case, rule=None)
    return add_working_days(calendar, now, CARE_TASK_WORKING_DAYS)


def create_care_task(*, case: Case, actor, kind: str, now: dt.datetime | None = None) -> CaseTask:
    """A care package or thank-you note for the complainant, due in 3 working days; once per
    resolution cycle (asking again returns the task already there)."""
    require(actor, "cases.work_case")
    if kind not in CARE_KINDS:
        raise CaseError(_("Choose a care package or a thank-you note."), {"kind": [_("Choose.")]})
    if case.status in CLOSED_TO_COMPENSATION:
        raise CaseError(_("This case was merged."))
    now = now or timezone.now()
    task, created = ensure_task(
        case=case, kind=kind, due_at=care_due(case, now), assignee=case.owner or actor,
        actor=actor, now=now,
    )  # fmt: skip
    if created:
        record_audit(actor=actor, action="case.task.create", target=task,
                     after={"case": case.pk, "kind": kind, "due_at": task.due_at})  # fmt: skip
    return task


def ensure_task(*, case: Case, kind: str, due_at, assignee, actor=None, now=None, cycle=None):
    """The task of ``kind`` for the case's resolution cycle, created with a TASK event when it
    does not exist yet. Returns ``(task, created)``; safe against a concurrent twin."""
    cycle = cycle or case.resolution_cycle
    now = now or timezone.now()
    existing = CaseTask.objects.filter(case=case, kind=kind, cycle=cycle).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            task = CaseTask.objects.create(
                case=case, kind=kind, cycle=cycle, due_at=due_at, assignee=assignee, created_at=now
            )
    except IntegrityError:
        return CaseTask.objects.get(case=case, kind=kind, cycle=cycle), False
    record_event(
        case=case, kind=CaseEvent.Kind.TASK, actor=actor, at=now,
        body=_("%(task)s due %(due)s") % {"task": task.get_kind_display(), "due": _local(due_at)},
        data={"task": task.pk, "kind": kind, "cycle": cycle, "due_at": due_at,
              "assignee": getattr(assignee, "pk", None)},
    )  # fmt: skip
    return task, True


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def complete_task(*, task: CaseTask, actor, outcome: str, now=None) -> CaseTask:
    """Mark a care package, thank-you note or escalation answer done, once, with its outcome.
    A callback is recorded on the case (satisfied or not), which also closes its task."""
    require(actor, "cases.work_case")
    if task.kind == CaseTask.Kind.CALLBACK:
        raise CaseError(_("Record the callback on the case page: was the customer satisfied?"))
    outcome = " ".join(str(outcome or "").split())
    if not outcome:
        raise CaseError(_("Say what was done."), {"outcome": [_("Say what was done.")]})
    if len(outcome) > TEXT_MAX:
        raise CaseError(_("Too long."), {"outcome": [_("At most 300 characters.")]})
    now = now or timezone.now()
    with transaction.atomic():
        done = CaseTask.objects.filter(pk=task.pk, done_at__isnull=True).update(
            done_at=now, outcome=outcome
        )
        if not done:
            raise CaseError(_("This task is already done."))
        task.refresh_from_db()
        record_event(
            case=task.case, kind=CaseEvent.Kind.TASK, actor=actor, at=now,
            body=f"{task.get_kind_display()}: {outcome}",
            data={"task": task.pk, "kind": task.kind, "done": True},
        )  # fmt: skip
        record_audit(actor=actor, action="case.task.complete", target=task,
                     after={"outcome": outcome, "done_at": now})  # fmt: skip
    return task
