"""Queue tasks of the points ledger: the daily expiry and booking points of imported orders.

Both are idempotent (one entry per key), so several workers running them at once, or a task
retried after a crash, write nothing twice.
"""

from __future__ import annotations

import logging

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from cxloop.loyalty.expiry import expire_due_lots

logger = logging.getLogger(__name__)


# 18:10 UTC is 02:10 in Asia/Shanghai: points earned "24 months ago" expire overnight.
@db_periodic_task(crontab(hour="18", minute="10"), name="expire_points")
def expire_points() -> int:
    """Daily: expire what is left of every lot past its expiry; returns entries written."""
    written = expire_due_lots(now=timezone.now())
    if written:
        logger.info("Points expiry: %s lots expired", written)
    return written


@db_task(retries=3, retry_delay=60, name="book_order_points")
def book_order_points(external_ids: list[str]) -> None:
    """Earn for completed and reverse for refunded orders of a large import batch."""
    from cxloop.loyalty.receivers import book_orders

    book_orders(external_ids=external_ids)


from cxloop.loyalty import level_tasks  # noqa: E402, F401  (levels, stars, referrals)
