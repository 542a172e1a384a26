"""score_customers on a hand-built shop: tiers, VIP, stages, tier history, idempotence."""

from __future__ import annotations

import datetime as dt

import pytest

from cxloop.core.models import AuditLog
from cxloop.core.services import set_setting
from cxloop.customers.models import Customer, Order
from cxloop.retention.models import CustomerScore, ScoringRun, TierChange
from cxloop.retention.scoring import score_customers
from cxloop.retention.tests.segment_helpers import NOW, build_shop, customer, orders

pytestmark = pytest.mark.django_db

SCORE_FIELDS = [
    "customer_id", "recency_days", "frequency", "monetary_fen", "yearly_spend_fen", "r_score",
    "f_score", "m_score", "rfm", "tier", "is_vip", "stage", "first_order_at", "last_order_at",
    "p_alive", "expected_purchases_90d", "clv_fen", "derived_tags", "computed_at",
]  # fmt: skip


def _scores(customers) -> dict[str, list]:
    rows = CustomerScore.objects.filter(customer__in=customers).order_by("customer_id")
    return {
        "tier": list(rows.values_list("tier", flat=True)),
        "stage": list(rows.values_list("stage", flat=True)),
        "vip": list(rows.values_list("is_vip", flat=True)),
    }


def _snapshot():
    return list(CustomerScore.objects.order_by("customer_id").values_list(*SCORE_FIELDS))


@pytest.fixture
def shop():
    return build_shop()


def test_tiers_stages_and_vip_of_the_hand_built_shop(shop):
    run = score_customers(now=NOW)
    assert run.status == ScoringRun.Status.DONE and run.customers == 32
    assert _scores(shop["high"]) == {"tier": ["high_value"] * 3, "stage": ["active"] * 3,
                                     "vip": [True] * 3}  # fmt: skip
    assert set(_scores(shop["potential"])["tier"]) == {"potential"}
    assert set(_scores(shop["basic"])["tier"]) == {"basic"}
    churn = _scores(shop["churn"])
    assert churn["tier"] == ["churn_warning"] * 3 and churn["stage"] == ["inactive"] * 3
    assert _scores(shop["new"])["stage"] == ["new"]
    assert _scores(shop["never"])["stage"] == ["never_ordered"]
    assert not any(_scores(shop["potential"] + shop["basic"])["vip"])
    assert run.parameters["counts"]["tier"] == {
        "churn_warning": 3, "basic": 17, "potential": 9, "high_value": 3,
    }  # fmt: skip


def test_scores_hold_the_rfm_figures(shop):
    score_customers(now=NOW)
    best = CustomerScore.objects.get(customer=shop["high"][0])
    assert (best.frequency, best.monetary_fen, best.recency_days) == (6, 1_800_000, 5)
    assert best.rfm == "555" and (best.r_score, best.f_score, best.m_score) == (5, 5, 5)
    assert best.yearly_spend_fen == 1_800_000
    assert best.last_order_at == NOW - dt.timedelta(days=5)
    assert best.first_order_at == NOW - dt.timedelta(days=55)
    never = CustomerScore.objects.get(customer=shop["never"][0])
    assert (never.frequency, never.recency_days, never.rfm, never.clv_fen) == (0, None, "111", None)


def test_clv_and_p_alive_are_stored_with_the_fitted_parameters(shop):
    run = score_customers(now=NOW)
    assert set(run.parameters["bgnbd"]) >= {"r", "alpha", "a", "b"}
    assert set(run.parameters["gamma_gamma"]) >= {"p", "q", "v"}
    best = CustomerScore.objects.get(customer=shop["high"][0])
    basic = CustomerScore.objects.get(customer=shop["basic"][0])
    assert isinstance(best.clv_fen, int) and best.clv_fen > 10 * basic.clv_fen > 0
    assert 0 <= basic.p_alive <= 1 and best.expected_purchases_90d > basic.expected_purchases_90d
    summary = run.parameters["summary"]["tiers"]["high_value"]
    assert summary["clv_customers"] == 3 and summary["clv_fen"] == 3 * best.clv_fen


def test_first_run_records_every_tier_then_only_changes(shop):
    first = score_customers(now=NOW)
    assert first.changed == 32 == TierChange.objects.count()
    assert set(TierChange.objects.values_list("from_tier", flat=True)) == {""}
    assert TierChange.objects.filter(changed_at=NOW).count() == 32  # dated as of the run
    # A churn-warning customer comes back with big, frequent orders.
    back = shop["churn"][0]
    orders(back, days_ago=[1, 2, 3, 4, 5, 6, 7], amount_fen=400_000)
    second = score_customers(now=NOW)
    moved = TierChange.objects.filter(run=second)
    assert second.changed == moved.count() >= 1
    assert moved.get(customer=back).from_tier == "churn_warning"
    assert moved.get(customer=back).to_tier == "high_value"
    for change in moved:  # only real changes, each from the tier stored before
        assert change.from_tier != change.to_tier


def test_second_run_on_the_same_data_changes_nothing(shop):
    score_customers(now=NOW)
    before = _snapshot()
    tags = list(Customer.objects.order_by("id").values_list("tags", "updated_at"))
    run = score_customers(now=NOW)
    assert run.changed == 0
    assert run.parameters["writes"] == {"tier_changes": 0, "tags_changed": 0, "scores_written": 0}
    assert _snapshot() == before  # not even computed_at was rewritten
    assert list(Customer.objects.order_by("id").values_list("tags", "updated_at")) == tags
    assert TierChange.objects.count() == 32


def test_a_later_run_rewrites_only_changed_rows(shop):
    score_customers(now=NOW)
    run = score_customers(now=NOW + dt.timedelta(days=1))  # every recency grows by a day
    assert run.parameters["writes"]["scores_written"] == 30  # the two without orders: same


