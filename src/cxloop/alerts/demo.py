"""Run the KPI scan over the demo data, so the alert pages have something to show.

The demo's history ends today: the scan judges yesterday, as the 07:00 job would. To show more
than one day's worth, it replays the last ``days`` mornings in order (each rule then catches up
day by day, as a worker that was down would).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from cxloop.alerts.models import Alert, AlertRule
from cxloop.alerts.services import ScanReport, scan_kpis


def replay_scans(*, days: int = 30, now: dt.datetime | None = None) -> list[ScanReport]:
    """Replay the daily scan over the last ``days`` mornings up to ``now``; the reports."""
    now = now or timezone.now()
    AlertRule.objects.filter(last_scanned_day__isnull=False).update(last_scanned_day=None)
    start = now - dt.timedelta(days=days - 1)
    return [scan_kpis(now=start + dt.timedelta(days=i)) for i in range(days)]


def load_alerts_demo(*, days: int = 30, now: dt.datetime | None = None) -> str:
    """Scan the demo data (once: a database that has alerts is left alone); a summary line."""
    if Alert.objects.exists():
        return "Alerts demo already loaded."
    reports = replay_scans(days=days, now=now)
    opened = sum(len(r.opened) for r in reports)
    recovered = sum(len(r.recovered) for r in reports)
    series = reports[-1].series if reports else 0
    return f"KPI scan: {series:,} series, {opened} alerts opened, {recovered} recovered."
