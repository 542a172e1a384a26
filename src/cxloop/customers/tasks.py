"""Background jobs of the customers app."""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from cxloop.customers.models import ImportJob

logger = logging.getLogger(__name__)
# A chunk of 10,000 rows takes seconds; a quarter of an hour of silence means the worker died.
STALLED_AFTER = dt.timedelta(minutes=15)
MAX_RUNS = 3


@db_task()
def run_import_task(job_id: int) -> None:
    """Run a queued import once, however often the task is delivered.

    The job is claimed with a conditional UPDATE (pending → running): a second delivery, or a
    second worker, finds nothing to claim and returns.
    """
    from cxloop.customers.importing import fail_job, run_import

    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.PENDING).update(
        status=ImportJob.Status.RUNNING, heartbeat_at=timezone.now(), run_count=F("run_count") + 1
    )
    if not claimed:
        logger.info("import %s: already taken or finished, skipped", job_id)
        return
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    try:
        run_import(job=job, actor=job.created_by)
    except Exception:
        logger.exception("import %s failed", job_id)
        fail_job(job, _("The import stopped because of an internal error."))
        raise


@db_periodic_task(crontab(minute="*/5"), name="recover_stalled_imports")
def recover_stalled_imports() -> int:
    """Put imports whose worker died back in the queue (imports are idempotent upserts).

    Each job is released with a conditional UPDATE on the heartbeat it was seen with, so two
    sweepers never requeue one job twice. After ``MAX_RUNS`` runs a job fails for a person to see.
    """
    from cxloop.customers.importing import fail_job

    stale_before = timezone.now() - STALLED_AFTER
    stalled = ImportJob.objects.filter(
        status=ImportJob.Status.RUNNING, heartbeat_at__lt=stale_before
    ).exclude(file_path="")
    requeued = 0
    for job in stalled[:100]:
        if job.run_count >= MAX_RUNS:
            fail_job(job, _("The import stopped several times without finishing."))
            continue
        released = ImportJob.objects.filter(
            pk=job.pk, status=ImportJob.Status.RUNNING, heartbeat_at=job.heartbeat_at
        ).update(status=ImportJob.Status.PENDING)
        if released:
            logger.warning("import %s: worker stopped answering, queued again", job.pk)
            run_import_task(job.pk)
            requeued += 1
    return requeued
