"""Demo cases: loaded once with the demo company, consistent with the SLA engine, the promised
shape (logistics breaches most, the last three months improve), every metric plausible."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from cxloop.cases import demo, selectors, sla
from cxloop.cases.models import Case, CaseEvent, CaseTarget
from cxloop.customers.demo import DemoSize, load_demo_data

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 11, 19)  # a Thursday
NOW = timezone.make_aware(dt.datetime.combine(AS_OF, dt.time(16)))  # the demo's "now"
PROGRAMME = NOW - dt.timedelta(days=demo.PROGRAMME_DAYS)


def _models():
    """What the demo company, its surveys and its cases write, children first."""
    from django.apps import apps

    names = [
        # Order completions book points and levels (loyalty receivers) even without its demo.
        "loyalty.LotUse", "loyalty.Redemption", "loyalty.Adjustment", "loyalty.PointsLot",
        "loyalty.PointsEntry", "loyalty.PointsAccount", "loyalty.Referral",
        "loyalty.ReferralCode", "loyalty.CustomerLevel", "loyalty.StarAward",
        "loyalty.StarsStepReward", "loyalty.LongTermReward", "experiments.Assignment",
        "retention.PlayAssignment", "retention.TierChange", "retention.CustomerScore",
        "cases.CaseEvent", "cases.CaseTask", "cases.CaseTarget", "cases.Compensation",
        "cases.Case", "cases.AssignmentRule", "cases.Membership", "cases.SlaRule",
        "cases.Category", "cases.Department", "surveys.Response", "surveys.Invitation",
        "surveys.Survey", "customers.Order", "customers.Customer", "core.Setting",
        "core.AuditLog", "core.OutboxMessage", "core.BusinessCalendar", "auth.User",
    ]  # fmt: skip
    return [apps.get_model(name) for name in names]


def snapshot() -> dict:
    return {model: set(model.objects.values_list("pk", flat=True)) for model in _models()}


def restore(before: dict) -> None:
    """Delete every row written since ``snapshot`` (this module's data lives outside the
    tests' transactions); categories children first."""
    from cxloop.cases.models import Category, Department

    Department.objects.filter(pk__in=before[Department]).update(head=None)
    for model, kept in before.items():
        rows = model.objects.exclude(pk__in=kept)
        if model is Category:
            rows.exclude(parent=None).delete()
        rows.delete()


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        before = snapshot()
        started = time.perf_counter()
        message = load_demo_data(
            seed=11, as_of=AS_OF, size=DemoSize(customers=400, orders=4_000), retain=False
        )
        seconds = time.perf_counter() - started
        yield message, seconds, before
        restore(before)


def table(metric, group_by=None, **kwargs):
    return selectors.metric_table(metric=metric, group_by=group_by, now=NOW, **kwargs)


def test_loaded_once(loaded):
    message, _seconds, before = loaded  # the time is a benchmark matter, not a test
    assert "Loaded demo cases: 600 cases" in message
    assert demo.load_demo_cases(seed=11, as_of=AS_OF) == "Demo cases already loaded."
    assert load_demo_data(seed=11, as_of=AS_OF, retain=False).endswith("Demo cases already loaded.")
    assert Case.objects.exclude(pk__in=before[Case]).count() == 600
    staff = get_user_model().objects.filter(case_memberships__isnull=False).distinct()
    assert staff.count() == 16 and not any(user.has_usable_password() for user in staff)


def test_every_metric_is_plausible(loaded):
    fcr, repeats = table("fcr").overall[0], table("repeat_rate").overall[0]
    assert 55 < fcr.value < 85 and fcr.n > 500
    assert 5 < repeats.value < 20
    assert 100 < table("complaint_rate").overall[0].value < 200  # 600 cases, 4,000 orders
    first, solved = table("first_response_time").overall[0], table("resolution_time").overall[0]
    assert 5 * 60 < first.value < 3_600 and first.n > 550
    assert 4 * 3_600 < solved.value < 6 * 8 * 3_600  # hours to a few working days
    sla_rows = {row.target: row for row in table("sla_compliance").overall}
    assert {"first_response", "resolution", "progress_update", "callback"} <= set(sla_rows)
    assert 70 < sla_rows[None].value < 98
    backlog = table("backlog").overall[0]
    assert 20 <= backlog.n <= 120 and backlog.buckets["lt_1d"] >= demo.LIVE_CASES
    assert backlog.buckets["gt_7d"] > 0  # a few stuck ones
    for metric in selectors.METRICS:
        for group_by in selectors.GROUP_BY:
            assert table(metric, group_by).rows


def test_logistics_has_the_most_breaches(loaded):
    rows = table("sla_compliance", "department").rows
    late = {row.group: row.n - row.count for row in rows if row.target is None}
    assert max(late, key=late.get) == "logistics"
    solved = {row.group: row.value for row in rows if row.target == "resolution"}
    assert solved["logistics"] < min(v for k, v in solved.items() if k != "logistics") - 10


def test_the_last_three_months_improve(loaded):
    before = {"start": None, "end": PROGRAMME}
    since = {"start": PROGRAMME + dt.timedelta(days=demo.RAMP_DAYS), "end": None}
    for metric, better in (
        ("fcr", 1), ("sla_compliance", 1), ("first_response_time", -1), ("repeat_rate", -1),
    ):  # fmt: skip
        old, new = table(metric, **before).overall[0], table(metric, **since).overall[0]
        assert (new.value - old.value) * better > 0, (metric, old.value, new.value)
    assert table("fcr", **since).overall[0].value > table("fcr", **before).overall[0].value + 10
    months = [r for r in table("complaint_rate", "month").rows if r.count]
    assert sum(r.count for r in months[-2:]) < sum(r.count for r in months[-8:-6])


def test_rows_are_what_the_sla_engine_would_write(loaded):
    """Recomputing an open historic case's clocks moves nothing; the working seconds of every
    SLA_MET event are what ``sla.working_seconds_to`` measures."""
    open_cases = Case.objects.filter(status__in=Case.OPEN_STATUSES, paused_at=None)
    historic = open_cases.exclude(
        events__kind=CaseEvent.Kind.SLA_SET, events__data__reason="resumed"
    )
    checked = 0
    for case in historic.order_by("created_at")[:15]:
        sla.recompute(case=case, at=NOW, reason="check")
        assert not CaseEvent.objects.filter(case=case, data__reason="check").exists(), case
        checked += 1
    assert checked >= 10
    met = CaseTarget.objects.filter(met_at__isnull=False).exclude(kind="progress_update")
    for target in met.select_related("case", "case__department", "rule")[:200]:
        event = CaseEvent.objects.get(
            case=target.case, kind=CaseEvent.Kind.SLA_MET, data__kind=target.kind,
            data__cycle=target.cycle,
        )  # fmt: skip
        expected = sla.working_seconds_to(case=target.case, target=target, at=target.met_at)
        assert event.data["working_seconds"] == expected


def test_queues_are_alive(loaded):
    live = Case.objects.filter(created_at__gte=NOW - dt.timedelta(hours=4))
    assert live.count() >= demo.LIVE_CASES
    due_soon = live.filter(next_due_at__gt=NOW, next_due_at__lt=NOW + dt.timedelta(hours=24))
    assert due_soon.count() >= 5
    armed = CaseTarget.objects.filter(case__status__in=Case.OPEN_STATUSES, met_at=None)
    assert armed.filter(next_check_at__isnull=False).exists()


def test_the_sweep_picks_up_where_the_demo_left_off(loaded):
    """Runs last: the sweep at the demo's "now" finds the due clocks and never breaches a clock
    a second time (the demo wrote the sweep's dedupe keys)."""
    from django.db.models import Count

    from cxloop.cases.sweep import sweep_due_targets

    due = CaseTarget.objects.filter(next_check_at__lte=NOW).count()
    assert due > 0
    sweep_due_targets(now=NOW, limit=10_000)
    assert not CaseTarget.objects.filter(next_check_at__lte=NOW).exists()
    twice = (
        CaseEvent.objects.filter(kind=CaseEvent.Kind.SLA_BREACHED)
        .values("data__target", "data__cycle", "data__due_at")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not twice.exists()
