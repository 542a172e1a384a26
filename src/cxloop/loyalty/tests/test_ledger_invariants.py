"""Ledger invariants under random sequences of earn / redeem / expire / reverse / adjust and
replays of earlier operations (hypothesis).

After every step: balance == SUM(entry points) == the cached account balance, never
negative; the lots' remaining points add up to the balance; points owed == SUM(owed changes);
the balance and points owed follow the rules (credits pay the debt first, a refund takes what
is there); a replay changes nothing; redemptions take lots first to expire first and expiry
empties exactly the lots that are due.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cxloop.loyalty.models import LotUse, PointsAccount, PointsEntry, PointsLot
from cxloop.loyalty.selectors import balance_of
from cxloop.loyalty.services import (
    LoyaltyError,
    earn_for_order,
    earn_points,
    expire_due_lots,
    redeem_points,
    request_adjustment,
    reverse_for_order,
)
from cxloop.loyalty.tests import points_helpers as h

pytestmark = pytest.mark.django_db
_runs = itertools.count()
FAR = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)

steps = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.integers(1, 500), st.integers(0, 90)),
        st.tuples(st.just("order"), st.integers(1, 500), st.integers(0, 90)),
        st.tuples(st.just("redeem"), st.integers(1, 600), st.just(0)),
        st.tuples(st.just("reverse"), st.integers(0, 20), st.just(0)),
        st.tuples(st.just("adjust"), st.integers(-600, 600).filter(bool), st.just(0)),
        st.tuples(st.just("expire"), st.integers(0, 60), st.just(0)),
        st.tuples(st.just("replay"), st.integers(0, 50), st.just(0)),
    ),
    min_size=1,
    max_size=25,
)


class Ledger:
    """Runs the steps against the services and tracks the expected balance and debt."""

    def __init__(self):
        self.run = next(_runs)
        self.customer = h.customer()
        self.now = h.NOW
        self.balance = 0
        self.owed = 0
        self.orders = []  # (order, gross points) earned
        self.done = []  # callables of successful operations, for replays
        if not _has_rule():
            h.rule("1")

    def key(self, name: str) -> str:
        return f"inv{self.run}:{name}:{len(self.done)}"

    def credit(self, points: int) -> None:
        paid = min(self.owed, points)
        self.owed -= paid
        self.balance += points - paid

    def step(self, kind: str, amount: int, days: int) -> None:
        getattr(self, f"do_{kind}")(amount, days)

    def do_earn(self, points: int, days: int) -> None:
        key, expires = self.key("earn"), self.now + dt.timedelta(days=days)
        op = lambda: earn_points(  # noqa: E731
            customer=self.customer,
            points=points,
            idempotency_key=key,
            reason="r",
            source="test",
            expires_at=expires,
            now=self.now,
        )
        op()
        self.credit(points)
        self.done.append(op)

    def do_order(self, points: int, days: int) -> None:
        order = h.order(self.customer, amount_fen=points * 100, status="completed")
        op = lambda: earn_for_order(order=order, now=self.now)  # noqa: E731
        op()
        self.credit(points)
        self.orders.append((order, points))
        self.done.append(op)

    def do_redeem(self, points: int, _days: int) -> None:
        key = self.key("redeem")
        op = lambda: redeem_points(  # noqa: E731
            customer=self.customer, points=points, idempotency_key=key, reason="r", now=self.now
        )
        if points > self.balance:
            with pytest.raises(LoyaltyError, match="not enough points"):
                op()
            return
        entry = op()
        self.balance -= points
        self.done.append(op)
        check_fifo(entry)

    def do_reverse(self, index: int, _days: int) -> None:
        if not self.orders:
            return
        order, gross = self.orders.pop(index % len(self.orders))
        op = lambda: reverse_for_order(order=order, now=self.now)  # noqa: E731
        op()
        taken = min(gross, self.balance)
        self.balance -= taken
        self.owed += gross - taken
        self.done.append(op)

    def do_adjust(self, points: int, _days: int) -> None:
        key = self.key("adjust")
        op = lambda: request_adjustment(  # noqa: E731
            customer=self.customer,
            points=points,
            reason="fix",
            idempotency_key=key,
            actor=None,
            now=self.now,
        )
        if points < 0 and -points > self.balance:
            with pytest.raises(LoyaltyError):
                op()
            return
        op()
        if points > 0:
            self.credit(points)
        else:
            self.balance += points
        self.done.append(op)

    def do_expire(self, days: int, _unused: int) -> None:
        self.now += dt.timedelta(days=days)
        lots = PointsLot.objects.filter(account__customer=self.customer)
        due = lots.filter(expires_at__lte=self.now)
        later = dict(lots.exclude(expires_at__lte=self.now).values_list("pk", "remaining"))
        self.balance -= due.aggregate(s=Sum("remaining"))["s"] or 0
        expire_due_lots(now=self.now)
        assert not due.filter(remaining__gt=0).exists()
        assert dict(lots.filter(pk__in=later).values_list("pk", "remaining")) == later

    def do_replay(self, index: int, _days: int) -> None:
        if not self.done:
            return
        before = snapshot(self.customer)
        self.done[index % len(self.done)]()
        assert snapshot(self.customer) == before


def _has_rule() -> bool:
    from cxloop.loyalty.models import EarnRule

    return EarnRule.objects.filter(active=True).exists()


def snapshot(customer) -> tuple:
    entries = PointsEntry.objects.filter(account__customer=customer)
    lots = PointsLot.objects.filter(account__customer=customer)
    account = PointsAccount.objects.filter(customer=customer).first()
    return (
        entries.count(),
        LotUse.objects.filter(entry__in=entries).count(),
        tuple(lots.order_by("pk").values_list("remaining", flat=True)),
        (account.balance, account.points_owed) if account else None,
    )


def _lot_order(lot: PointsLot) -> tuple:
    return (lot.expires_at or FAR, lot.pk)


def check_fifo(entry: PointsEntry) -> None:
    """No lot that comes before the last one a debit used still holds points."""
    used = [use.lot for use in entry.lot_uses.select_related("lot")]
    if not used:
        return
    last = max(_lot_order(lot) for lot in used)
    lots = PointsLot.objects.filter(account=entry.account, remaining__gt=0)
    assert all(_lot_order(lot) >= last for lot in lots)


def check_invariants(ledger: Ledger) -> None:
    customer = ledger.customer
    account = PointsAccount.objects.filter(customer=customer).first()
    entries = PointsEntry.objects.filter(account__customer=customer)
    total = entries.aggregate(s=Sum("points"), o=Sum("owed_change"))
    lots = PointsLot.objects.filter(account__customer=customer).aggregate(s=Sum("remaining"))
    balance = balance_of(customer=customer)
    assert balance == (total["s"] or 0) == (lots["s"] or 0) == ledger.balance
    assert balance >= 0 and not entries.filter(balance_after__lt=0).exists()
    if account is not None:
        assert account.balance == balance
        assert account.points_owed == (total["o"] or 0) == ledger.owed >= 0
        last = entries.order_by("-id").first()
        assert last is None or last.balance_after == balance


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps)
# A refund of spent points, then credits paying the debt off, then a replay of the refund.
@example(
    steps=[
        ("order", 100, 0),
        ("redeem", 80, 0),
        ("reverse", 0, 0),
        ("earn", 50, 10),
        ("adjust", 60, 0),
        ("replay", 2, 0),
        ("expire", 30, 0),
    ]
)
def test_random_operation_sequences_keep_the_ledger_exact(steps):
    ledger = Ledger()
    for kind, amount, days in steps:
        ledger.step(kind, amount, days)
        check_invariants(ledger)
