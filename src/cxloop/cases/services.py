"""Writes on cases: create, change details, assign, merge, escalate. Status moves are in
``lifecycle.py``. Views, the API, the CLI and the worker call these same functions, so the
``CaseEvent`` row, the SLA clocks and the notifications can't be skipped.

Every function takes keyword-only arguments and raises ``CaseError`` (a ValueError whose
``field_errors`` name the offending fields) for anything a user or client can get wrong.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cxloop.cases import routing, signals, sla
from cxloop.cases.events import record_event
from cxloop.cases.models import Case, CaseEvent, Category, Channel, Severity, Tier
from cxloop.core.roles import require
from cxloop.core.settings_registry import MAJOR_COMPLAINT_AMOUNT_FEN, get_setting
from cxloop.customers.validation import Invalid, parse_email, parse_phone

MAX_AMOUNT_FEN = 10_000_000_000  # ¥100 million: beyond it is a typing error
SLA_FIELDS = ("severity", "tier", "channel", "category", "department", "is_major")
EDITABLE = (
    "subject", "description", "severity", "category", "channel", "amount_fen", "media_risk",
    "contact_name", "contact_phone", "contact_email", "region", "store", "order_ref", "tier",
)  # fmt: skip


class CaseError(ValueError):
    """Bad input or a move the case's state does not allow; ``field_errors`` per field."""

    def __init__(self, message: str, field_errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


# --- create --------------------------------------------------------------------------------


def create_case(
    *,
    channel: str,
    subject: str,
    description: str = "",
    actor=None,
    customer=None,
    contact_name: str = "",
    contact_phone: str = "",
    contact_email: str = "",
    category: Category | None = None,
    severity: str = Severity.GENERAL,
    amount_fen: int = 0,
    media_risk: bool = False,
    region: str = "",
    store: str = "",
    order_ref: str = "",
    external_ref: str = "",
    source_response=None,
    now: dt.datetime | None = None,
    auto_assign: bool = True,
) -> Case:
    """Open a case from any channel: deadlines set, routed, repeat and major checks done."""
    if actor is not None:
        require(actor, "cases.add_case")
    now = now or timezone.now()
    fields = _clean_new(
        channel=channel, subject=subject, description=description, severity=severity,
        amount_fen=amount_fen, contact_phone=contact_phone, contact_email=contact_email,
        contact_name=contact_name, customer=customer,
    )  # fmt: skip
    case = Case(
        **fields,
        customer=customer,
        category=category,
        media_risk=bool(media_risk),
        region=region or (customer.region if customer else ""),
        store=store or (customer.store if customer else ""),
        order_ref=order_ref[:64],
        external_ref=external_ref[:100],
        source_response=source_response,
        tier=_tier_of(customer, now),
        created_by=actor if actor is not None and actor.is_authenticated else None,
        created_at=now,
        public_nonce=secrets.token_hex(8),
        number=f"T{secrets.token_hex(8)}",  # replaced by the number from the id below
    )
    case.is_major = is_major_complaint(amount_fen=case.amount_fen, media_risk=case.media_risk)
    with transaction.atomic():
        case.save()
        case.number = f"C{timezone.localdate(now):%Y%m%d}{case.pk:06d}"
        case.save(update_fields=["number"])
        record_event(
            case=case, kind=CaseEvent.Kind.CREATED, actor=actor, at=now, public=True,
            to_status=case.status, data={"channel": case.channel, "severity": case.severity},
        )  # fmt: skip
        if auto_assign:
            routing.route_case(case=case, now=now)
        sla.start_clocks(case=case, now=now)
        signals.case_created.send(Case, case=case, actor=actor)
    return case


def _clean_new(**raw: Any) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    subject = " ".join(str(raw["subject"] or "").split())[:200]
    description = str(raw["description"] or "").strip()
    if not subject:
        subject = description[:60]
    if not subject:
        errors["subject"] = [_("Describe the problem in a few words.")]
    if raw["channel"] not in Channel.values:
        errors["channel"] = [_("Choose a channel.")]
    if raw["severity"] not in Severity.values:
        errors["severity"] = [_("Choose general, important or urgent.")]
    amount = _clean_amount(raw["amount_fen"], errors)
    phone = _clean_contact(parse_phone, raw["contact_phone"], "contact_phone", errors)
    email = _clean_contact(parse_email, raw["contact_email"], "contact_email", errors)
    if raw["customer"] is None and not (phone or email or raw["contact_name"]):
        errors.setdefault("contact_phone", []).append(
            _("Give the customer, or at least a name, phone or email to reach them.")
        )
    if errors:
        raise CaseError(_("The case could not be saved."), errors)
    return {
        "channel": raw["channel"], "subject": subject, "description": description,
        "severity": raw["severity"], "amount_fen": amount, "contact_phone": phone,
        "contact_email": email, "contact_name": str(raw["contact_name"] or "").strip()[:100],
    }  # fmt: skip


def _clean_amount(value: Any, errors: dict) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        errors["amount_fen"] = [_("Enter the amount as a whole number of fen, 0 or more.")]
        return 0
    if value > MAX_AMOUNT_FEN:
        errors["amount_fen"] = [_("That amount is too large.")]
        return 0
    return value


def _clean_contact(parse, value: Any, name: str, errors: dict) -> str:
    if not str(value or "").strip():
        return ""
    try:
        return parse(value)
    except Invalid as bad:
        errors[name] = [_(bad.reason)]
        return ""


def _tier_of(customer, now: dt.datetime) -> str:
    if customer is None:
        return Tier.ORDINARY
    from cxloop.surveys.responses import SEGMENT_VIP, customer_segment

    return Tier.VIP if customer_segment(customer, now) == SEGMENT_VIP else Tier.ORDINARY


def is_major_complaint(*, amount_fen: int, media_risk: bool) -> bool:
    return bool(media_risk) or amount_fen >= get_setting(MAJOR_COMPLAINT_AMOUNT_FEN)


# --- change --------------------------------------------------------------------------------


def update_case(*, case: Case, actor, now: dt.datetime | None = None, **changes: Any) -> Case:
    """Change details; deadlines are recomputed when severity, tier, channel or category move."""
    require(actor, "cases.change_case")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")
    now = now or timezone.now()
    before = {name: _plain(getattr(case, name)) for name in (*changes, *SLA_FIELDS)}
    merged = {name: getattr(case, name) for name in EDITABLE} | changes
    fields = _clean_new(
        channel=merged["channel"], subject=merged["subject"], description=merged["description"],
        severity=merged["severity"], amount_fen=merged["amount_fen"],
        contact_phone=merged["contact_phone"], contact_email=merged["contact_email"],
        contact_name=merged["contact_name"], customer=case.customer,
    )  # fmt: skip
    if merged["tier"] not in Tier.values:
        raise CaseError(_("The case could not be saved."), {"tier": [_("Choose a tier.")]})
    for name in EDITABLE:
        setattr(case, name, fields.get(name, merged[name]))
    was_major = case.is_major
    case.is_major = is_major_complaint(amount_fen=case.amount_fen, media_risk=case.media_risk)
    after = {name: _plain(getattr(case, name)) for name in before}
    changed = {k: v for k, v in after.items() if before[k] != v}
    if not changed:
        return case
    with transaction.atomic():
        case.save()
        record_event(
            case=case, kind=CaseEvent.Kind.UPDATED, actor=actor, at=now,
            data={"before": {k: before[k] for k in changed}, "after": changed},
        )  # fmt: skip
        if set(changed) & set(SLA_FIELDS):
            sla.recompute(case=case, at=now, reason="details changed", actor=actor)
        if case.is_major and not was_major:
            signals.case_became_major.send(Case, case=case, actor=actor)
    return case


def _plain(value: Any) -> Any:
    return getattr(value, "pk", value)


def assign_case(
    *, case: Case, actor, owner=None, department=None, reason: str = "", now=None
) -> Case:
    """Give the case an owner and/or a department (定人); a new owner is told."""
    require(actor, "cases.work_case")
    if not actor.has_perm("cases.assign_case") and owner not in (None, actor):
        raise PermissionDenied  # handlers take cases themselves; managers hand them out
    if not case.is_open:
        raise CaseError(_("Only open cases can be assigned."))
    with transaction.atomic():
        routing.set_assignment(
            case=case, owner=owner, department=department, actor=actor, reason=reason,
            now=now or timezone.now(),
        )  # fmt: skip
    return case


def bulk_assign(*, cases, owner, actor, department=None) -> int:
    """Assign many cases at once; returns how many changed. One transaction per case."""
    done = 0
    for case in cases:
        if case.is_open and (case.owner_id != getattr(owner, "pk", None) or department):
            assign_case(case=case, actor=actor, owner=owner, department=department)
            done += 1
    return done


def merge_cases(*, duplicate: Case, survivor: Case, actor, now=None) -> Case:
    """The duplicate points to the survivor and stops its clocks; both timelines say so."""
    require(actor, "cases.work_case")
    if duplicate.pk == survivor.pk:
        raise CaseError(_("A case cannot be merged into itself."))
    if not survivor.is_open and survivor.status != Case.Status.RESOLVED:
        raise CaseError(_("Merge into an open case."))
    if duplicate.status in (Case.Status.MERGED, Case.Status.CLOSED):
        raise CaseError(_("This case is already merged or closed."))
    now = now or timezone.now()
    with transaction.atomic():
        previous = duplicate.status
        duplicate.status, duplicate.merged_into, duplicate.next_due_at = (
            Case.Status.MERGED,
            survivor,
            None,
        )
        duplicate.save(update_fields=["status", "merged_into", "next_due_at", "updated_at"])
        duplicate.targets.filter(met_at__isnull=True).update(next_check_at=None)
        record_event(
            case=duplicate, kind=CaseEvent.Kind.MERGED, actor=actor, at=now, public=True,
            from_status=previous, to_status=Case.Status.MERGED,
            data={"into": survivor.pk, "number": survivor.number},
        )  # fmt: skip
        record_event(
            case=survivor, kind=CaseEvent.Kind.MERGED, actor=actor, at=now,
            data={"from": duplicate.pk, "number": duplicate.number},
        )  # fmt: skip
    return survivor


def escalate_case(*, case: Case, actor, reason: str, now=None) -> Case:
    """One-click escalation to the supervisor (then the department head): answer in 2 hours."""
    require(actor, "cases.work_case")
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise CaseError(_("Say why."), {"reason": [_("Say why the case needs escalating.")]})
    if not case.is_open:
        raise CaseError(_("Only open cases can be escalated."))
    now = now or timezone.now()
    with transaction.atomic():
        case.escalation_level += 1
        case.save(update_fields=["escalation_level", "updated_at"])
        record_event(
            case=case, kind=CaseEvent.Kind.ESCALATED, actor=actor, at=now, body=reason,
            data={"level": case.escalation_level, "manual": True},
        )  # fmt: skip
        sla.start_escalation_answer(case=case, at=now, actor=actor)
        routing.notify_escalation(case=case, reason=reason, manual=True)
    return case
