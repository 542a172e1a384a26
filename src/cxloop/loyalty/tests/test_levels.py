"""Member levels: defaults, rolling spend, upgrade at once, downgrade only at night after the
grace period, history and audit rows, long-term rewards, benefits and member prices."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from cxloop.core.models import AuditLog
from cxloop.customers.models import Order
from cxloop.loyalty import levels
from cxloop.loyalty.level_models import CustomerLevel, Level, LongTermReward
from cxloop.loyalty.levels import (
    add_months,
    benefits_of,
    current_level_code,
    evaluate_customer,
    evaluate_levels,
    price_after_discount,
    rolling_spend,
)
from cxloop.loyalty.tests import level_helpers as h
from cxloop.loyalty.tests.level_helpers import level_setup  # noqa: F401  (autouse)

pytestmark = pytest.mark.django_db
YUAN = 100


def _code(customer) -> str | None:
    return current_level_code(customer)


def test_default_levels_follow_the_plans():
    rows = {lv.code: lv for lv in Level.objects.all()}
    assert rows["silver"].min_spend_fen == 2_000 * YUAN and rows["silver"].price_percent == 95
    assert rows["gold"].min_spend_fen == 5_000 * YUAN and rows["gold"].price_percent == 90
    assert rows["gold"].free_after_sales and not rows["silver"].free_after_sales
    assert rows["diamond"].min_spend_fen == 20_000 * YUAN
    assert all(lv.window_months == 12 for lv in rows.values())


def test_defaults_are_not_brought_back_after_a_manager_changed_them():
    Level.objects.filter(code="diamond").delete()
    from cxloop.loyalty.level_defaults import ensure_level_defaults

    assert ensure_level_defaults()["levels"] == 0
    assert not Level.objects.filter(code="diamond").exists()


def test_rolling_spend_counts_completed_orders_of_the_window_only():
    now = timezone.now()
    c = h.customer()
    h.order(c, amount_fen=100_000, placed_at=h.days_ago(10, now))
    h.order(c, amount_fen=50_000, placed_at=h.days_ago(300, now))
    h.order(c, amount_fen=70_000, placed_at=h.days_ago(400, now))  # outside 12 months
    h.order(c, amount_fen=90_000, status="refunded", placed_at=h.days_ago(5, now))
    h.order(c, amount_fen=80_000, status="cancelled", placed_at=h.days_ago(5, now))
    h.order(c, amount_fen=60_000, status="delivered", placed_at=h.days_ago(5, now))
    h.order(h.customer(), amount_fen=999_999, placed_at=h.days_ago(1, now))  # someone else
    assert rolling_spend(customer=c, now=now) == 150_000
    assert rolling_spend(customer=c, now=now, months=24) == 220_000


def test_spend_is_one_query_however_many_orders(django_assert_num_queries):
    c = h.customer()
    for day in range(30):
        h.order(c, amount_fen=1000, placed_at=h.days_ago(day))
    with django_assert_num_queries(1):
        spends = levels.spends_by_customer(now=timezone.now(), windows=[3, 12])
    assert spends[c.pk] == {3: 30_000, 12: 30_000}


def test_a_completed_order_upgrades_at_once_with_history_and_audit():
    c = h.customer()
    assert _code(c) is None
    h.complete_order(c, amount_fen=2_500 * YUAN)
    assert _code(c) == "silver"
    h.complete_order(c, amount_fen=3_000 * YUAN)
    assert _code(c) == "gold"
    rows = list(CustomerLevel.objects.filter(customer=c).order_by("since", "id"))
    assert [(r.level.code, r.reason, r.until is None) for r in rows] == [
        ("silver", "upgrade", False),
        ("gold", "upgrade", True),
    ]
    assert rows[1].rolling_spend_fen == 5_500 * YUAN
    audits = AuditLog.objects.filter(action="loyalty.level_changed", object_id=str(c.pk))
    assert [a.after["level"] for a in audits.order_by("id")] == ["silver", "gold"]
    assert audits.order_by("id").last().before == {"level": "silver"}


def test_an_order_that_is_not_completed_changes_nothing():
    c = h.customer()
    h.complete_order(c, amount_fen=9_000 * YUAN, status="delivered")
    assert _code(c) is None
    assert not CustomerLevel.objects.exists()


def test_only_one_current_row_per_customer():
    c = h.customer()
    silver = Level.objects.get(code="silver")
    now = timezone.now()
    CustomerLevel.objects.create(customer=c, level=silver, since=now, reason="upgrade")
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerLevel.objects.create(customer=c, level=silver, since=now, reason="upgrade")


def _gold_customer(now):
    c = h.customer()
    big = h.order(c, amount_fen=5_500 * YUAN, placed_at=h.days_ago(20, now))
    evaluate_customer(customer=c, now=now)
    assert _code(c) == "gold"
    return c, big


def test_no_downgrade_outside_the_nightly_run():
    now = timezone.now()
    c, big = _gold_customer(now)
    Order.objects.filter(pk=big.pk).update(status="refunded")
    evaluate_customer(customer=c, now=now + dt.timedelta(days=90))  # e.g. after another order
    assert _code(c) == "gold"
    assert CustomerLevel.objects.get(customer=c, until__isnull=True).below_since is None


def test_downgrade_waits_for_the_grace_period_then_steps_down():
    now = timezone.now()
    c, big = _gold_customer(now)
    Order.objects.filter(pk=big.pk).update(amount_fen=2_500 * YUAN)  # now only silver spend
    first_night = now + dt.timedelta(days=1)
    report = evaluate_levels(now=first_night)
    assert report.marked == 1 and report.downgraded == 0
    assert _code(c) == "gold"
    evaluate_levels(now=first_night + dt.timedelta(days=29))
    assert _code(c) == "gold"  # 29 of the 30 days of grace
    report = evaluate_levels(now=first_night + dt.timedelta(days=30))
    assert report.downgraded == 1 and report.changed_customers == [c.pk]
    row = CustomerLevel.objects.get(customer=c, until__isnull=True)
    assert (row.level.code, row.reason, row.rolling_spend_fen) == ("silver", "downgrade", 250_000)
    assert AuditLog.objects.filter(action="loyalty.level_changed", after__level="silver").exists()


def test_spend_that_recovers_during_the_grace_clears_the_mark():
    now = timezone.now()
    c, big = _gold_customer(now)
    Order.objects.filter(pk=big.pk).update(status="refunded")
    evaluate_levels(now=now + dt.timedelta(days=1))
    assert CustomerLevel.objects.get(customer=c, until__isnull=True).below_since is not None
    h.order(c, amount_fen=6_000 * YUAN, placed_at=now + dt.timedelta(days=2))
    report = evaluate_levels(now=now + dt.timedelta(days=3))
    assert report.cleared == 1
    evaluate_levels(now=now + dt.timedelta(days=40))
    assert _code(c) == "gold"


def test_downgrade_below_every_level_leaves_a_row_without_level():
    now = timezone.now()
    c, big = _gold_customer(now)
    Order.objects.filter(pk=big.pk).update(status="refunded")
    evaluate_levels(now=now + dt.timedelta(days=1))
    evaluate_levels(now=now + dt.timedelta(days=32))
    row = CustomerLevel.objects.get(customer=c, until__isnull=True)
    assert row.level is None and row.reason == "downgrade" and row.member_since is None
    assert _code(c) is None


def test_the_nightly_run_is_idempotent_and_covers_every_chunk(monkeypatch):
    monkeypatch.setattr(levels, "CHUNK", 2)
    now = timezone.now()
    people = [h.customer() for _ in range(5)]
    for person in people:  # imported orders: no signal, the night finds them
        h.order(person, amount_fen=2_100 * YUAN, placed_at=h.days_ago(3, now))
    first = evaluate_levels(now=now)
    assert first.upgraded == 5
    assert all(_code(p) == "silver" for p in people)
    again = evaluate_levels(now=now)
    assert (again.upgraded, again.downgraded, again.marked, again.cleared) == (0, 0, 0, 0)
    assert CustomerLevel.objects.count() == 5


def test_a_concurrent_change_is_left_to_the_next_run():
    now = timezone.now()
    c, _big = _gold_customer(now)
    stale = CustomerLevel.objects.get(customer=c, until__isnull=True)
    levels.set_customer_level(customer=c, level=None, actor=None, note="test")
    decision = levels.Decision("downgrade", Level.objects.get(code="silver"), 0)
    assert levels._apply(c.pk, stale, decision, now) is False
    assert _code(c) is None


def test_staff_can_set_a_level_by_hand(owner):
    c = h.customer()
    diamond = Level.objects.get(code="diamond")
    row = levels.set_customer_level(customer=c, level=diamond, actor=owner, note="VIP 转入")
    assert (row.reason, row.actor, row.note) == ("manual", owner, "VIP 转入")
    assert AuditLog.objects.filter(action="loyalty.level_changed", actor=owner).exists()
    again = levels.set_customer_level(customer=c, level=diamond, actor=owner, note="again")
    assert again.pk == row.pk


# --- long-term rewards ------------------------------------------------------------------------


def _member_since(c, since: dt.datetime, code: str = "silver") -> None:
    levels.set_customer_level(
        customer=c, level=Level.objects.get(code=code), actor=None, note="", at=since
    )


def test_three_years_without_a_break_grant_the_lifetime_warranty_once():
    now = timezone.now()
    loyal, newer = h.customer(), h.customer()
    _member_since(loyal, add_months(now, -37))
    _member_since(loyal, add_months(now, -10), code="gold")  # a change of level is no break
    _member_since(newer, add_months(now, -30))
    assert levels.grant_long_term_rewards(now=now) == 1
    reward = LongTermReward.objects.get()
    assert reward.customer == loyal and reward.kind == "lifetime_warranty" and reward.years == 3
    assert levels.grant_long_term_rewards(now=now) == 0
    assert AuditLog.objects.filter(action="loyalty.long_term_reward_granted").count() == 1
    assert "Lifetime warranty" in benefits_of(loyal).benefits


def test_a_break_in_membership_restarts_the_years():
    now = timezone.now()
    c = h.customer()
    _member_since(c, add_months(now, -48))
    levels.set_customer_level(
        customer=c, level=None, actor=None, note="lapsed", at=add_months(now, -20)
    )
    _member_since(c, add_months(now, -19))
    assert levels.grant_long_term_rewards(now=now) == 0
    assert levels.grant_long_term_rewards(now=add_months(now, 18)) == 1


def test_the_reward_is_unique_per_kind():
    c = h.customer()
    LongTermReward.objects.create(
        customer=c, kind="lifetime_warranty", member_since=h.days_ago(9), years=3
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        LongTermReward.objects.create(
            customer=c, kind="lifetime_warranty", member_since=h.days_ago(9), years=3
        )


# --- benefits, prices, progress ---------------------------------------------------------------


def test_benefits_by_level():
    c = h.customer()
    none = benefits_of(c)
    assert (none.level, none.price_percent, none.free_after_sales) == (None, 100, False)
    _member_since(c, timezone.now(), code="gold")
    gold = benefits_of(c)
    assert (gold.price_percent, gold.free_after_sales) == (90, True)
    assert "免费售后服务" in gold.benefits


def test_member_prices():
    silver, gold = Level.objects.get(code="silver"), Level.objects.get(code="gold")
    assert price_after_discount(silver, 10_000) == 9_500
    assert price_after_discount(gold, 12_850) == 11_565
    assert price_after_discount(silver, 99) == 94  # 94.05 fen: rounded in the buyer's favour
    assert price_after_discount(None, 12_345) == 12_345
    with pytest.raises(ValueError):
        price_after_discount(silver, -1)


@given(amount=st.integers(min_value=0, max_value=10**13), percent=st.integers(1, 100))
def test_a_member_price_is_never_above_the_percentage(amount, percent):
    level = Level(code="x", name="x", rank=1, min_spend_fen=0, price_percent=percent)
    price = price_after_discount(level, amount)
    assert isinstance(price, int)
    assert price * 100 <= amount * percent < (price + 1) * 100
    assert price <= amount


def test_progress_to_the_next_level():
    now = timezone.now()
    c = h.customer()
    first = h.order(c, amount_fen=376_000, placed_at=add_months(now, -3))
    evaluate_customer(customer=c, now=now)
    progress = levels.progress_of(customer=c, now=now)
    assert progress.level.code == "silver" and progress.next_level.code == "gold"
    assert progress.needed_fen == 124_000
    assert progress.by == add_months(first.placed_at, 12).date()
    text = levels.describe_progress(progress)
    assert text == f"¥1,240.00 more by {progress.by.isoformat()} for 金卡会员"


def test_progress_without_orders_has_no_date():
    progress = levels.progress_of(customer=h.customer())
    assert progress.next_level.code == "silver" and progress.by is None
    assert levels.describe_progress(progress) == "¥2,000.00 more for 银卡会员"


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2026-01-31T10:00", 1, "2026-02-28T10:00"),
        ("2024-02-29T10:00", 12, "2025-02-28T10:00"),
        ("2026-03-15T01:00", -12, "2025-03-15T01:00"),
        ("2026-12-01T00:00", 1, "2027-01-01T00:00"),
    ],
)
def test_add_months_in_local_time(start, months, expected):
    moved = add_months(timezone.make_aware(dt.datetime.fromisoformat(start)), months)
    assert timezone.localtime(moved).replace(tzinfo=None) == dt.datetime.fromisoformat(expected)


@given(
    held=st.sampled_from([None, "silver", "gold", "diamond"]),
    spend=st.integers(min_value=0, max_value=3_000_000),
    below_days=st.one_of(st.none(), st.integers(0, 100)),
)
def test_no_downgrade_unless_nightly(held, spend, below_days):
    levels_ = sorted(
        [Level(code=c, name=c, rank=r, min_spend_fen=m) for c, r, m in
         (("silver", 10, 200_000), ("gold", 20, 500_000), ("diamond", 30, 2_000_000))],
        key=lambda lv: -lv.rank,
    )  # fmt: skip
    now = timezone.now()
    by_code = {lv.code: lv for lv in levels_}
    current = None
    if held is not None:
        below = now - dt.timedelta(days=below_days) if below_days is not None else None
        current = CustomerLevel(level=by_code[held], since=now, below_since=below)
    day = levels.decide(current=current, levels=levels_, spends={12: spend}, now=now,
                        nightly=False, grace_days=30)  # fmt: skip
    assert day.kind in ("upgrade", "clear", "none")
    night = levels.decide(current=current, levels=levels_, spends={12: spend}, now=now,
                          nightly=True, grace_days=30)  # fmt: skip
    if night.kind == "downgrade":
        assert below_days is not None and below_days >= 30
        assert levels._rank(night.level) < by_code[held].rank


# --- queue tasks ------------------------------------------------------------------------------


def test_the_nightly_task_reports_what_it_did():
    from cxloop.loyalty import level_tasks

    c = h.customer()
    h.order(c, amount_fen=2_100 * YUAN)
    assert level_tasks.evaluate_member_levels.call_local() == {
        "upgraded": 1, "downgraded": 0, "marked": 0, "long_term_granted": 0,
    }  # fmt: skip
    assert _code(c) == "silver"


def test_a_large_import_is_handled_by_the_queue_after_commit(django_capture_on_commit_callbacks):
    from cxloop.customers.services import bulk_upsert_orders

    people = [h.customer() for _ in range(3)]
    now = timezone.now()
    rows = [
        {"external_id": f"big-{i}", "customer_external_id": people[i % 3].external_id,
         "amount_fen": 4_000 * YUAN, "status": "completed", "placed_at": now.isoformat()}
        for i in range(60)
    ]  # fmt: skip
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        bulk_upsert_orders(rows=rows, actor=None)
    assert all(_code(p) is None for p in people)  # nothing yet: queued for after the commit
    for callback in callbacks:
        callback()  # the queue runs immediately in the tests
    assert all(_code(p) == "diamond" for p in people)  # 20 × ¥4,000 each
