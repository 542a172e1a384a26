"""How scoring runs start: the nightly task, the on-demand task, the management command; and
the invariants of any run (idempotence, tier history = the tier differences)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxloop.customers.models import Customer, Order
from cxloop.retention import tasks
from cxloop.retention.models import CustomerScore, ScoringRun, TierChange
from cxloop.retention.scoring import score_customers
from cxloop.retention.tests.segment_helpers import NOW, build_shop, customer, orders

pytestmark = pytest.mark.django_db


def test_nightly_task_scores_once_a_day(monkeypatch):
    build_shop()
    monkeypatch.setattr(tasks.timezone, "now", lambda: NOW)
    first = tasks.score_customers_nightly.call_local()
    assert ScoringRun.objects.get(pk=first).kind == ScoringRun.Kind.NIGHTLY
    assert tasks.score_customers_nightly.call_local() is None  # a second scheduler: skipped
    monkeypatch.setattr(tasks.timezone, "now", lambda: NOW + dt.timedelta(days=1))
    assert tasks.score_customers_nightly.call_local() not in (None, first)
    assert ScoringRun.objects.filter(kind=ScoringRun.Kind.NIGHTLY).count() == 2


def test_nightly_task_runs_at_half_past_two_in_shanghai():
    schedule = tasks.score_customers_nightly.task_class().validate_datetime
    assert schedule(dt.datetime(2026, 6, 2, 18, 30))  # UTC: 02:30 on the 3rd in Shanghai
    assert not schedule(dt.datetime(2026, 6, 2, 2, 30))


def test_on_demand_task_records_who_asked(owner):
    build_shop()
    run = ScoringRun.objects.get(pk=tasks.score_customers_now.call_local(owner.pk))
    assert (run.kind, run.actor, run.status) == ("manual", owner, "done")


def test_a_run_in_progress_makes_the_others_skip(owner):
    from huey.contrib.djhuey import HUEY

    build_shop()
    with HUEY.lock_task(tasks.LOCK):
        assert tasks.score_customers_now.call_local(owner.pk) is None
        assert tasks.score_customers_nightly.call_local() is None
    assert not ScoringRun.objects.exists()


def test_command_scores_as_of_a_given_time():
    shop = build_shop()
    out = io.StringIO()
    call_command("score_customers", "--as-of", "2026-06-03T10:00", stdout=out)
    run = ScoringRun.objects.get()
    assert run.kind == ScoringRun.Kind.COMMAND and run.as_of == NOW  # 10:00 in Shanghai
    assert "Scored 32 customers as of 2026-06-03 10:00: 32 tier changes" in out.getvalue()
    assert CustomerScore.objects.get(customer=shop["high"][0]).tier == "high_value"


def test_command_refuses_a_bad_time():
    with pytest.raises(CommandError, match="not a date or time"):
        call_command("score_customers", "--as-of", "yesterday", stdout=io.StringIO())


histories = st.lists(
    st.lists(
        st.tuples(
            st.integers(0, 500),
            st.integers(100, 500_000),
            st.sampled_from(["paid", "completed", "refunded"]),
        ),
        max_size=5,
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    first=histories, extra=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 30)), max_size=10)
)
def test_history_records_exactly_the_tier_differences_and_reruns_change_nothing(first, extra):
    TierChange.objects.all().delete()
    CustomerScore.objects.all().delete()
    Order.objects.all().delete()
    Customer.objects.all().delete()
    people = []
    for history in first:
        people.append(who := customer())
        for days, amount, status in history:
            orders(who, days_ago=[days], amount_fen=amount, status=status)
    score_customers(now=NOW)
    before = dict(CustomerScore.objects.values_list("customer_id", "tier"))
    assert TierChange.objects.count() == len(people)
    for index, days in extra:  # new orders for some customers, then score again
        orders(people[index % len(people)], days_ago=[days], amount_fen=90_000)
    run = score_customers(now=NOW)
    after = dict(CustomerScore.objects.values_list("customer_id", "tier"))
    moved = {pk for pk in after if after[pk] != before[pk]}
    changes = TierChange.objects.filter(run=run)
    assert (
        set(changes.values_list("customer_id", flat=True))
        == moved
        == set(changes.values_list("customer_id", flat=True).distinct())
    )
    assert all(
        before[c.customer_id] == c.from_tier and after[c.customer_id] == c.to_tier for c in changes
    )
    again = score_customers(now=NOW)
    assert again.parameters["writes"] == {"tier_changes": 0, "tags_changed": 0, "scores_written": 0}
