"""The points services: earn, redeem, idempotency, rules and campaigns, refunds and points
owed, expiry, rewards, adjustments with approval, audit rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from cxloop.core.models import AuditLog
from cxloop.core.services import set_setting
from cxloop.customers.services import upsert_order
from cxloop.loyalty import earning
from cxloop.loyalty.models import (
    Adjustment,
    AppendOnlyError,
    LotUse,
    PointsAccount,
    PointsEntry,
    PointsLot,
)
from cxloop.loyalty.selectors import balance_of, ledger_sum
from cxloop.loyalty.services import (
    LoyaltyError,
    add_months,
    decide_adjustment,
    earn_for_order,
    earn_points,
    expire_due_lots,
    redeem_points,
    redeem_reward,
    request_adjustment,
    reverse_for_order,
)
from cxloop.loyalty.tests import points_helpers as h

pytestmark = pytest.mark.django_db


def _earn(customer, points, key, **kw):
    return earn_points(
        customer=customer, points=points, idempotency_key=key, reason="test", source="test", **kw
    )


def _redeem(customer, points, key, **kw):
    return redeem_points(customer=customer, points=points, idempotency_key=key, reason="t", **kw)


def _account(customer) -> PointsAccount:
    return PointsAccount.objects.get(customer=customer)


# --- earn, redeem, idempotency -------------------------------------------------------------


def test_earn_and_redeem_keep_balance_equal_to_ledger_sum():
    c = h.customer()
    first = _earn(c, 300, "k1")
    assert (first.kind, first.points, first.balance_after) == ("earn", 300, 300)
    spent = _redeem(c, 120, "k2")
    assert (spent.points, spent.balance_after) == (-120, 180)
    assert balance_of(customer=c) == ledger_sum(customer=c) == 180
    lot = PointsLot.objects.get(entry=first)
    assert (lot.points, lot.remaining) == (300, 180)
    assert LotUse.objects.get(entry=spent).points == 120


def test_balance_of_a_customer_without_account_is_zero():
    assert balance_of(customer=h.customer()) == 0


def test_same_key_twice_returns_first_entry_without_second_effect():
    c = h.customer()
    first = _earn(c, 50, "same")
    again = _earn(c, 50, "same")
    assert again.pk == first.pk and again.replayed and not first.replayed
    assert balance_of(customer=c) == 50
    assert PointsEntry.objects.count() == 1
    assert AuditLog.objects.filter(action="loyalty.points.earn").count() == 1


def test_same_key_with_different_arguments_is_an_error():
    c, other = h.customer(), h.customer()
    _earn(c, 50, "k")
    with pytest.raises(LoyaltyError) as error:
        _earn(c, 51, "k")
    assert "idempotency_key" in error.value.errors
    with pytest.raises(LoyaltyError):
        _earn(other, 50, "k")
    with pytest.raises(LoyaltyError):
        _redeem(c, 50, "k")
    assert balance_of(customer=other) == 0


def test_replay_with_another_reason_is_the_same_operation():
    c = h.customer()
    first = _earn(c, 50, "k")
    again = earn_points(customer=c, points=50, idempotency_key="k", reason="其他", source="test")
    assert again.pk == first.pk


def test_redeem_more_than_balance_is_refused_and_writes_nothing():
    c = h.customer()
    _earn(c, 100, "k1")
    with pytest.raises(LoyaltyError, match="not enough points") as error:
        _redeem(c, 101, "k2")
    assert "points" in error.value.errors
    assert balance_of(customer=c) == 100 and PointsEntry.objects.count() == 1


@pytest.mark.parametrize("points", [0, -5, 1.5, True, "10", None, 10**10])
def test_bad_points_are_refused(points):
    with pytest.raises(LoyaltyError) as error:
        _earn(h.customer(), points, "k")
    assert "points" in error.value.errors


def test_missing_key_and_reason_are_field_errors():
    c = h.customer()
    with pytest.raises(LoyaltyError) as error:
        _earn(c, 5, "  ")
    assert "idempotency_key" in error.value.errors
    with pytest.raises(LoyaltyError) as error:
        earn_points(customer=c, points=5, idempotency_key="k", reason=" ", source="x")
    assert "reason" in error.value.errors


def test_actor_needs_change_points(outsider, analyst, teammate):
    c = h.customer()
    for user in (outsider, analyst):
        with pytest.raises(PermissionDenied):
            _earn(c, 5, f"k-{user.username}", actor=user)
    entry = _earn(c, 5, "k-team", actor=teammate)
    assert entry.actor == teammate
    audit = AuditLog.objects.get(action="loyalty.points.earn")
    assert audit.actor == teammate and audit.after["points"] == 5


def test_entries_are_append_only():
    entry = _earn(h.customer(), 5, "k")
    entry.points = 500
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()


def test_database_refuses_a_negative_balance_after():
    c = h.customer()
    entry = _earn(c, 5, "k")
    with pytest.raises(IntegrityError), transaction.atomic():
        PointsEntry.objects.create(
            account=entry.account,
            kind="redeem",
            points=-10,
            balance_after=-5,
            idempotency_key="bad",
            fingerprint="x",
            reason="x",
        )


def test_lots_are_consumed_first_to_expire_first():
    c = h.customer()
    late = _earn(c, 100, "late", expires_at=h.NOW + dt.timedelta(days=300))
    never = _earn(c, 100, "never", expires_at=None)
    soon = _earn(c, 100, "soon", expires_at=h.NOW + dt.timedelta(days=10))
    set_setting(key="points_expiry_months", value=0, actor=None)
    forever = _earn(c, 100, "forever")  # months 0: never expires
    assert PointsLot.objects.get(entry=forever).expires_at is None
    spent = _redeem(c, 150, "spend")
    uses = {u.lot.entry_id: u.points for u in LotUse.objects.filter(entry=spent)}
    assert uses == {soon.pk: 100, late.pk: 50}
    assert never.lot.expires_at is not None  # the default: 24 months


def test_default_expiry_is_the_setting_in_months():
    c = h.customer()
    entry = _earn(c, 10, "k", now=h.NOW)
    assert entry.lot.expires_at == add_months(h.NOW, 24)
    assert add_months(dt.datetime(2026, 8, 31, 4, tzinfo=dt.UTC), 6).day == 28  # Feb 2027


# --- earn on orders: rules, campaigns --------------------------------------------------------


def test_earn_for_order_uses_the_rule_and_campaign_multipliers(monkeypatch):
    c = h.customer()
    h.rule("1")
    h.rule("2", level="gold", priority=5)
    h.campaign("1.5")
    h.campaign("3", store="other store")  # another store: does not count
    monkeypatch.setattr(earning, "current_level_code", lambda customer: "gold")
    o = h.order(c, amount_fen=12_345, status="completed", store="上海店")
    entry = earn_for_order(order=o)
    # 123.45 × 2 × 1.5 = 370.35 → 370
    assert entry.points == 370 and entry.idempotency_key == f"order:{o.pk}:earn"
    assert entry.order == o and entry.details["multiplier"] == "1.50"
    assert earn_for_order(order=o).pk == entry.pk  # once per order


def test_earn_rule_priority_then_specificity(monkeypatch):
    any_rule = h.rule("1", priority=1)
    h.rule("5", category="shoes", priority=1)
    monkeypatch.setattr(earning, "current_level_code", lambda customer: None)
    assert earning.matching_rule(level_code=None, category=None) == any_rule
    assert earning.matching_rule(level_code=None, category="shoes").points_per_yuan == 5
    top = h.rule("0.5", priority=9)
    assert earning.matching_rule(level_code=None, category="shoes") == top
    assert earning.matching_rule(level_code="silver", category=None) == top


def test_order_without_rule_or_not_completed_earns_nothing():
    c = h.customer()
    assert earn_for_order(order=h.order(c, status="completed")) is None
    h.rule("1")
    assert earn_for_order(order=h.order(c, status="delivered")) is None
    assert not PointsEntry.objects.exists()


def test_completed_order_upsert_earns_and_refund_reverses():
    c = h.customer(external_id="C-1")
    h.rule("1")
    data = {
        "external_id": "O-1",
        "customer_external_id": "C-1",
        "amount_fen": "25000",
        "placed_at": "2026-03-01 10:00",
        "status": "completed",
    }
    upsert_order(data=data, actor=None)
    assert balance_of(customer=c) == 250
    upsert_order(data=data, actor=None)  # unchanged: nothing
    assert PointsEntry.objects.count() == 1
    upsert_order(data={**data, "status": "refunded"}, actor=None)
    assert balance_of(customer=c) == 0
    assert list(PointsEntry.objects.values_list("kind", flat=True)) == ["reverse", "earn"]


# --- refunds and points owed -------------------------------------------------------------------


def test_refund_after_spending_records_points_owed_paid_by_next_earning():
    c = h.customer()
    h.rule("1")
    o = h.order(c, amount_fen=10_000, status="completed")
    earn_for_order(order=o)
    _earn(c, 20, "bonus")
    _redeem(c, 90, "spend")  # 30 left
    o.status = "refunded"
    o.save()
    reversal = reverse_for_order(order=o)
    assert (reversal.points, reversal.owed_change, reversal.balance_after) == (-30, 70, 0)
    account = _account(c)
    assert (account.balance, account.points_owed) == (0, 70)
    assert reverse_for_order(order=o).pk == reversal.pk  # once
    paid = _earn(c, 100, "next")
    assert (paid.points, paid.owed_change, paid.balance_after) == (30, -70, 30)
    account.refresh_from_db()
    assert (account.balance, account.points_owed) == (30, 0)
    assert PointsLot.objects.get(entry=paid).remaining == 30


def test_reversal_takes_the_orders_own_lot_first():
    c = h.customer()
    h.rule("1")
    _earn(c, 50, "older", expires_at=h.NOW)
    o = h.order(c, amount_fen=4_000, status="completed")
    earned = earn_for_order(order=o)
    reversal = reverse_for_order(order=o)
    assert [(u.lot.entry_id, u.points) for u in reversal.lot_uses.all()] == [(earned.pk, 40)]
    assert balance_of(customer=c) == 50 and _account(c).points_owed == 0


def test_reversing_an_order_that_earned_nothing_is_none():
    assert reverse_for_order(order=h.order(h.customer(), status="refunded")) is None


# --- expiry ------------------------------------------------------------------------------------


def test_expiry_takes_what_is_left_of_due_lots_once():
    c = h.customer()
    due = _earn(c, 100, "due", expires_at=h.NOW - dt.timedelta(days=1))
    _earn(c, 100, "later", expires_at=h.NOW + dt.timedelta(days=1))
    _redeem(c, 30, "spend")  # from the due lot
    assert expire_due_lots(now=h.NOW) == 1
    expired = PointsEntry.objects.get(kind="expire")
    assert expired.points == -70 and expired.idempotency_key == f"lot:{due.lot.pk}:expire"
    assert balance_of(customer=c) == 100 == ledger_sum(customer=c)
    assert expire_due_lots(now=h.NOW) == 0
    assert expire_due_lots(now=h.NOW + dt.timedelta(days=2)) == 1
    assert balance_of(customer=c) == 0


def test_expiry_task_runs_the_job():
    from cxloop.loyalty.tasks import expire_points

    c = h.customer()
    _earn(c, 10, "old", expires_at=h.NOW)
    expire_points.call_local()
    assert balance_of(customer=c) == 0


# --- rewards -----------------------------------------------------------------------------------


def test_redeem_reward_takes_stock_and_points_once():
    c = h.customer()
    _earn(c, 500, "k")
    gift = h.reward(200, stock=1)
    first = redeem_reward(customer=c, reward=gift, idempotency_key="r1")
    assert redeem_reward(customer=c, reward=gift, idempotency_key="r1").pk == first.pk
    gift.refresh_from_db()
    assert gift.stock == 0 and balance_of(customer=c) == 300
    assert first.entry.reward == gift and first.entry.points == -200
    with pytest.raises(LoyaltyError, match="out of stock"):
        redeem_reward(customer=c, reward=gift, idempotency_key="r2")
    assert balance_of(customer=c) == 300


def test_redeem_reward_without_enough_points_keeps_the_stock():
    c = h.customer()
    _earn(c, 50, "k")
    gift = h.reward(200, stock=3)
    with pytest.raises(LoyaltyError, match="not enough points"):
        redeem_reward(customer=c, reward=gift, idempotency_key="r1")
    gift.refresh_from_db()
    assert gift.stock == 3


def test_unlimited_and_inactive_rewards():
    c = h.customer()
    _earn(c, 500, "k")
    unlimited = h.reward(100)
    redeem_reward(customer=c, reward=unlimited, idempotency_key="r1")
    unlimited.refresh_from_db()
    assert unlimited.stock is None
    with pytest.raises(LoyaltyError):
        redeem_reward(customer=c, reward=h.reward(10, active=False), idempotency_key="r2")


# --- adjustments -------------------------------------------------------------------------------


def test_adjustment_within_threshold_applies_at_once(teammate):
    c = h.customer()
    row = request_adjustment(
        customer=c, points=1000, reason="goodwill", idempotency_key="a1", actor=teammate
    )
    assert row.status == Adjustment.Status.APPROVED and row.entry.points == 1000
    assert balance_of(customer=c) == 1000
    down = request_adjustment(
        customer=c, points=-400, reason="typo", idempotency_key="a2", actor=teammate
    )
    assert down.entry.points == -400 and balance_of(customer=c) == 600
    assert AuditLog.objects.filter(action="loyalty.adjustment.apply").count() == 2


def test_adjustment_above_threshold_waits_for_another_approver(teammate, owner):
    c = h.customer()
    row = request_adjustment(
        customer=c, points=1001, reason="big", idempotency_key="a1", actor=owner
    )
    assert row.status == Adjustment.Status.PENDING and row.entry is None
    assert balance_of(customer=c) == 0
    with pytest.raises(PermissionDenied):
        decide_adjustment(adjustment=row, actor=teammate, approve=True)
    with pytest.raises(LoyaltyError, match="own request"):
        decide_adjustment(adjustment=row, actor=owner, approve=True)


def test_approve_applies_and_second_decision_is_refused(teammate, owner, django_user_model):
    from django.contrib.auth.models import Group

    other = django_user_model.objects.create_user(username="boss2", password="x")
    other.groups.add(Group.objects.get(name="cx_manager"))
    c = h.customer()
    row = request_adjustment(
        customer=c, points=5000, reason="big", idempotency_key="a1", actor=teammate
    )
    decide_adjustment(adjustment=row, actor=owner, approve=True)
    row.refresh_from_db()
    assert row.status == "approved" and row.decided_by == owner and row.entry.points == 5000
    assert balance_of(customer=c) == 5000
    with pytest.raises(LoyaltyError, match="already been decided"):
        decide_adjustment(adjustment=row, actor=other, approve=False, note="no")


def test_reject_needs_a_note_and_writes_no_entry(teammate, owner):
    c = h.customer()
    row = request_adjustment(
        customer=c, points=-5000, reason="x", idempotency_key="a1", actor=teammate
    )
    with pytest.raises(LoyaltyError) as error:
        decide_adjustment(adjustment=row, actor=owner, approve=False)
    assert "note" in error.value.errors
    decide_adjustment(adjustment=row, actor=owner, approve=False, note="no basis")
    row.refresh_from_db()
    assert row.status == "rejected" and row.entry is None and not PointsEntry.objects.exists()


def test_approving_a_deduction_larger_than_the_balance_keeps_it_pending(teammate, owner):
    c = h.customer()
    row = request_adjustment(
        customer=c, points=-5000, reason="x", idempotency_key="a1", actor=teammate
    )
    with pytest.raises(LoyaltyError, match="not enough points"):
        decide_adjustment(adjustment=row, actor=owner, approve=True)
    row.refresh_from_db()
    assert row.status == "pending"


def test_adjustment_threshold_is_a_setting(teammate):
    set_setting(key="loyalty_adjustment_approval_points", value=10, actor=None)
    row = request_adjustment(
        customer=h.customer(), points=11, reason="x", idempotency_key="a", actor=teammate
    )
    assert row.status == "pending"


def test_adjustment_key_replay_and_misuse(teammate):
    c = h.customer()
    row = request_adjustment(customer=c, points=5, reason="x", idempotency_key="a", actor=teammate)
    again = request_adjustment(
        customer=c, points=5, reason="x", idempotency_key="a", actor=teammate
    )
    assert again.pk == row.pk and balance_of(customer=c) == 5
    with pytest.raises(LoyaltyError):
        request_adjustment(customer=c, points=6, reason="x", idempotency_key="a", actor=teammate)
    with pytest.raises(LoyaltyError) as error:
        request_adjustment(customer=c, points=0, reason="x", idempotency_key="b", actor=teammate)
    assert "points" in error.value.errors


def test_large_import_batch_books_points_after_commit(django_capture_on_commit_callbacks):
    from cxloop.customers.services import bulk_upsert_orders

    c = h.customer(external_id="C-big")
    h.rule("1")
    rows = [
        {
            "external_id": f"B-{n}",
            "customer_external_id": "C-big",
            "amount_fen": "1000",
            "placed_at": "2026-03-01 10:00",
            "status": "completed",
        }
        for n in range(60)
    ]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        bulk_upsert_orders(rows=rows, actor=None)
    assert balance_of(customer=c) == 0 and callbacks  # nothing inside the batch
    for callback in callbacks + callbacks:  # the queue (immediate in tests), and a re-run
        callback()
    assert balance_of(customer=c) == 600 and PointsEntry.objects.count() == 60
