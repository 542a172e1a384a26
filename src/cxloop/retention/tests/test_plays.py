"""Running retention plays: consent, frequency cap, holdout, win-back cases, reruns, effect."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxloop.cases.models import Case, CaseTask
from cxloop.core.models import OutboxMessage
from cxloop.customers.models import Order
from cxloop.retention import plays
from cxloop.retention.models import CustomerScore
from cxloop.retention.play_models import PlayAssignment, PlayKind, RetentionPlay
from cxloop.retention.tests.test_churn_support import (  # noqa: F401  (fixture)
    NOW,
    make_customers,
    retention_perms,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_default_plays(db):
    RetentionPlay.objects.all().delete()


def _play(**fields) -> RetentionPlay:
    values = {"name": "测试", "kind": PlayKind.PERSONAL_OFFER, "tier": "basic", "channel": "email",
              "subject": "Hi {name}", "message": "Dear {name}", "holdout_percent": 0}  # fmt: skip
    return RetentionPlay.objects.create(**{**values, **fields})


def test_default_plays_cover_the_four_tiers():
    assert plays.ensure_default_plays() == 4
    assert plays.ensure_default_plays() == 0  # only while there are none
    kinds = dict(RetentionPlay.objects.values_list("tier", "kind"))
    assert kinds == {"high_value": "account_manager", "potential": "personal_offer",
                     "basic": "community_benefit", "churn_warning": "winback_task"}  # fmt: skip
    winback = RetentionPlay.objects.get(kind="winback_task")
    assert winback.min_churn_risk == 0.6 and winback.holdout_percent == 10


def test_messages_need_marketing_consent_and_go_through_the_outbox():
    yes = make_customers(3, prefix="Y", consent=True)
    make_customers(2, prefix="N", consent=False)
    play = _play()
    report = plays.run_plays(now=NOW, play=play)
    assert report.treatment == 3 and report.skipped == {"no_consent": 2}
    sent = OutboxMessage.objects.filter(dedupe_key__startswith="retention:play:")
    assert sorted(sent.values_list("recipient", flat=True)) == sorted(c.email for c in yes)
    assert sent.first().body.startswith("Dear 客户")
    skipped = PlayAssignment.objects.filter(skipped_reason="no_consent")
    assert skipped.count() == 2 and not skipped.exclude(message=None).exists()


def test_rerun_is_idempotent_within_the_cap_and_assigns_again_after_it():
    make_customers(4)
    play = _play(cap_days=30)
    plays.run_plays(now=NOW, play=play)
    again = plays.run_plays(now=NOW + dt.timedelta(days=5), play=play)
    assert again.selected == 0
    assert OutboxMessage.objects.count() == 4 and PlayAssignment.objects.count() == 4
    later = plays.run_plays(now=NOW + dt.timedelta(days=31), play=play)
    assert later.treatment == 4 and OutboxMessage.objects.count() == 8


def test_frequency_cap_across_plays():
    make_customers(3)
    first = _play(name="A")
    second = _play(name="B", kind=PlayKind.COMMUNITY_BENEFIT)
    plays.run_plays(now=NOW, play=first)
    report = plays.run_plays(now=NOW + dt.timedelta(days=1), play=second)
    assert report.skipped == {"capped": 3} and report.treatment == 0
    assert OutboxMessage.objects.count() == 3


def test_holdout_is_deterministic_and_gets_no_work():
    make_customers(200, tier="churn_warning")
    play = _play(kind=PlayKind.WINBACK_TASK, tier="churn_warning", channel="", holdout_percent=30)
    report = plays.run_plays(now=NOW, play=play)
    groups = dict(PlayAssignment.objects.values_list("customer_id", "group"))
    assert 30 < report.holdout < 90 and report.treatment + report.holdout == 200
    for customer_id, group in groups.items():
        assert plays.holdout_group(play.pk, customer_id, 30) == group
    held = PlayAssignment.objects.filter(group="holdout")
    assert not held.exclude(case=None).exists() and not held.exclude(message=None).exists()
    assert Case.objects.count() == report.treatment
    # After the cap the same customers fall into the same groups.
    plays.run_plays(now=NOW + dt.timedelta(days=400), play=play)
    latest = PlayAssignment.objects.filter(assigned_at__gt=NOW)
    assert latest.count() == 200
    assert dict(latest.values_list("customer_id", "group")) == groups


@given(st.integers(1, 10_000), st.integers(1, 10_000), st.integers(0, 50))
def test_holdout_group_is_a_pure_function(play_id, customer_id, percent):
    group = plays.holdout_group(play_id, customer_id, percent)
    assert group == plays.holdout_group(play_id, customer_id, percent)
    if percent == 0:
        assert group == "treatment"


def test_winback_creates_an_assigned_case_with_a_due_task(teammate):
    customers = make_customers(2, tier="basic")
    CustomerScore.objects.filter(customer=customers[0]).update(churn_risk=0.8, churn_reasons=[
        {"key": "recency", "params": {"days_since_last_order": 64}}])  # fmt: skip
    play = _play(kind=PlayKind.WINBACK_TASK, tier="", min_churn_risk=0.6, channel="",
                 assignee=teammate, task_due_days=3)  # fmt: skip
    report = plays.run_plays(now=NOW, play=play)
    assert report.treatment == 1 and report.cases == 1
    assignment = PlayAssignment.objects.get()
    case = assignment.case
    assert case.customer == customers[0] and case.channel == "staff"
    assert case.category.code == "retention-winback" and case.category.parent.code == "retention"
    assert case.owner == teammate and case.status == "assigned"
    assert "no order for 64 days" in case.description
    task = assignment.task
    assert task.kind == CaseTask.Kind.CALLBACK and task.assignee == teammate
    assert task.due_at == NOW + dt.timedelta(days=3) == assignment.due_at
    # A rerun the next day opens nothing new.
    assert plays.run_plays(now=NOW + dt.timedelta(days=1), play=play).selected == 0
    assert Case.objects.count() == 1


def test_points_gift_is_credited_once_per_assignment():
    loyalty = pytest.importorskip("cxloop.loyalty.services")
    customer = make_customers(1)[0]
    play = _play(gift_points=50)
    plays.run_plays(now=NOW, play=play)
    assignment = PlayAssignment.objects.get()
    from cxloop.loyalty.models import PointsEntry

    entry = PointsEntry.objects.get(pk=assignment.gift_entry_id)
    assert entry.points == 50 and entry.idempotency_key == f"play:{assignment.pk}:gift"
    from cxloop.loyalty.selectors import balance_of

    assert balance_of(customer=customer) == 50
    assert loyalty.earn_points  # the guarded import found the ledger


def _assignments(play, group, n, won, *, now=NOW):
    customers = make_customers(n, prefix=f"{group[0]}{n}")
    rows = [
        PlayAssignment(play=play, customer=c, group=group, assigned_at=now - dt.timedelta(days=90),
                       window_ends_at=now - dt.timedelta(days=60), dedupe_key=f"{group}{c.pk}",
                       ordered_again_at=now - dt.timedelta(days=80) if i < won else None)
        for i, c in enumerate(customers)
    ]  # fmt: skip
    PlayAssignment.objects.bulk_create(rows)


def test_effect_report_on_a_known_case():
    play = _play()
    _assignments(play, "treatment", 70, 56)
    _assignments(play, "holdout", 80, 48)
    effect = plays.play_effect(play, now=NOW)
    assert (effect.treatment_won, effect.treatment_n) == (56, 70)
    assert (effect.holdout_won, effect.holdout_n) == (48, 80)
    assert effect.result.difference == pytest.approx(0.2)
    assert effect.result.low == pytest.approx(0.0524, abs=1e-4)
    assert effect.result.high == pytest.approx(0.3339, abs=1e-4)
    assert effect.verdict == "better" and "+20.0 points" in effect.verdict_text


def test_effect_report_refuses_small_samples():
    play = _play()
    _assignments(play, "treatment", 10, 9)
    _assignments(play, "holdout", 10, 1)
    effect = plays.play_effect(play, now=NOW)
    assert effect.verdict == "too_small" and effect.verdict_text.startswith("Too early to tell")


def test_outcome_is_the_first_order_within_the_window():
    customers = make_customers(3)
    play = _play(measure_days=30)
    plays.run_plays(now=NOW, play=play)
    Order.objects.bulk_create([
        Order(external_id="in", customer=customers[0], amount_fen=100, status="completed",
              placed_at=NOW + dt.timedelta(days=10)),
        Order(external_id="late", customer=customers[1], amount_fen=100, status="completed",
              placed_at=NOW + dt.timedelta(days=40)),
        Order(external_id="before", customer=customers[2], amount_fen=100, status="completed",
              placed_at=NOW - dt.timedelta(days=1)),
    ])  # fmt: skip
    assert plays.measure_outcomes(now=NOW + dt.timedelta(days=45)) == 1
    won = dict(PlayAssignment.objects.values_list("customer_id", "ordered_again_at"))
    assert won[customers[0].pk] == NOW + dt.timedelta(days=10)
    assert won[customers[1].pk] is None and won[customers[2].pk] is None
