"""The one write path of the points ledger: idempotent, serialised per customer, append-only.

``post`` runs an operation at most once per idempotency key:

1. a committed entry with the key is returned as it is (a replay; different arguments under
   the same key are an error);
2. otherwise, in a transaction (a savepoint when the caller has one open), the customer's
   ``PointsAccount`` row is locked with ``SELECT … FOR UPDATE`` — on PostgreSQL this lock is
   what serialises all writers of one customer; on SQLite the write transaction (IMMEDIATE)
   already does — the key is checked again (a twin may have committed while we waited), and
   the entry, its lot or lot uses, the cached balance and an audit row are written together;
3. a twin with the same key that committed first turns our INSERT into an IntegrityError on
   the unique key: the savepoint is rolled back and the twin's entry is returned.

Credits open a lot; debits consume lots by earliest expiry, then id. Credits pay off points
owed (after a refund of spent points) before they add to the balance.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cxloop.core.audit import record_audit
from cxloop.customers.models import Customer
from cxloop.loyalty.models import LotUse, PointsAccount, PointsEntry, PointsLot

K = PointsEntry.Kind
KEY_MAX = PointsEntry._meta.get_field("idempotency_key").max_length
REASON_MAX = PointsEntry._meta.get_field("reason").max_length
SOURCE_MAX = PointsEntry._meta.get_field("source").max_length
MAX_POINTS = 1_000_000_000  # beyond it is a typing error, and far from BIGINT
FIFO = (F("expires_at").asc(nulls_last=True), "id")


class LoyaltyError(ValueError):
    """Bad input or an operation the balance does not allow; ``errors`` per field."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}

    @property
    def field_errors(self) -> dict[str, list[str]]:  # the name CaseError uses
        return self.errors


@dataclass
class Operation:
    """What to write. ``points`` is the amount asked for, always positive."""

    kind: str
    customer: Customer
    points: int
    key: str
    reason: str
    source: str = ""
    actor: Any = None
    order: Any = None
    campaign: Any = None
    reward: Any = None
    expires_at: dt.datetime | None = None
    expiry_in_key: bool = True  # False when ``expires_at`` is a default computed from now
    details: dict = field(default_factory=dict)
    # debits: consume this lot first (a refund takes back from the order's own lot)
    first_lot: PointsLot | None = None
    # "credit" opens a lot; debits: "strict" refuses when the balance is short, "owe" takes
    # what there is and the rest becomes points owed (a refund), "lot" takes what is left of
    # ``first_lot`` (expiry; ``points`` is read under the lock then)
    mode: str = "strict"
    now: dt.datetime | None = None

    def fingerprint(self) -> str:
        # What the operation *is*. The reason and the actor describe it (a retry may come in
        # another language or from another worker), so they are not part of it.
        what = {
            "kind": self.kind, "customer": self.customer.pk,
            "points": None if self.mode == "lot" else self.points, "lot": _pk(self.first_lot),
            "source": self.source, "order": _pk(self.order),
            "campaign": _pk(self.campaign), "reward": _pk(self.reward),
            "expires_at": self.expires_at.timestamp()
            if self.expires_at and self.expiry_in_key else None,
        }  # fmt: skip
        return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def _pk(obj) -> int | None:
    return getattr(obj, "pk", None)


# --- validation ----------------------------------------------------------------------------


def clean_key(key: Any) -> str:
    key = str(key or "").strip()
    if not key:
        message = _("An idempotency key is required.")
        raise LoyaltyError(message, {"idempotency_key": [message]})
    if len(key) > KEY_MAX:
        raise LoyaltyError(
            _("The idempotency key is too long."),
            {"idempotency_key": [_("At most %(n)d characters.") % {"n": KEY_MAX}]},
        )
    return key


def clean_points(points: Any, *, name: str = "points") -> int:
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        message = _("Enter a whole number of points above 0.")
        raise LoyaltyError(message, {name: [message]})
    if points > MAX_POINTS:
        raise LoyaltyError(_("That is too many points."), {name: [_("That is too many points.")]})
    return points


def clean_text(value: Any, *, name: str, max_length: int, required: bool) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise LoyaltyError(_("Say why."), {name: [_("This field is required.")]})
    if len(text) > max_length:
        raise LoyaltyError(
            _("Too long."), {name: [_("At most %(n)d characters.") % {"n": max_length}]}
        )
    return text


# --- the write path ------------------------------------------------------------------------


class _Nothing(Exception):
    """An expiry found its lot already used up: nothing to write."""


def post(op: Operation) -> PointsEntry | None:
    """Write ``op`` once; a replay returns the first entry with ``entry.replayed = True``.

    None only for an expiry whose lot was used up meanwhile."""
    fingerprint = op.fingerprint()
    existing = _replay(op.key, fingerprint)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            account = _locked_account(op.customer)
            existing = _replay(op.key, fingerprint)  # a twin committed while we waited
            if existing is not None:
                return existing
            entry = _write(op, account, fingerprint)
    except _Nothing:
        return None
    except IntegrityError:
        existing = _replay(op.key, fingerprint)
        if existing is None:
            raise
        return existing
    entry.replayed = False
    return entry


