"""The alerts demo: the incidents are in the data the scan reads, the replayed scan finds the
华北 courier change (still open) and the 华南 warehouse outage (recovered), and nothing storms."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db.models import Sum
from django.utils import timezone

from cxloop.alerts import selectors
from cxloop.alerts.demo import DEMO_ALERTS_FLAG, load_alerts_demo
from cxloop.alerts.demo_incident import COURIER
from cxloop.alerts.models import Alert, AlertRule
from cxloop.cases.models import Case
from cxloop.core.models import AuditLog, Setting
from cxloop.customers.demo import DemoSize, load_demo_data
from cxloop.surveys.models import MetricRollup, Response

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 6, 17)  # far from Double Eleven's complaint peak
NOW = timezone.make_aware(dt.datetime.combine(AS_OF, dt.time(21, 30)))  # as the loader's
START = NOW - dt.timedelta(days=COURIER.start + 1)


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    from cxloop.cases.tests.test_demo import restore, snapshot

    with django_db_blocker.unblock():
        before, rules = snapshot(), list(AlertRule.objects.values())
        # Half the demo's orders keep the load quick; the complaint-rate rule scales with them.
        load_demo_data(seed=5, as_of=AS_OF, size=DemoSize(customers=1_000, orders=10_000),
                       retain=False)  # fmt: skip
        started = time.perf_counter()
        message = load_alerts_demo(now=NOW)
        seconds = time.perf_counter() - started
        yield message, seconds
        Alert.objects.all().delete()
        restore(before)
        for row in rules:
            AlertRule.objects.filter(pk=row["id"]).update(**row)


def incident_cases():
    return Case.objects.filter(region=COURIER.region, created_at__gte=START,
                               subject__in=COURIER.subjects).exclude(order_ref="")  # fmt: skip


def test_loaded_once_and_quickly(loaded):
    message, _seconds = loaded
    assert message.startswith("Alerts demo: incidents with")
    counts = (Case.objects.count(), Response.objects.count(), Alert.objects.count())
    assert load_alerts_demo(now=NOW) == "Alerts demo already loaded."
    assert (Case.objects.count(), Response.objects.count(), Alert.objects.count()) == counts
    assert Setting.objects.filter(key=DEMO_ALERTS_FLAG).count() == 1


def test_the_courier_change_is_an_open_alert_and_nothing_storms(loaded):
    alerts = list(Alert.objects.all())
    assert 2 <= len(alerts) <= 5, [(a.metric, a.place, a.day) for a in alerts]
    open_ = [a for a in alerts if a.is_active]
    courier = [a for a in open_ if (a.metric, a.dimension, a.place)
               == ("complaint_rate", "region", "华北")]  # fmt: skip
    assert courier, [(a.metric, a.place) for a in alerts]
    alert = courier[0]
    assert START.date() < alert.day < AS_OF and alert.value > 2 * alert.expected
    assert alert.p_value < 0.01 and alert.direction == "up"
    assert selectors.evidence_for(alert, today=AS_OF) is not None
    outage = [a for a in alerts if a.place == "华南" and a.status == Alert.Status.RECOVERED]
    assert outage and outage[0].recovered_day < AS_OF - dt.timedelta(days=5)
    assert all(a.dimension == "region" for a in alerts)  # store days never reach the sample
    assert AuditLog.objects.filter(action="alerts.rule.changed").count() == 3


def test_incident_cases_are_whole_analysed_stories(loaded):
    cases = list(incident_cases().select_related("category", "department", "customer"))
    assert len(cases) >= 15
    for case in cases:
        assert case.category.code == "logistics" and case.department.code == "logistics"
        assert case.customer.region == "华北" and case.order_ref.startswith("O")
        assert case.text_analysed_at is not None and "logistics" in case.aspects
        assert case.events.filter(kind="created").exists()
    assert sum(c.first_response_at is not None for c in cases) >= len(cases) * 0.8


def test_north_detractors_talk_about_logistics(loaded):
    recent = Response.objects.filter(submitted_at__gte=START, submitted_at__lte=NOW,
                                     excluded=False).exclude(comment_sentiment=None)  # fmt: skip
    low = recent.filter(csat__lte=2) | recent.filter(nps__lte=6)

    def logistics_share(region):
        rows = list(low.filter(region=region).values_list("comment_aspects", flat=True))
        return sum("logistics" in aspects for aspects in rows) / max(1, len(rows)), len(rows)

    north, north_n = logistics_share("华北")
    east, _east_n = logistics_share("华东")
    assert north_n >= 10 and north > 0.8 and north > east


def test_the_rollup_counts_the_incident_answers(loaded):
    day = (NOW - dt.timedelta(days=3)).date()
    rollup = MetricRollup.objects.filter(dimension="region", value="华北", day=day)
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    responses = Response.objects.filter(
        region="华北", excluded=False, csat__isnull=False, submitted_at__gte=start,
        submitted_at__lt=start + dt.timedelta(days=1),
    )  # fmt: skip
    assert rollup.aggregate(n=Sum("csat_n"))["n"] == responses.count() > 0
