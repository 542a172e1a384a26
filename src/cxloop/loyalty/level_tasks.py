"""Queue tasks of levels, stars and referrals: the nightly level evaluation, the referral
catch-up, and the stars/levels/referral work of large order imports.

All are idempotent (history rows change only when the level does, awards and points have
unique keys), so two workers' schedulers enqueuing the same run, or a retried task, change
nothing twice. Huey finds tasks in each app's ``tasks`` module: ``loyalty/tasks.py`` imports
this one.
"""

from __future__ import annotations

import logging

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

logger = logging.getLogger(__name__)


# 18:40 UTC is 02:40 in Asia/Shanghai: after the points expiry, before anyone shops.
@db_periodic_task(crontab(hour="18", minute="40"), name="evaluate_member_levels")
def evaluate_member_levels() -> dict:
    """Nightly: upgrades, downgrades after the grace period, long-term rewards."""
    from cxloop.loyalty.levels import evaluate_levels

    report = evaluate_levels(now=timezone.now())
    logger.info(
        "Member levels: %s up, %s down, %s below their level, %s long-term rewards",
        report.upgraded, report.downgraded, report.marked, report.long_term_granted,
    )  # fmt: skip
    return {"upgraded": report.upgraded, "downgraded": report.downgraded,
            "marked": report.marked, "long_term_granted": report.long_term_granted}  # fmt: skip


@db_periodic_task(crontab(minute="25"), name="sweep_referrals")
def sweep_pending_referrals() -> int:
    """Hourly: qualify referrals whose first order came in without a signal; pay unpaid ones."""
    from cxloop.loyalty.referrals import sweep_referrals

    done = sweep_referrals(now=timezone.now())
    if done:
        logger.info("Referrals: %s qualified or paid by the sweep", done)
    return done


@db_task(retries=3, retry_delay=60, name="handle_completed_orders")
def handle_completed_orders_task(external_ids: list[str]) -> int:
    """Levels, stars and referrals for a chunk of a large import's completed orders."""
    from cxloop.loyalty.level_receivers import handle_completed_orders

    return handle_completed_orders(external_ids=external_ids)
