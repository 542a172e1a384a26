"""Expiry: what is left of each lot past its ``expires_at`` leaves the balance.

Each lot is expired by one entry with the key ``lot:<id>:expire``, in its own transaction
(durable: a run must not sit inside a caller's transaction holding every account's lock),
so running the job twice, or on two workers at once, expires nothing twice. Lots go first to
expire first; redemptions consume lots in the same order, so what expires is what was not
spent. Only lots that still hold points are read (a partial index on ``expires_at``).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from cxloop.loyalty.ledger import Operation, post
from cxloop.loyalty.models import PointsEntry, PointsLot

BATCH = 500


def expire_key(lot: PointsLot) -> str:
    return f"lot:{lot.pk}:expire"


def due_lots(*, now: dt.datetime, limit: int = BATCH):
    return (
        PointsLot.objects.filter(remaining__gt=0, expires_at__lte=now)
        .select_related("account__customer")
        .order_by("expires_at", "id")[:limit]
    )


def expire_lot(*, lot: PointsLot, now: dt.datetime) -> PointsEntry | None:
    """Expire what is left of ``lot`` (None: nothing was left)."""
    op = Operation(
        kind=PointsEntry.Kind.EXPIRE, customer=lot.account.customer, points=0,
        key=expire_key(lot), reason="points expired", source="expiry", first_lot=lot,
        mode="lot", details={"lot": lot.pk, "expires_at": lot.expires_at.isoformat()}, now=now,
    )  # fmt: skip
    with transaction.atomic(durable=True):
        return post(op)


def expire_due_lots(*, now: dt.datetime, limit: int | None = None) -> int:
    """Expire every lot due at ``now``; returns how many expire entries were written."""
    written = 0
    while True:
        batch = list(due_lots(now=now))
        if not batch:
            return written
        before = written
        for lot in batch:
            entry = expire_lot(lot=lot, now=now)
            written += entry is not None and not entry.replayed
            if limit is not None and written >= limit:
                return written
        if written == before:  # nothing left to do in what we read: do not spin
            return written
