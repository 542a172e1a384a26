"""The alerts demo: rules at the demo's scale, a documented incident in the demo's history
(``alerts.demo_incident``), and the daily KPI scan replayed over the last weeks, so the alert
pages show real alerts (docs/alerts.md, "Demo").

The demo's history ends today: the scan judges yesterday, as the 07:00 job would. To show more
than one day's worth, the last ``days`` mornings are replayed in order. The chart only looks
back, so each rule's series is built and scanned once, up to yesterday, and the alert state
machine then advances morning by morning (``services.advance_rule``) — the alerts a worker
running every morning would have opened and closed, judged on the data as it stands now.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.db import transaction
from django.utils import timezone

from cxloop.alerts.models import AlertRule, Dimension, Metric
from cxloop.alerts.series import build_series
from cxloop.alerts.services import ScanReport, advance_rule, run_scan, scan_day, update_rule
from cxloop.core.models import Setting
from cxloop.surveys.rollups import day_start

DEMO_ALERTS_FLAG = "demo.alerts_loaded"
REPLAY_DAYS = 30
SCAN_TIME = dt.timedelta(hours=7)  # the daily job runs at 07:00 local time
# The region rules' minimum daily sample at the demo's volume (docs/alerts.md, "Demo"): answers
# a day per region for the surveys (the demo has about 3 CSAT and 2 NPS answers a day in each),
# and for the complaint rate this share of the quietest region's median day of orders (10 of
# the 15–18 orders a day of the full demo).
DEMO_MIN_SAMPLE = {Metric.CSAT: 3, Metric.NPS: 2}
ORDERS_SHARE = 0.7
MIN_ORDERS = 3


def replay_scans(*, days: int = REPLAY_DAYS, now: dt.datetime | None = None) -> list[ScanReport]:
    """Replay the daily scan over the last ``days`` mornings up to ``now``; one report each."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    mornings = [
        min(now, day_start(today - dt.timedelta(days=days - 1 - i)) + SCAN_TIME)
        for i in range(days)
    ]
    reports = [ScanReport(day=scan_day(morning)) for morning in mornings]
    last = reports[-1].day
    for rule in AlertRule.objects.filter(active=True):
        series = build_series(metric=rule.metric, dimension=rule.dimension, end=last)
        result = run_scan(series, rule) if series.places else None
        with transaction.atomic():
            for morning, report in zip(mornings, reports, strict=True):
                report.rules += 1
                report.series += len(series.places)
                index = series.days.index(report.day)
                points = result.points(index) if result is not None else []
                advance_rule(rule, series, points, morning, report)
            rule.last_scanned_day = last
            rule.save(update_fields=["last_scanned_day"])
    return reports


def demo_min_orders(*, end: dt.date) -> int:
    """``ORDERS_SHARE`` of the quietest region's median day of orders over the last 8 weeks."""
    series = build_series(metric=Metric.COMPLAINT_RATE, dimension=Dimension.REGION, end=end,
                          days=56)  # fmt: skip
    if not series.places:
        return MIN_ORDERS
    quietest = float(np.median(series.counts, axis=1).min())
    return max(MIN_ORDERS, round(ORDERS_SHARE * quietest))


def configure_demo_rules(*, end: dt.date) -> list[AlertRule]:
    """Region rules judged at the demo's volume (store and first-response rules keep their
    defaults: a demo store has 2–3 orders and a region 2 responded cases a day, too few to
    judge a day on its own). Through ``update_rule``, so each change has its audit row."""
    changed = []
    wanted = {Metric.COMPLAINT_RATE: demo_min_orders(end=end), **DEMO_MIN_SAMPLE}
    for metric, minimum in wanted.items():
        rule = AlertRule.objects.filter(metric=metric, dimension=Dimension.REGION).first()
        if rule is not None and rule.min_sample != minimum:
            changed.append(update_rule(rule=rule, actor=None, changes={"min_sample": minimum}))
    return changed


def load_alerts_demo(*, now: dt.datetime | None = None, days: int = REPLAY_DAYS) -> str:
    """Once: the incidents, the demo's rule thresholds, the replayed scans; a summary line."""
    from cxloop.alerts.demo_incident import inject_incidents
    from cxloop.customers.demo import DEMO_FLAG, DEMO_SEED

    if Setting.objects.filter(key=DEMO_ALERTS_FLAG).exists():
        return "Alerts demo already loaded."
    company = Setting.objects.filter(key=DEMO_FLAG).first()
    if company is None:
        return "No demo data: load the demo company first."
    now = now or timezone.now()
    seed = (company.value or {}).get("seed", DEMO_SEED)
    with transaction.atomic():
        written = inject_incidents(now=now, seed=seed)
        configure_demo_rules(end=scan_day(now))
        reports = replay_scans(days=days, now=now)
        Setting.objects.create(key=DEMO_ALERTS_FLAG, value={"now": now.isoformat()})
    opened = sum(len(r.opened) for r in reports)
    recovered = sum(len(r.recovered) for r in reports)
    return (
        f"Alerts demo: incidents with {written.cases} complaints and {written.answers} survey "
        f"answers; KPI scan of the last {days} days: {reports[-1].series:,} series, "
        f"{opened} alerts opened, {recovered} recovered."
    )
