"""Manual adjustments: a correction of a balance, up or down, with a reason.

Up to the setting ``loyalty_adjustment_approval_points`` (default 1000, either way) an
adjustment applies at once; more waits for someone with ``loyalty.approve_adjustment``, who is
never the person who asked. A decision is a conditional UPDATE on ``status = pending`` (of two
approvers at once one wins); approving writes the ``adjust`` entry in the same transaction, so
an approved adjustment always has its entry and a rejected or pending one never has.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cxloop.core.audit import record_audit, snapshot
from cxloop.core.roles import require
from cxloop.core.settings_registry import LOYALTY_ADJUSTMENT_APPROVAL_POINTS, get_setting
from cxloop.loyalty.ledger import (
    MAX_POINTS,
    REASON_MAX,
    LoyaltyError,
    Operation,
    account_for,
    clean_key,
    clean_text,
    post,
)
from cxloop.loyalty.models import Adjustment, PointsEntry

S = Adjustment.Status
APPROVE_PERM = "loyalty.approve_adjustment"
AUDITED = ("account", "points", "reason", "status", "decided_by", "decision_note", "entry")


def approval_threshold() -> int:
    return get_setting(LOYALTY_ADJUSTMENT_APPROVAL_POINTS)


def request_adjustment(
    *, customer, points: int, reason: str, idempotency_key: str, actor, now=None
) -> Adjustment:
    """Adjust by ``points`` (signed) at once when within the threshold, else queue it."""
    from cxloop.loyalty.services import CHANGE_PERM

    if actor is not None:
        require(actor, CHANGE_PERM)
    key = clean_key(idempotency_key)
    points = _clean_signed(points)
    reason = clean_text(reason, name="reason", max_length=REASON_MAX, required=True)
    if (existing := _by_key(key, customer, points)) is not None:
        return existing
    now = now or timezone.now()
    account = account_for(customer)
    within = abs(points) <= approval_threshold()
    user = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        row = Adjustment.objects.create(
            account=account, points=points, reason=reason, idempotency_key=key,
            status=S.APPROVED if within else S.PENDING, requested_by=user, requested_at=now,
            decided_at=now if within else None,
        )  # fmt: skip
        action = "loyalty.adjustment.apply" if within else "loyalty.adjustment.request"
        record_audit(actor=actor, action=action, target=row, after=snapshot(row, AUDITED))
        if within:
            _apply(row, customer, actor, now)
    row.replayed = False
    return row


def _clean_signed(points) -> int:
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        message = _("Enter a whole number of points, negative to take points away, not 0.")
        raise LoyaltyError(message, {"points": [message]})
    if abs(points) > MAX_POINTS:
        raise LoyaltyError(
            _("That is too many points."), {"points": [_("That is too many points.")]}
        )
    return points


def _by_key(key: str, customer, points: int) -> Adjustment | None:
    row = Adjustment.objects.filter(idempotency_key=key).select_related("account").first()
    if row is None:
        return None
    if row.account.customer_id != customer.pk or row.points != points:
        message = _("This idempotency key was already used for a different operation.")
        raise LoyaltyError(message, {"idempotency_key": [message]})
    row.replayed = True
    return row


def _apply(row: Adjustment, customer, actor, now) -> PointsEntry:
    op = Operation(
        kind=PointsEntry.Kind.ADJUST, customer=customer, points=abs(row.points),
        key=f"adjustment:{row.pk}", reason=row.reason, source="adjustment", actor=actor,
        details={"adjustment": row.pk, "requested_by": row.requested_by_id},
        mode="credit" if row.points > 0 else "strict", now=now,
    )  # fmt: skip
    entry = post(op)
    Adjustment.objects.filter(pk=row.pk).update(entry=entry)
    row.entry = entry
    return entry


def decide_adjustment(*, adjustment: Adjustment, actor, approve: bool, note: str = "", now=None):
    """Approve (and apply) or reject a pending adjustment, once, never one's own."""
    require(actor, APPROVE_PERM)
    if adjustment.requested_by_id is not None and adjustment.requested_by_id == actor.pk:
        raise LoyaltyError(_("Another approver must decide on your own request."))
    note = clean_text(note, name="note", max_length=300, required=not approve)
    now = now or timezone.now()
    status = S.APPROVED if approve else S.REJECTED
    before = snapshot(adjustment, AUDITED)
    with transaction.atomic():
        decided = Adjustment.objects.filter(pk=adjustment.pk, status=S.PENDING).update(
            status=status, decided_by=actor, decided_at=now, decision_note=note
        )
        if not decided:
            raise LoyaltyError(_("This request has already been decided."))
        adjustment.refresh_from_db()
        if approve:  # too few points for a deduction: LoyaltyError, and it stays pending
            _apply(adjustment, adjustment.account.customer, actor, now)
        verb = "approve" if approve else "reject"
        record_audit(
            actor=actor, action=f"loyalty.adjustment.{verb}", target=adjustment,
            before=before, after=snapshot(adjustment, AUDITED),
        )  # fmt: skip
    return adjustment