def account_for(customer: Customer) -> PointsAccount:
    """The customer's account, created on first use (get_or_create survives a twin)."""
    account, _created = PointsAccount.objects.get_or_create(customer=customer)
    return account


def _locked_account(customer: Customer) -> PointsAccount:
    """The customer's account row, locked until the transaction ends (created if need be)."""
    locked = PointsAccount.objects.select_for_update()
    account = locked.filter(customer=customer).first()
    if account is None:
        account_for(customer)  # a savepoint: a twin creating it at once is fine
        account = locked.get(customer=customer)
    return account


def _replay(key: str, fingerprint: str) -> PointsEntry | None:
    # The common case is a miss: ask for two columns, load the entry only on a hit.
    found = list(
        PointsEntry.objects.filter(idempotency_key=key).values_list("pk", "fingerprint")[:1]
    )
    if not found:
        return None
    if found[0][1] != fingerprint:
        message = _("This idempotency key was already used for a different operation.")
        raise LoyaltyError(message, {"idempotency_key": [message]})
    entry = PointsEntry.objects.get(pk=found[0][0])
    entry.replayed = True
    return entry


def _write(op: Operation, account: PointsAccount, fingerprint: str) -> PointsEntry:
    now = op.now or timezone.now()
    if op.mode == "credit":
        entry = _credit(op, account, fingerprint, now)
    else:
        entry = _debit(op, account, fingerprint, now)
    account.updated_at = now
    account.save(update_fields=["balance", "points_owed", "updated_at"])
    after = {
        "customer": op.customer.pk, "points": entry.points, "balance_after": entry.balance_after,
        "owed_change": entry.owed_change, "idempotency_key": entry.idempotency_key,
        "reason": entry.reason,
    }  # fmt: skip
    record_audit(actor=op.actor, action=f"loyalty.points.{op.kind}", target=entry, after=after)
    return entry


def _entry(op: Operation, account, fingerprint: str, now, *, points: int, owed_change: int):
    account.balance += points
    account.points_owed += owed_change
    return PointsEntry.objects.create(
        account=account, kind=op.kind, points=points, balance_after=account.balance,
        owed_change=owed_change, idempotency_key=op.key, fingerprint=fingerprint,
        reason=op.reason, source=op.source, order=op.order, campaign=op.campaign,
        reward=op.reward, details=op.details, actor=_user(op.actor), created_at=now,
    )  # fmt: skip


def _user(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _credit(op: Operation, account, fingerprint: str, now) -> PointsEntry:
    # Points owed after a refund are paid off first; the lot records the whole credit and
    # the part that paid the debt as consumed by the entry itself.
    payoff = min(account.points_owed, op.points)
    entry = _entry(op, account, fingerprint, now, points=op.points - payoff, owed_change=-payoff)
    lot = PointsLot.objects.create(
        account=account, entry=entry, order=op.order, points=op.points,
        remaining=op.points - payoff, earned_at=now, expires_at=op.expires_at,
    )  # fmt: skip
    if payoff:
        LotUse.objects.create(entry=entry, lot=lot, points=payoff)
    return entry


def _debit(op: Operation, account, fingerprint: str, now) -> PointsEntry:
    if op.mode == "strict" and account.balance < op.points:
        message = _("There are not enough points: the balance is %(balance)d, %(points)d needed.")
        message = message % {"balance": account.balance, "points": op.points}
        raise LoyaltyError(message, {"points": [message]})
    lots = _lots_to_consume(op, account)
    if op.mode == "lot":
        wanted = sum(lot.remaining for lot in lots)
        if not wanted:
            raise _Nothing
    else:
        wanted = min(op.points, account.balance)
    uses = list(_consume(lots, wanted))
    taken = sum(points for _lot, points in uses)
    short = op.points - taken if op.mode == "owe" else 0
    entry = _entry(op, account, fingerprint, now, points=-taken, owed_change=short)
    for lot, points in uses:
        PointsLot.objects.filter(pk=lot.pk).update(remaining=F("remaining") - points)
    LotUse.objects.bulk_create([LotUse(entry=entry, lot=lot, points=p) for lot, p in uses])
    return entry


def _lots_to_consume(op: Operation, account) -> Iterable[PointsLot]:
    # The account lock is held, so no one else changes these lots under us.
    first = []
    if op.first_lot is not None:
        lot = PointsLot.objects.filter(pk=op.first_lot.pk, account=account).first()
        first = [lot] if lot is not None and lot.remaining > 0 else []
    if op.mode == "lot":
        return first
    rest = PointsLot.objects.filter(account=account, remaining__gt=0).order_by(*FIFO)
    if op.first_lot is not None:
        rest = rest.filter(~Q(pk=op.first_lot.pk))
    return _chain(first, rest.iterator(chunk_size=100))


def _chain(*iterables):
    for iterable in iterables:
        yield from iterable


def _consume(lots: Iterable[PointsLot], wanted: int):
    """(lot, points) pairs taking ``wanted`` points from ``lots`` in order."""
    for lot in lots:
        if wanted <= 0:
            return
        points = min(lot.remaining, wanted)
        if points > 0:
            wanted -= points
            yield lot, points
