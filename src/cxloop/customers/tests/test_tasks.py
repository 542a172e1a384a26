"""Background import jobs survive a worker that dies mid-import."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cxloop.customers.importing import upload_dir
from cxloop.customers.models import Customer, ImportJob
from cxloop.customers.tasks import MAX_RUNS, recover_stalled_imports, run_import_task


def _stuck_job(tmp_name: str, *, minutes_silent: int, runs: int = 1) -> ImportJob:
    path = upload_dir() / tmp_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("external_id,name\nS1,孙一\nS2,孙二\n", encoding="utf-8")
    return ImportJob.objects.create(
        kind=ImportJob.Kind.CUSTOMERS,
        file_name="stuck.csv",
        file_path=str(path),
        status=ImportJob.Status.RUNNING,
        heartbeat_at=timezone.now() - dt.timedelta(minutes=minutes_silent),
        run_count=runs,
    )


@pytest.mark.django_db
def test_a_stalled_import_is_queued_again_and_finishes():
    stalled = _stuck_job("stalled.csv", minutes_silent=30)
    busy = _stuck_job("busy.csv", minutes_silent=1)
    assert recover_stalled_imports.call_local() == 1
    stalled.refresh_from_db()
    busy.refresh_from_db()
    assert stalled.status == ImportJob.Status.DONE and stalled.run_count == 2
    assert stalled.created_count == 2
    assert busy.status == ImportJob.Status.RUNNING  # still alive: left alone
    assert Customer.objects.filter(external_id__in=["S1", "S2"]).count() == 2


@pytest.mark.django_db
def test_a_job_that_keeps_dying_fails_for_a_person_to_see():
    job = _stuck_job("doomed.csv", minutes_silent=30, runs=MAX_RUNS)
    assert recover_stalled_imports.call_local() == 0
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert "several times" in job.message


@pytest.mark.django_db
def test_a_finished_job_is_not_run_twice():
    job = _stuck_job("twice.csv", minutes_silent=0, runs=0)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.PENDING)
    run_import_task.call_local(job.pk)
    run_import_task.call_local(job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.run_count == 1
