"""The SLA sweep: warn, breach and escalate the clocks whose next moment has come.

It reads only ``CaseTarget`` rows with ``next_check_at <= now``, nearest first, through the
partial index on that column, so its cost follows the rows that are due, never the open cases:
with nothing due it is one indexed SELECT that returns nothing, and it writes nothing.

Several workers may sweep at once. Each row is claimed by a conditional UPDATE (its
``next_check_at`` unchanged since it was read and no live claim on it) that commits at once, so
another worker skips it instead of waiting for it; the work on the row (events, notifications,
the new ``next_check_at``) is one transaction settled by a second compare-and-set. A worker
that lost the row to a user (met, recomputed) or to an expired claim rolls back. A crashed
worker's claim expires after ``LEASE``. Besides, the breach and escalation events carry dedupe
keys, so a target can never get two breach events whatever happens.

Stages, in order: at ``warn_at`` an SLA_WARNING event and a note to the owner (held for quiet
hours unless the case is urgent or major); at ``due_at`` an SLA_BREACHED event, escalation to
the department's supervisors (level 1) and an urgent note to them — for a first response that
is the "quick response promise" (30分钟快速响应承诺) missed; at the head moment (see
``sla.head_moment``) escalation to the department head (level 2). A warning whose deadline has
passed as well is not sent: the breach says more. Cases waiting on the customer are skipped and
their clocks left without a check until ``sla.resume`` re-arms them; clocks of cases no longer
open stop (the callback clock runs while the case is resolved).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cxloop.cases import notify, routing, sla
from cxloop.cases.events import record_event
from cxloop.cases.models import Case, CaseEvent, CaseTarget, Severity, SlaRule

Target = SlaRule.Target
DEFAULT_LIMIT = 500
# Longer than one row's work by far; a crashed worker's rows come back after this.
LEASE = dt.timedelta(minutes=5)
WARNED, BREACHED, TO_HEAD = "warned", "breached", "to_head"
PAUSED, STOPPED, SKIPPED, LOST = "paused", "stopped", "skipped", "lost"


@dataclass
class SweepReport:
    """What one ``sweep_due_targets`` call did (a row can be both breached and sent to the head)."""

    selected: int = 0
    claimed: int = 0
    warned: int = 0
    breached: int = 0
    to_head: int = 0
    paused: int = 0
    stopped: int = 0
    skipped: int = 0  # another worker had it, or it changed since it was read
    lost: int = 0  # changed while this worker held it: rolled back
    target_ids: list[int] = field(default_factory=list)

    def add(self, pk: int, outcomes: list[str]) -> None:
        for outcome in outcomes:
            setattr(self, outcome, getattr(self, outcome) + 1)
        if outcomes != [SKIPPED]:
            self.claimed += 1
            self.target_ids.append(pk)


class _Lost(Exception):
    """The row changed under this worker's claim; the transaction rolls back."""


@dataclass
class _Context:
    """What one sweep looks up once: calendars, escalation contacts."""

    now: dt.datetime
    cals: sla.Calendars = field(default_factory=sla.Calendars)
    contacts: dict = field(default_factory=dict)

    def contacts_for(self, case: Case, level: int) -> list:
        key = (case.department_id, level)
        if key not in self.contacts:
            self.contacts[key] = routing.escalation_contacts(case, level)
        found = self.contacts[key]
        return found or ([case.owner] if case.owner_id else [])  # somebody must hear of it


def sweep_due_targets(*, now: dt.datetime | None = None, limit: int = DEFAULT_LIMIT) -> SweepReport:
    """Handle up to ``limit`` clocks whose next check is due, nearest first."""
    now = now or timezone.now()
    report = SweepReport()
    due = list(
        CaseTarget.objects.filter(next_check_at__isnull=False, next_check_at__lte=now)
        .order_by("next_check_at")
        .values_list("pk", "next_check_at")[:limit]
    )
    report.selected = len(due)
    context = _Context(now)
    for pk, seen in due:
        report.add(pk, _handle(pk, seen, context))
    return report


def _handle(pk: int, seen: dt.datetime, context: _Context) -> list[str]:
    lease = context.now + LEASE
    if not _claim(pk, seen, context.now, lease):
        return [SKIPPED]
    try:
        with transaction.atomic():
            return _advance(pk, seen, lease, context)
    except _Lost:
        _release(pk, lease)
        return [LOST]
    except Exception:
        _release(pk, lease)  # a failure is retried by the next sweep, not after the lease
        raise


def _claim(pk: int, seen: dt.datetime, now: dt.datetime, lease: dt.datetime) -> bool:
    """Compare-and-set the lease, committed at once so other workers skip the row.

    On PostgreSQL the commit does not wait for the disk (half the sweep's time otherwise): a
    claim lost in a crash only lets another worker take the row, which the settle and the
    dedupe keys make harmless. Nested in a caller's transaction it simply joins it.
    """
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    rows = CaseTarget.objects.filter(free, pk=pk, next_check_at=seen)
    if connection.vendor != "postgresql":
        return bool(rows.update(claimed_until=lease))
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        return bool(rows.update(claimed_until=lease))


def _release(pk: int, lease: dt.datetime) -> None:
    CaseTarget.objects.filter(pk=pk, claimed_until=lease).update(claimed_until=None)


