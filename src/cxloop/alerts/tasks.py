"""The daily anomaly scan (07:00 local time, after the night's data has arrived).

Idempotent: each rule remembers the last day it scanned, so a rerun the same day, or every
running consumer's scheduler enqueuing it, opens no second alert and sends no second message.
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from cxloop.alerts.services import scan_kpis

logger = logging.getLogger(__name__)


# Huey runs with utc=True: 23:00 UTC is 07:00 in Asia/Shanghai.
@db_periodic_task(crontab(hour="23", minute="0"), name="scan_kpi_alerts")
def scan_kpi_alerts() -> int:
    """Daily: scan the KPI series for jumps; returns how many alerts opened."""
    report = scan_kpis()
    logger.info(
        "KPI scan for %s: %s rules, %s series, %s opened, %s recovered, %s messages",
        report.day, report.rules, report.series, len(report.opened), len(report.recovered),
        report.messages,
    )  # fmt: skip
    return len(report.opened)
