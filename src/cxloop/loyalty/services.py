"""Writes on the points ledger — the functions views, the API, receivers, tasks and the other
loyalty modules (levels, referrals, stars) call. Every one takes keyword-only arguments, an
``idempotency_key`` (the same key twice: the first entry comes back, nothing happens twice)
and raises ``LoyaltyError`` (``errors`` per field) for anything a user or client can get wrong.

- ``earn_points`` / ``redeem_points``: the two primitives (here);
- ``earn_for_order`` / ``reverse_for_order``: points for a completed order, taken back on a
  refund (``earning.py``);
- ``redeem_reward``: a catalogue reward for points, stock taken atomically (``redeeming.py``);
- ``expire_due_lots``: the daily expiry, first to expire first (``expiry.py``);
- ``request_adjustment`` / ``decide_adjustment``: manual corrections with approval above the
  threshold (``adjusting.py``).

The ledger rules themselves (locking, lots, points owed) are in ``ledger.py``.
"""

from __future__ import annotations

import calendar
import datetime as dt

from django.utils import timezone

from cxloop.core.roles import require
from cxloop.core.settings_registry import POINTS_EXPIRY_MONTHS, get_setting
from cxloop.loyalty.ledger import (
    REASON_MAX,
    SOURCE_MAX,
    LoyaltyError,
    Operation,
    clean_key,
    clean_points,
    clean_text,
    post,
)
from cxloop.loyalty.models import PointsEntry
from cxloop.loyalty.selectors import balance_of

__all__ = [
    "LoyaltyError",
    "balance_of",
    "decide_adjustment",
    "default_expiry",
    "earn_for_order",
    "earn_points",
    "expire_due_lots",
    "redeem_points",
    "redeem_reward",
    "request_adjustment",
    "reverse_for_order",
]

CHANGE_PERM = "loyalty.change_points"


def earn_points(
    *, customer, points: int, idempotency_key: str, reason: str, source: str, actor=None,
    order=None, expires_at: dt.datetime | None = None, campaign=None, details: dict | None = None,
    now: dt.datetime | None = None,
) -> PointsEntry:  # fmt: skip
    """Credit ``points`` (> 0) as a new lot expiring at ``expires_at`` (default: the
    ``points_expiry_months`` setting from now). Points owed are paid off first."""
    if actor is not None:
        require(actor, CHANGE_PERM)
    now = now or timezone.now()
    op = Operation(
        kind=PointsEntry.Kind.EARN, customer=customer, points=clean_points(points),
        key=clean_key(idempotency_key),
        reason=clean_text(reason, name="reason", max_length=REASON_MAX, required=True),
        source=clean_text(source, name="source", max_length=SOURCE_MAX, required=False),
        actor=actor, order=order, campaign=campaign, details=details or {}, mode="credit",
        now=now,
    )  # fmt: skip
    # An explicit expiry is part of what the key stands for; the default one is not: it moves
    # with the clock, and a retry tomorrow is still the same operation.
    op.expires_at = expires_at if expires_at is not None else default_expiry(now)
    op.expiry_in_key = expires_at is not None
    return post(op)


def redeem_points(
    *, customer, points: int, idempotency_key: str, reason: str, actor=None, reward=None,
    source: str = "", now: dt.datetime | None = None,
) -> PointsEntry:  # fmt: skip
    """Debit ``points`` (> 0), first-to-expire lots first; ``LoyaltyError`` when the balance
    is short ("not enough points …")."""
    if actor is not None:
        require(actor, CHANGE_PERM)
    op = Operation(
        kind=PointsEntry.Kind.REDEEM, customer=customer, points=clean_points(points),
        key=clean_key(idempotency_key),
        reason=clean_text(reason, name="reason", max_length=REASON_MAX, required=True),
        source=clean_text(source, name="source", max_length=SOURCE_MAX, required=False),
        actor=actor, reward=reward, mode="strict", now=now,
    )  # fmt: skip
    return post(op)


def default_expiry(now: dt.datetime | None = None) -> dt.datetime | None:
    """When points earned at ``now`` expire: ``points_expiry_months`` later (None: never).

    Counted in Asia/Shanghai calendar months, the end of a shorter month when the day is
    missing (earned 31 Aug → expire 28/29 Feb)."""
    months = get_setting(POINTS_EXPIRY_MONTHS)
    if not months:
        return None
    return add_months(now or timezone.now(), months)


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    local = timezone.localtime(moment)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


# Imported last: these modules use the primitives above.
from cxloop.loyalty.adjusting import decide_adjustment, request_adjustment  # noqa: E402
from cxloop.loyalty.earning import earn_for_order, reverse_for_order  # noqa: E402
from cxloop.loyalty.expiry import expire_due_lots  # noqa: E402
from cxloop.loyalty.redeeming import redeem_reward  # noqa: E402
