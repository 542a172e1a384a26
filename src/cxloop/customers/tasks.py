"""Background jobs of the customers app."""

from __future__ import annotations

import logging

from django.utils.translation import gettext as _
from huey.contrib.djhuey import db_task

from cxloop.customers.models import ImportJob

logger = logging.getLogger(__name__)


@db_task()
def run_import_task(job_id: int) -> None:
    """Run a queued import once, however often the task is delivered.

    The job is claimed with a conditional UPDATE (pending → running): a second delivery, or a
    second worker, finds nothing to claim and returns.
    """
    from cxloop.customers.importing import fail_job, run_import

    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.PENDING).update(
        status=ImportJob.Status.RUNNING
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
