"""The emergency procedure for major complaints (R3.4, issue 4 §1).

A major complaint (amount ≥ the setting ``major_complaint_amount_fen``, default ¥10,000, or a
media-exposure risk) — at creation or when an edit makes it one — is, once per case:

- owned by the **general manager**. cxloop has no such role, so the general manager is the head
  of the active department with code ``quality-control`` (one of the default departments) when
  it has an active head, else the first active user (lowest id) who may approve compensation
  (a CX manager); with neither the owner stays as it is and the MAJOR event says so;
- made **urgent** (its clocks are recomputed: urgent cases run on the 7×24 calendar);
- given the ``management_notice`` clock (default rule: management involved within 2 hours, 7×24)
  next to the major-only resolution rule of the defaults (result within 24 hours);
- written to the timeline as one MAJOR event (its dedupe key ``major:<case id>`` makes the
  procedure idempotent: a second signal for the same case does nothing);
- announced by urgent notifications (never held for quiet hours) to management: the general
  manager, the case department's supervisors and head, and the previous owner.

``acknowledge`` is management taking charge: it meets the ``management_notice`` clock.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cxloop.cases import notify, routing, sla
from cxloop.cases.compensation import approvers
from cxloop.cases.events import record_event
from cxloop.cases.models import Case, CaseEvent, Department, Severity, SlaRule
from cxloop.core.money import format_fen
from cxloop.core.roles import require

GM_DEPARTMENT_CODE = "quality-control"


def on_case_created(sender, *, case: Case, actor=None, **kwargs) -> None:
    if case.is_major:
        start_emergency_procedure(case=case, actor=actor)


def on_case_became_major(sender, *, case: Case, actor=None, **kwargs) -> None:
    start_emergency_procedure(case=case, actor=actor)


def general_manager():
    """The head of the quality-control department, else the first active approver, else None."""
    department = (
        Department.objects.filter(code=GM_DEPARTMENT_CODE, is_active=True, head__is_active=True)
        .select_related("head")
        .first()
    )
    if department is not None:
        return department.head
    return approvers().order_by("id").first()


def start_emergency_procedure(*, case: Case, actor=None, now: dt.datetime | None = None) -> bool:
    """Run the procedure once per case; False when it ran before (or the case is not major)."""
    if not case.is_major:
        return False
    now = now or timezone.now()
    with transaction.atomic():
        manager, previous_owner = general_manager(), case.owner
        event = record_event(
            case=case, kind=CaseEvent.Kind.MAJOR, actor=actor, at=now, public=False,
            body=_procedure_text(case, manager),
            data={"general_manager": getattr(manager, "pk", None),
                  "previous_owner": getattr(previous_owner, "pk", None),
                  "amount_fen": case.amount_fen, "media_risk": case.media_risk},
            dedupe_key=f"major:{case.pk}",
        )  # fmt: skip
        if event is None:
            return False
        if manager is not None and case.owner_id != manager.pk and case.is_open:
            routing.set_assignment(
                case=case, owner=manager, department=None, actor=None, now=now,
                reason="major complaint", recompute=False,
            )  # fmt: skip
        _make_urgent(case, now)
        sla.start_clocks(case=case, now=now, kinds=[SlaRule.Target.MANAGEMENT_NOTICE])
        _tell_management(case, manager, previous_owner, now)
    return True


def _procedure_text(case: Case, manager) -> str:
    reasons = []
    if case.media_risk:
        reasons.append(_("media exposure risk"))
    if case.amount_fen:
        reasons.append(_("amount %(amount)s") % {"amount": format_fen(case.amount_fen)})
    who = (manager.get_full_name() or manager.get_username()) if manager else _("nobody found")
    return _(
        "Emergency procedure started (%(reasons)s): general manager %(who)s owns the case, "
        "management to be involved within 2 hours, result within 24 hours."
    ) % {"reasons": ", ".join(reasons) or _("major complaint"), "who": who}


def _make_urgent(case: Case, now: dt.datetime) -> None:
    if case.severity == Severity.URGENT:
        return
    before = case.severity
    case.severity = Severity.URGENT
    case.save(update_fields=["severity", "updated_at"])
    record_event(
        case=case, kind=CaseEvent.Kind.UPDATED, at=now,
        data={"before": {"severity": before}, "after": {"severity": Severity.URGENT},
              "reason": "major complaint"},
    )  # fmt: skip
    sla.recompute(case=case, at=now, reason="major complaint")


def management(case: Case, extra=()) -> list:
    """Who hears of a major complaint: ``extra`` and the department's supervisors and head."""
    users = [*extra, *routing.escalation_contacts(case, 1), *routing.escalation_contacts(case, 2)]
    return [user for user in users if user is not None]


def _tell_management(case: Case, manager, previous_owner, now: dt.datetime) -> None:
    notify.notify(
        users=management(case, [manager, previous_owner]), case=case, urgent=True, now=now,
        subject=_("[cxloop] MAJOR complaint %(number)s %(subject)s")
        % {"number": case.number, "subject": case.subject},
        body=_procedure_text(case, manager) + "\n\n" + case.description[:1000],
        dedupe_key=f"major:{case.pk}",
    )  # fmt: skip


def acknowledge(*, case: Case, actor, note: str = "", now: dt.datetime | None = None):
    """Management has taken charge: the ``management_notice`` clock is met (once)."""
    require(actor, "cases.work_case")
    now = now or timezone.now()
    with transaction.atomic():
        met = sla.meet(case=case, kind=SlaRule.Target.MANAGEMENT_NOTICE, at=now, actor=actor)
        if met is not None:
            record_event(
                case=case, kind=CaseEvent.Kind.MAJOR, actor=actor, at=now,
                body=note or _("Management is handling the complaint."),
                data={"acknowledged": True},
            )  # fmt: skip
    return met