def test_counted_orders_are_paid_shipped_delivered_completed(shop):
    who = customer()
    orders(who, days_ago=[3], amount_fen=10_000, status=Order.Status.PAID)
    orders(who, days_ago=[4], amount_fen=20_000, status=Order.Status.SHIPPED)
    orders(who, days_ago=[5], amount_fen=40_000, status=Order.Status.DELIVERED)
    for status in (Order.Status.PLACED, Order.Status.CANCELLED, Order.Status.REFUNDED):
        orders(who, days_ago=[1], amount_fen=999_999, status=status)
    orders(who, days_ago=[-2], amount_fen=888_888)  # after "now": not yet
    score_customers(now=NOW)
    score = CustomerScore.objects.get(customer=who)
    assert (score.frequency, score.monetary_fen, score.recency_days) == (3, 70_000, 3)


def test_yearly_spend_decides_vip(shop):
    who = customer()
    orders(who, days_ago=[400], amount_fen=900_000)  # big, but more than a year ago
    orders(who, days_ago=[10], amount_fen=100_000)
    score_customers(now=NOW)
    score = CustomerScore.objects.get(customer=who)
    assert (score.yearly_spend_fen, score.is_vip) == (100_000, False)
    set_setting(key="vip_annual_spend_fen", value=100_000, actor=None)
    score_customers(now=NOW)
    assert CustomerScore.objects.get(customer=who).is_vip is True


def test_changed_settings_give_different_tiers(shop, owner):
    score_customers(now=NOW)
    set_setting(key="tier_high_value_percent", value=40, actor=owner)
    set_setting(key="tier_potential_percent", value=10, actor=owner)
    run = score_customers(now=NOW)
    counts = run.parameters["counts"]["tier"]
    assert (counts["high_value"], counts["potential"]) == (12, 4)  # 40 % and 50 % of 32
    assert run.parameters["rfm"]["high_value_share"] == 0.4
    assert set(_scores(shop["potential"])["tier"]) == {"high_value"}
    assert TierChange.objects.filter(run=run, from_tier="potential", to_tier="high_value").count()


def test_churn_inactive_days_setting_moves_customers_into_churn_warning(shop):
    set_setting(key="churn_inactive_days", value=500, actor=None)
    assert score_customers(now=NOW).parameters["counts"]["tier"]["churn_warning"] == 0
    set_setting(key="churn_inactive_days", value=180, actor=None)
    assert score_customers(now=NOW).parameters["counts"]["tier"]["churn_warning"] == 3


def test_impossible_shares_fall_back_to_the_defaults_with_a_note(shop):
    for key in ("tier_high_value_percent", "tier_potential_percent"):
        set_setting(key=key, value=60, actor=None)
    run = score_customers(now=NOW)
    assert run.status == ScoringRun.Status.DONE
    assert [note["code"] for note in run.parameters["notes"]] == ["tier_shares_invalid"]
    assert run.parameters["counts"]["tier"]["high_value"] == 3
    assert "impossible" in run.message


def test_too_few_repeat_buyers_leave_clv_empty_with_the_reason(db):
    for days in (3, 30, 90):
        orders(customer(), days_ago=[days, days + 20], amount_fen=10_000)
    orders(customer(), days_ago=[5], amount_fen=10_000)
    run = score_customers(now=NOW)
    assert run.status == ScoringRun.Status.DONE
    assert run.parameters["notes"] == [
        {"code": "clv_too_few_repeat_buyers", "params": {"found": 3, "needed": 20}}
    ]
    assert "Only 3 customers ordered more than once" in run.message
    assert not CustomerScore.objects.exclude(clv_fen=None).exists()
    assert not CustomerScore.objects.exclude(p_alive=None).exists()


def test_orders_at_the_same_moment_still_fit(shop):
    twins = customer()
    orders(twins, days_ago=[12, 12, 12], amount_fen=50_000)
    run = score_customers(now=NOW)
    assert run.status == ScoringRun.Status.DONE and not run.parameters["notes"]
    assert CustomerScore.objects.get(customer=twins).clv_fen > 0


def test_no_customers_is_a_finished_empty_run(db):
    run = score_customers(now=NOW)
    assert (run.status, run.customers, run.changed) == (ScoringRun.Status.DONE, 0, 0)


def test_a_failing_run_is_marked_failed_and_writes_nothing(shop, monkeypatch):
    from cxloop.retention import scoring

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(scoring.score_sql, "upsert_scores", broken)
    with pytest.raises(RuntimeError):
        score_customers(now=NOW)
    run = ScoringRun.objects.get()
    assert run.status == ScoringRun.Status.FAILED and "boom" in run.message
    assert not CustomerScore.objects.exists() and not TierChange.objects.exists()
    assert Customer.objects.exclude(tags=[]).count() == 0  # rolled back with the rest


def test_the_run_is_audited_with_its_actor(shop, owner):
    run = score_customers(now=NOW, actor=owner)
    entry = AuditLog.objects.get(action="retention.scored")
    assert (entry.actor, entry.object_id) == (owner, str(run.pk))
    assert entry.after["tier_changes"] == 32 and run.actor == owner


def test_churn_columns_survive_a_rescore(shop):
    score_customers(now=NOW)
    who = shop["basic"][0]
    reasons = [{"key": "recency", "params": {"days_since_last_order": 100}}]
    CustomerScore.objects.filter(customer=who).update(churn_risk=0.7, churn_reasons=reasons)
    score_customers(now=NOW + dt.timedelta(days=3))
    score = CustomerScore.objects.get(customer=who)
    assert (score.churn_risk, score.churn_reasons) == (0.7, reasons)
