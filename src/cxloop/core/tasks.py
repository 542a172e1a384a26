"""Queue tasks of the platform: outbox delivery and housekeeping.

The consumer (``cxloop worker``) imports every app's ``tasks`` module. Periodic tasks are
enqueued by every running consumer's scheduler; each one here is idempotent, so several
workers on several machines running them at once is harmless.
"""

from __future__ import annotations

import logging
import time

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from cxloop.core import outbox
from cxloop.core.models import OutboxMessage

logger = logging.getLogger(__name__)

# Leave the minute before the next sweep starts; a slow provider cannot pile sweeps up.
SWEEP_BUDGET_SECONDS = 50
SWEEP_BATCH = 100


@db_task(name="deliver_message")
def deliver_message_task(message_id: int) -> str:
    """Deliver one message right after it was queued (skipped if another worker has it)."""
    message = OutboxMessage.objects.filter(pk=message_id).first()
    if message is None:
        return outbox.SKIPPED
    return outbox.deliver_message(message=message)


@db_periodic_task(crontab(minute="*"), name="deliver_outbox")
def deliver_outbox() -> int:
    """Every minute: deliver whatever is due (retries, scheduled sends, missed queue jobs)."""
    started = time.monotonic()
    attempted = 0
    while time.monotonic() - started < SWEEP_BUDGET_SECONDS:
        report = outbox.deliver_due_messages(limit=SWEEP_BATCH)
        attempted += report.attempted
        if report.attempted + report.skipped < SWEEP_BATCH:
            break
    if attempted:
        logger.info("Outbox sweep: %s delivery attempts", attempted)
    return attempted


# 19:30 UTC is 03:30 in Asia/Shanghai: the quietest hour.
@db_periodic_task(crontab(hour="19", minute="30"), name="purge_sent_messages")
def purge_sent_messages() -> int:
    """Daily: delete sent messages older than CXLOOP_OUTBOX_KEEP_DAYS (default 90)."""
    deleted = outbox.purge_sent_messages()
    if deleted:
        logger.info("Outbox purge: deleted %s sent messages", deleted)
    return deleted
