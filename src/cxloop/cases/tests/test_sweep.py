"""The SLA sweep: warning at 80 %, one breach per target, supervisor then head, paused cases
left alone, nothing written when nothing is due, two workers at once, the periodic task."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
import uuid

import pytest
from django.db import connection
from django.utils import timezone
from huey import SqliteHuey
from huey.contrib import djhuey

from cxloop.cases import sla, sweep, tasks
from cxloop.cases.models import Case, CaseEvent, CaseTarget, SlaRule
from cxloop.cases.tests.sla_helpers import (
    SHANGHAI,
    at,
    clock,
    department,
    opened,
    round_the_clock,
    rule,
    staff,
)
from cxloop.core import worker
from cxloop.core.models import OutboxMessage

T = SlaRule.Target
K = CaseEvent.Kind
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def team(db, django_user_model):
    """A department with a supervisor and a head, and an agent who owns the cases."""
    SlaRule.objects.all().delete()  # the defaults from post_migrate would compete
    unit = department("sweep-team")
    supervisor = staff(django_user_model, "lead", unit, supervisor=True)
    unit.head = staff(django_user_model, "head")
    unit.save()
    agent = staff(django_user_model, "agent", unit)
    return {"department": unit, "supervisor": supervisor, "head": unit.head, "agent": agent}


def _case(team, created: dt.datetime, **fields) -> Case:
    fields = {"department": team["department"], "owner": team["agent"], **fields}
    return opened(created_at=created, status=Case.Status.ASSIGNED, **fields)


def _mail_to(user) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(channel="email", recipient=user.email))


def test_the_owner_is_warned_at_80_percent(team):
    rule(T.FIRST_RESPONSE, minutes=15)
    case = _case(team, at("2026-03-11 10:00"))
    assert sweep.sweep_due_targets(now=at("2026-03-11 10:11")).selected == 0
    report = sweep.sweep_due_targets(now=at("2026-03-11 10:12"))
    assert (report.warned, report.breached) == (1, 0)
    target = clock(case, T.FIRST_RESPONSE)
    assert target.warned_at == at("2026-03-11 10:12") and target.next_check_at == target.due_at
    assert target.claimed_until is None
    assert case.events.filter(kind=K.SLA_WARNING).count() == 1
    [message] = _mail_to(team["agent"])
    assert case.number in message.subject and "/cases/" in message.body
    assert not _mail_to(team["supervisor"])


def test_a_warning_waits_for_quiet_hours_unless_the_case_is_urgent(team):
    always = round_the_clock()
    rule(T.RESOLUTION, minutes=100, calendar=always)  # warning after 80 minutes
    evening = (dt.datetime.now(SHANGHAI) + dt.timedelta(days=30)).replace(
        hour=22, minute=0, second=0, microsecond=0
    )  # in the future, so the outbox keeps our send time
    calm = _case(team, evening)
    pressing = _case(team, evening, severity="urgent")
    sweep.sweep_due_targets(now=evening + 80 * MINUTE)  # 23:20, in the 21:00–08:00 window
    held, sent = (
        OutboxMessage.objects.get(payload__case_id=c.pk, channel="email") for c in (calm, pressing)
    )
    morning = (evening + dt.timedelta(days=1)).replace(hour=8)
    assert held.next_attempt_at == morning
    assert sent.next_attempt_at <= timezone.now()  # at once


def test_a_breach_escalates_to_the_supervisors_then_to_the_head(team):
    rule(T.FIRST_RESPONSE, minutes=15)
    case = _case(team, at("2026-03-11 10:00"))
    report = sweep.sweep_due_targets(now=at("2026-03-11 10:15"))
    assert report.breached == 1 and report.warned == 0  # past the deadline: no late warning
    case.refresh_from_db()
    assert case.escalation_level == 1
    escalated = case.events.get(kind=K.ESCALATED)
    assert escalated.data["level"] == 1 and escalated.data["manual"] is False
    [message] = _mail_to(team["supervisor"])
    assert "quick response promise" in message.subject
    target = clock(case, T.FIRST_RESPONSE)
    assert target.next_check_at == at("2026-03-11 10:30")  # overdue for 15 working minutes
    assert sweep.sweep_due_targets(now=at("2026-03-11 10:29")).selected == 0
    report = sweep.sweep_due_targets(now=at("2026-03-11 10:30"))
    assert report.to_head == 1
    case.refresh_from_db()
    assert case.escalation_level == 2
    assert len(_mail_to(team["head"])) == 1
    target.refresh_from_db()
    assert target.escalated_to_head_at == at("2026-03-11 10:30") and target.next_check_at is None


def test_the_head_moment_counts_working_time(db):
    SlaRule.objects.all().delete()
    rule(T.FIRST_RESPONSE, minutes=30)
    case = opened(created_at=at("2026-03-13 17:20"))  # due Fri 17:50, the head on Monday
    sweep.sweep_due_targets(now=at("2026-03-13 17:50"))
    assert clock(case, T.FIRST_RESPONSE).next_check_at == at("2026-03-16 09:20")


@pytest.mark.django_db
def test_two_sweeps_write_one_breach_event_per_target(team):
    rule(T.FIRST_RESPONSE, minutes=15)
    cases = [_case(team, at("2026-03-11 10:00")) for _ in range(3)]
    now = at("2026-03-11 10:20")
    stale = list(CaseTarget.objects.values_list("pk", "next_check_at"))  # read by a slow twin
    assert sweep.sweep_due_targets(now=now).breached == 3
    assert sweep.sweep_due_targets(now=now).selected == 0
    context = sweep._Context(now)
    assert all(sweep._handle(pk, seen, context) == [sweep.SKIPPED] for pk, seen in stale)
    # Even a row put back as if never swept gets no second breach, escalation or message.
    CaseTarget.objects.update(breached_at=None, next_check_at=at("2026-03-11 10:15"))
    assert sweep.sweep_due_targets(now=now).breached == 3
    assert CaseEvent.objects.filter(kind=K.SLA_BREACHED).count() == 3
    assert CaseEvent.objects.filter(kind=K.ESCALATED).count() == 3
    assert len(_mail_to(team["supervisor"])) == 3
    assert {e.case_id for e in CaseEvent.objects.filter(kind=K.SLA_BREACHED)} == {
        c.pk for c in cases
    }


def test_a_user_who_meets_the_target_first_wins(team, monkeypatch):
    rule(T.FIRST_RESPONSE, minutes=15)
    case = _case(team, at("2026-03-11 10:00"))
    original = sweep._stages

    def met_meanwhile(case, target, context):  # the agent replies while the sweep works
        CaseTarget.objects.filter(pk=target.pk).update(met_at=context.now, next_check_at=None)
        return original(case, target, context)

    monkeypatch.setattr(sweep, "_stages", met_meanwhile)
    report = sweep.sweep_due_targets(now=at("2026-03-11 10:15"))
    assert report.lost == 1 and report.breached == 0
    assert not case.events.filter(kind=K.SLA_BREACHED).exists()  # rolled back
    assert clock(case, T.FIRST_RESPONSE).claimed_until is None  # released, not left to expire


def test_paused_cases_are_skipped_until_resumed(team):
    rule(T.FIRST_RESPONSE, minutes=15)
    case = _case(team, at("2026-03-11 10:00"))
    sla.pause(case=case, at=at("2026-03-11 10:05"))
    # A sweep that read the row before the pause still finds it: it must leave it alone.
    CaseTarget.objects.filter(case=case).update(next_check_at=at("2026-03-11 10:15"))
    report = sweep.sweep_due_targets(now=at("2026-03-11 11:00"))
    assert report.paused == 1 and report.breached == 0
    assert clock(case, T.FIRST_RESPONSE).next_check_at is None
    assert not case.events.filter(kind__in=[K.SLA_WARNING, K.SLA_BREACHED]).exists()
    sla.resume(case=case, at=at("2026-03-11 11:00"))
    target = clock(case, T.FIRST_RESPONSE)
    assert target.due_at == at("2026-03-11 11:10") and target.next_check_at is not None


def test_clocks_of_cases_no_longer_open_stop(team):
    rule(T.FIRST_RESPONSE, minutes=15)
    case = _case(team, at("2026-03-11 10:00"))
    Case.objects.filter(pk=case.pk).update(status=Case.Status.CLOSED)
    assert sweep.sweep_due_targets(now=at("2026-03-11 11:00")).stopped == 1
    assert clock(case, T.FIRST_RESPONSE).next_check_at is None
    assert not case.events.filter(kind=K.SLA_BREACHED).exists()


def test_a_sweep_with_nothing_due_is_one_select_and_writes_nothing(
    team, django_assert_max_num_queries
):
    rule(T.FIRST_RESPONSE, minutes=15)
    rule(T.RESOLUTION, minutes=24 * 60)
    for _ in range(5):
        _case(team, at("2026-03-11 10:00"))
    with django_assert_max_num_queries(1) as captured:
        report = sweep.sweep_due_targets(now=at("2026-03-11 10:05"))
    assert report.selected == 0
    assert captured.captured_queries[0]["sql"].lstrip().upper().startswith("SELECT")


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_write_one_breach_per_target(django_user_model):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL; SQLite serialises them")
    SlaRule.objects.all().delete()
    unit = department("race-team")
    supervisor = staff(django_user_model, "race-lead", unit, supervisor=True)
    rule(T.FIRST_RESPONSE, minutes=15)
    for _ in range(40):
        opened(created_at=at("2026-03-11 10:00"), department=unit)
    now, start, reports = at("2026-03-11 10:20"), threading.Barrier(2), []

    def work():
        try:
            start.wait()
            reports.append(sweep.sweep_due_targets(now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(r.breached for r in reports) == 40 and sum(r.claimed for r in reports) == 40
    assert CaseEvent.objects.filter(kind=K.SLA_BREACHED).count() == 40
    assert CaseEvent.objects.filter(kind=K.ESCALATED).count() == 40
    assert OutboxMessage.objects.filter(recipient=supervisor.email).count() == 40
    assert not CaseTarget.objects.filter(claimed_until__isnull=False).exists()


# --- the periodic task ---------------------------------------------------------------------


def test_the_sweep_runs_every_minute():
    due = {type(t).__name__ for t in djhuey.HUEY.read_periodic(dt.datetime(2026, 3, 11, 10, 7))}
    assert "sweep_case_deadlines" in due


def test_the_task_is_idempotent(team):
    rule(T.FIRST_RESPONSE, minutes=15, calendar=round_the_clock())  # due whatever the hour
    _case(team, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    assert tasks.sweep_case_deadlines.call_local() == 1  # breached (and warned past)
    assert tasks.sweep_case_deadlines.call_local() == 0
    assert CaseEvent.objects.filter(kind=K.SLA_BREACHED).count() == 1


@pytest.fixture
def restore_process_state():
    """The consumer installs signal handlers and retargets logging: undo both."""
    import logging

    signals = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    loggers = [logging.getLogger(name) for name in ("huey", "cxloop")]
    saved = [(lg, list(lg.handlers), lg.propagate, lg.level) for lg in loggers]
    yield
    for sig, handler in signals.items():
        signal.signal(sig, handler)
    for lg, handlers, propagate, level in saved:
        lg.handlers[:] = handlers
        lg.propagate, lg.level = propagate, level


@pytest.mark.django_db(transaction=True)
def test_the_sweep_runs_in_a_real_consumer(
    tmp_path, monkeypatch, django_user_model, restore_process_state
):
    SlaRule.objects.all().delete()
    rule(T.FIRST_RESPONSE, minutes=15, calendar=round_the_clock())
    case = opened(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    queue = SqliteHuey(name=f"cxloop-test-{uuid.uuid4().hex}", filename=str(tmp_path / "q.db"))
    done = threading.Event()

    def sweep_and_signal():
        try:
            return tasks.sweep_case_deadlines.call_local()
        finally:
            connection.close()  # the worker thread's own connection
            done.set()

    result = queue.task(name="sweep_case_deadlines")(sweep_and_signal)()
    monkeypatch.setattr(djhuey, "HUEY", queue)
    plain_handler = signal.getsignal(signal.SIGINT)

    def stop_when_done():
        done.wait(timeout=20)
        deadline = time.monotonic() + 5
        while signal.getsignal(signal.SIGINT) is plain_handler and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C does: a graceful stop

    threading.Thread(target=stop_when_done, daemon=True).start()
    worker.run_worker(threads=1, periodic=False)
    assert result.get(blocking=True, timeout=5) == 1
    assert case.events.filter(kind=K.SLA_BREACHED).count() == 1