def _advance(pk: int, seen: dt.datetime, lease: dt.datetime, context: _Context) -> list[str]:
    rows = CaseTarget.objects.filter(pk=pk, next_check_at=seen, claimed_until=lease)
    target = (
        rows.select_for_update(of=("self",))
        # Calendars, departments and contacts come from the sweep's memo: join only the rest.
        .select_related("case__owner", "rule")
        .first()
    )
    if target is None:
        raise _Lost
    case = target.case
    if case.paused_at is not None:
        outcomes, target.next_check_at = [PAUSED], None
    elif not _running(case, target):
        outcomes, target.next_check_at = [STOPPED], None
    else:
        outcomes, head = _stages(case, target, context)
        target.next_check_at = head or sla.next_check(case=case, target=target, cals=context.cals)
    settled = rows.filter(met_at__isnull=True).update(
        next_check_at=target.next_check_at, warned_at=target.warned_at,
        breached_at=target.breached_at, escalated_to_head_at=target.escalated_to_head_at,
        claimed_until=None,
    )  # fmt: skip
    if not settled:
        raise _Lost
    return outcomes


def _running(case: Case, target: CaseTarget) -> bool:
    if target.kind == Target.CALLBACK:
        return case.status == Case.Status.RESOLVED
    return case.is_open


def _stages(case: Case, target: CaseTarget, context: _Context):
    """Do what is due; returns what was done and the head moment when that is the next check
    (computed once: it is the costly one)."""
    now, done = context.now, []
    if target.breached_at is None:
        if target.due_at <= now:
            _breach(case, target, context)
            done.append(BREACHED)
        elif target.warn_at is not None and target.warned_at is None and target.warn_at <= now:
            _warn(case, target, context)
            done.append(WARNED)
    if target.breached_at is None or target.escalated_to_head_at is not None:
        return done, None
    head = sla.head_moment(case=case, target=target, cals=context.cals)
    if head > now:
        return done, head
    _to_head(case, target, context)
    return [*done, TO_HEAD], None


def _run_key(target: CaseTarget) -> str:
    """Target and cycle; the progress clock restarts on the same row, so also its start."""
    key = f"{target.pk}:{target.cycle}"
    if target.kind == Target.PROGRESS_UPDATE:
        key += f":{int(target.started_at.timestamp())}"
    return key


def _data(target: CaseTarget, **extra) -> dict:
    return {"kind": target.kind, "target": target.pk, "cycle": target.cycle,
            "due_at": target.due_at, **extra}  # fmt: skip


def _warn(case: Case, target: CaseTarget, context: _Context) -> None:
    target.warned_at = context.now
    event = record_event(
        case=case, kind=CaseEvent.Kind.SLA_WARNING, at=context.now, data=_data(target),
        body=_texts(case, target, "warning")[0], dedupe_key=f"warn:{_run_key(target)}",
    )  # fmt: skip
    if event is None:
        return
    users = [case.owner] if case.owner_id else context.contacts_for(case, 1)
    _tell(users, case, target, "warning", urgent=_is_pressing(case), context=context)


def _breach(case: Case, target: CaseTarget, context: _Context) -> None:
    target.breached_at = context.now
    subject, _body = _texts(case, target, "breach")
    event = record_event(
        case=case, kind=CaseEvent.Kind.SLA_BREACHED, at=context.now, body=subject,
        data=_data(target), dedupe_key=f"breach:{_run_key(target)}",
    )  # fmt: skip
    if event is None:  # recorded before: its escalation was done then
        return
    _escalate(case, target, context, level=1, key=f"escalated:{_run_key(target)}")
    _tell(context.contacts_for(case, 1), case, target, "breach", urgent=True, context=context)


def _to_head(case: Case, target: CaseTarget, context: _Context) -> None:
    target.escalated_to_head_at = context.now
    if _escalate(case, target, context, level=2, key=f"head:{_run_key(target)}"):
        _tell(context.contacts_for(case, 2), case, target, "head", urgent=True, context=context)


def _escalate(case: Case, target: CaseTarget, context: _Context, *, level: int, key: str):
    # Raise, never lower (a manual escalation may be higher already); one UPDATE, no lost write.
    Case.objects.filter(pk=case.pk, escalation_level__lt=level).update(escalation_level=level)
    case.escalation_level = max(case.escalation_level, level)
    return record_event(
        case=case, kind=CaseEvent.Kind.ESCALATED, at=context.now, dedupe_key=key,
        body=_texts(case, target, "head" if level >= 2 else "breach")[0],
        data=_data(target, level=level, manual=False),
    )  # fmt: skip


def _is_pressing(case: Case) -> bool:
    return case.severity == Severity.URGENT or case.is_major


def _tell(users, case, target, stage: str, *, urgent: bool, context: _Context) -> None:
    subject, body = _texts(case, target, stage)
    notify.notify(
        users=users, subject=subject, body=body, case=case, urgent=urgent, now=context.now,
        dedupe_key=f"sla-{stage}:{_run_key(target)}",
    )  # fmt: skip


def _texts(case: Case, target: CaseTarget, stage: str) -> tuple[str, str]:
    values = {
        "number": case.number, "subject": case.subject, "target": sla.label(target.kind),
        "due": sla.local_text(target.due_at),
    }  # fmt: skip
    if stage == "warning":
        subject = _("%(number)s: %(target)s due at %(due)s") % values
        body = _('Case %(number)s "%(subject)s": the %(target)s target is due at %(due)s.')
    elif stage == "breach" and target.kind == Target.FIRST_RESPONSE:
        subject = _("%(number)s: quick response promise missed") % values
        body = _(
            'Case %(number)s "%(subject)s" had no first response by %(due)s: the quick '
            "response promise was missed and the case is escalated to you."
        )
    elif stage == "breach":
        subject = _("%(number)s: %(target)s deadline missed") % values
        body = _(
            'Case %(number)s "%(subject)s" missed its %(target)s deadline (%(due)s) and is '
            "escalated to you."
        )
    else:
        subject = _("%(number)s: still overdue, escalated to the department head") % values
        body = _(
            'Case %(number)s "%(subject)s" is still overdue: its %(target)s deadline was '
            "%(due)s. It is escalated to you as the department head."
        )
    return f"[cxloop] {subject}", body % values
