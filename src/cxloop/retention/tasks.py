"""Queue tasks of the retention scores: the nightly scoring run and the on-demand one.

Every running consumer's scheduler enqueues the nightly task; the huey lock lets one run at a
time across all workers, and a nightly run that finds today's run already done returns at
once. Scoring itself is idempotent, so even a second run would change nothing.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.contrib.auth import get_user_model
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task
from huey.exceptions import TaskLockedException

from cxloop.retention.models import ScoringRun
from cxloop.retention.scoring import score_customers

logger = logging.getLogger(__name__)
LOCK = "retention-score-customers"


def _done_today(now: dt.datetime) -> bool:
    local = timezone.localtime(now)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return ScoringRun.objects.filter(
        kind=ScoringRun.Kind.NIGHTLY, status=ScoringRun.Status.DONE, as_of__gte=midnight
    ).exists()


# 18:30 UTC is 02:30 in Asia/Shanghai, after the day's orders are in and before the 03:30 purge.
@db_periodic_task(crontab(hour="18", minute="30"), name="score_customers_nightly")
def score_customers_nightly() -> int | None:
    """Nightly: RFM, tiers, CLV and demand tags of every customer; the run's id."""
    now = timezone.now()
    try:
        with lock_task(LOCK):
            if _done_today(now):
                return None
            run = score_customers(now=now, kind=ScoringRun.Kind.NIGHTLY)
    except TaskLockedException:
        logger.info("Nightly scoring skipped: another run is in progress")
        return None
    logger.info("Nightly scoring: %s customers, %s tier changes", run.customers, run.changed)
    return run.pk


@db_task(name="score_customers_now")
def score_customers_now(actor_id: int | None = None) -> int | None:
    """On demand (the "Recalculate now" button): one run as of now; the run's id, or None
    when another run is in progress (its result is just as fresh)."""
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    try:
        with lock_task(LOCK):
            run = score_customers(now=timezone.now(), actor=actor, kind=ScoringRun.Kind.MANUAL)
    except TaskLockedException:
        logger.info("Scoring on demand skipped: another run is in progress")
        return None
    return run.pk


from cxloop.retention import churn_tasks  # noqa: E402,F401  (churn and plays tasks, for discovery)
