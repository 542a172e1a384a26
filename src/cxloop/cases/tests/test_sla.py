"""SLA clocks through ``cases.sla`` with real rules and real calendar rows.

The standard calendar: Mon–Fri 09:00–12:00 and 13:30–18:00 (7.5 h a day), Chinese public
holidays and make-up days. Spring Festival 2026: Sat 14 Feb is worked, 15–23 Feb are off.
National Day 2026: Sun 20 Sep is worked, 1–7 Oct are off, Sat 10 Oct is worked.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxloop.cases import defaults, sla
from cxloop.cases.models import Case, CaseEvent, CaseTarget, Category, Department, SlaRule
from cxloop.cases.tests.sla_helpers import (
    BERLIN,
    SHANGHAI,
    at,
    calendar,
    clock,
    department,
    make_case,
    opened,
    round_the_clock,
    rule,
)
from cxloop.core.business_time import is_working_time
from cxloop.core.calendars import default_calendar, to_working_calendar

pytestmark = pytest.mark.django_db
T = SlaRule.Target
HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _only_the_tests_rules(db):
    SlaRule.objects.all().delete()  # the defaults from post_migrate would compete


def _moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# --- rule choice ---------------------------------------------------------------------------


def test_the_most_specific_rule_wins():
    base = rule(T.FIRST_RESPONSE, minutes=10)
    phone = rule(T.FIRST_RESPONSE, minutes=15, channel="hotline")
    vip = rule(T.FIRST_RESPONSE, minutes=3, tier="vip")
    urgent = rule(T.FIRST_RESPONSE, minutes=120, severity="urgent")
    both = rule(T.FIRST_RESPONSE, minutes=5, channel="hotline", severity="urgent")
    created = at("2026-03-11 10:00")

    def chosen(**fields):
        return sla.rule_for(case=make_case(created_at=created, **fields), target=T.FIRST_RESPONSE)

    assert chosen(channel="store") == base
    assert chosen(channel="hotline") == phone
    assert chosen(channel="hotline", tier="vip") == vip  # the tier beats the channel
    assert chosen(channel="store", severity="urgent") == urgent
    assert chosen(channel="chat", severity="urgent", tier="vip") == vip  # tier beats severity
    assert chosen(channel="hotline", severity="urgent") == both  # two fields beat one
    assert sla.rule_for(case=make_case(created_at=created), target=T.CALLBACK) is None


def test_major_only_rules_are_for_major_complaints_and_beat_the_others():
    general = rule(T.RESOLUTION, minutes=24 * 60, channel="hotline", severity="general")
    major = rule(T.RESOLUTION, minutes=24 * 60, major_only=True, calendar=round_the_clock())
    created = at("2026-03-11 10:00")
    assert sla.rule_for(case=make_case(created_at=created), target=T.RESOLUTION) == general
    case = make_case(created_at=created, is_major=True)
    assert sla.rule_for(case=case, target=T.RESOLUTION) == major


def test_inactive_and_empty_rules_are_ignored():
    rule(T.FIRST_RESPONSE, minutes=1, is_active=False)
    rule(T.FIRST_RESPONSE)  # neither minutes nor working days
    case = make_case(created_at=at("2026-03-11 10:00"))
    assert sla.rule_for(case=case, target=T.FIRST_RESPONSE) is None


def test_equally_specific_rules_give_the_earlier_deadline():
    working = rule(T.FIRST_RESPONSE, minutes=30, channel="hotline")
    always = rule(T.FIRST_RESPONSE, minutes=60, channel="hotline", calendar=round_the_clock())
    day = make_case(created_at=at("2026-03-11 10:00"))
    night = make_case(created_at=at("2026-03-13 20:00"))  # a Friday evening
    assert sla.rule_for(case=day, target=T.FIRST_RESPONSE) == working  # 10:30 before 11:00
    assert sla.rule_for(case=night, target=T.FIRST_RESPONSE) == always  # 21:00 before Monday


def test_the_default_rules_combine_channel_tier_and_severity():
    defaults.ensure_defaults()
    created = at("2026-03-11 10:00")

    def first_response(**fields):
        case = opened(created_at=created, **fields)
        return clock(case, T.FIRST_RESPONSE).due_at - created

    minutes = dt.timedelta(minutes=1)
    assert first_response(channel="hotline") == 15 * minutes
    assert first_response(channel="chat") == 30 * minutes
    assert first_response(channel="email") == 30 * minutes
    assert first_response(channel="store") == 10 * minutes
    assert first_response(channel="hotline", tier="vip") == 3 * minutes
    assert first_response(channel="chat", severity="urgent") == 120 * minutes
    assert first_response(channel="chat", severity="urgent", tier="vip") == 3 * minutes
    email = opened(created_at=created, channel="email")
    assert clock(email, T.RESOLUTION).due_at == at("2026-03-16 18:00")  # 3 working days
    important = opened(created_at=created, channel="email", severity="important")
    assert clock(important, T.RESOLUTION).rule.minutes == 48 * 60


def test_defaults_are_created_once_and_only_into_empty_tables():
    Category.objects.all().delete()
    Department.objects.all().delete()
    made = defaults.ensure_defaults()
    assert made == {"departments": 5, "categories": 8, "rules": SlaRule.objects.count()}
    assert made["rules"] > 10
    assert defaults.ensure_defaults() == {"departments": 0, "categories": 0, "rules": 0}
    product = Category.objects.select_related("default_department").get(code="product")
    assert (product.name, product.default_department.name) == ("产品质量", "产品部")
    SlaRule.objects.filter(target=T.CALLBACK).delete()  # a manager's choice stays
    assert defaults.ensure_defaults()["rules"] == 0


# --- calendars -----------------------------------------------------------------------------


def test_calendar_choice_rule_then_urgent_then_department_then_default():
    berlin = calendar("Berlin office", time_zone="Europe/Berlin")
    own = rule(T.RESOLUTION, minutes=60, calendar=berlin)
    plain = rule(T.RESOLUTION, minutes=60, channel="store")
    team = department("berlin-team", calendar=berlin)
    created = at("2026-03-11 10:00")
    urgent = make_case(created_at=created, severity="urgent", department=team)
    routed = make_case(created_at=created, department=team)
    alone = make_case(created_at=created)
    assert sla.calendar_for(case=urgent, rule=own) == to_working_calendar(berlin)
    assert sla.calendar_for(case=urgent, rule=plain).always_open
    assert sla.calendar_for(case=routed, rule=plain) == to_working_calendar(berlin)
    assert sla.calendar_for(case=alone, rule=plain) == to_working_calendar(default_calendar())


# --- deadlines -----------------------------------------------------------------------------


def test_start_clocks_sets_deadlines_event_and_next_due():
    rule(T.FIRST_RESPONSE, minutes=15, channel="hotline")
    rule(T.RESOLUTION, minutes=24 * 60)
    rule(T.PROGRESS_UPDATE, minutes=24 * 60)
    rule(T.MANAGEMENT_NOTICE, minutes=120, major_only=True, calendar=round_the_clock())
    case = make_case(created_at=at("2026-03-11 11:50"))
    made = sla.start_clocks(case=case, now=case.created_at)
    assert {t.kind for t in made} == {T.FIRST_RESPONSE, T.RESOLUTION, T.PROGRESS_UPDATE}
    first = clock(case, T.FIRST_RESPONSE)
    assert first.due_at == at("2026-03-11 13:35")  # 10 minutes before lunch, 5 after
    assert first.warn_at == at("2026-03-11 13:32")  # 80 % = 12 minutes
    assert first.next_check_at == first.warn_at
    case.refresh_from_db()
    assert case.next_due_at == first.due_at
    event = case.events.get(kind=CaseEvent.Kind.SLA_SET)
    assert set(event.data["due"]) == {T.FIRST_RESPONSE, T.RESOLUTION, T.PROGRESS_UPDATE}
    assert sla.start_clocks(case=case, now=case.created_at) == []  # running clocks stay
    major = make_case(created_at=at("2026-03-11 11:50"), is_major=True)
    sla.start_clocks(case=major, now=major.created_at)
    assert clock(major, T.MANAGEMENT_NOTICE).due_at == at("2026-03-11 13:50")  # 7×24


def test_weekend_and_a_callback_started_on_demand():
    rule(T.FIRST_RESPONSE, minutes=15)
    rule(T.CALLBACK, working_days=3)
    case = opened(created_at=at("2026-03-13 17:55"))  # a Friday
    assert clock(case, T.FIRST_RESPONSE).due_at == at("2026-03-16 09:10")
    assert not case.targets.filter(kind=T.CALLBACK).exists()
    sla.start_clocks(case=case, now=at("2026-03-13 17:55"), kinds=[T.CALLBACK])
    assert clock(case, T.CALLBACK).due_at == at("2026-03-18 18:00")  # Mon, Tue, Wed


def test_spring_festival_2026_with_its_make_up_saturday():
    rule(T.FIRST_RESPONSE, minutes=15)
    rule(T.RESOLUTION, minutes=24 * 60)
    rule(T.CALLBACK, working_days=3)
    case = opened(created_at=at("2026-02-13 17:00"), kinds=[T.RESOLUTION, T.CALLBACK])
    # Fri 1 h + Sat 14 Feb (worked) 7.5 h + Tue 24 and Wed 25 Feb 15 h + 0.5 h on Thu.
    assert clock(case, T.RESOLUTION).due_at == at("2026-02-26 09:30")
    assert clock(case, T.CALLBACK).due_at == at("2026-02-25 18:00")  # Sat 14, Tue 24, Wed 25
    late = opened(created_at=at("2026-02-13 17:55"))
    assert clock(late, T.FIRST_RESPONSE).due_at == at("2026-02-14 09:10")  # the Saturday
    holiday = opened(created_at=at("2026-02-21 10:00"))  # a Saturday inside the holiday
    assert clock(holiday, T.FIRST_RESPONSE).due_at == at("2026-02-24 09:15")


def test_national_day_2026_with_its_make_up_days():
    rule(T.FIRST_RESPONSE, minutes=10)
    rule(T.RESOLUTION, minutes=24 * 60)
    rule(T.CALLBACK, working_days=3)
    sunday = opened(created_at=at("2026-09-19 20:00"))
    assert clock(sunday, T.FIRST_RESPONSE).due_at == at("2026-09-20 09:10")  # Sun, worked
    case = opened(created_at=at("2026-09-30 17:00"), kinds=[T.RESOLUTION, T.CALLBACK])
    # Wed 1 h, 1–7 Oct off, Thu 8 + Fri 9 + Sat 10 Oct (worked) 22.5 h, Mon 12 Oct 0.5 h.
    assert clock(case, T.RESOLUTION).due_at == at("2026-10-12 09:30")
    assert clock(case, T.CALLBACK).due_at == at("2026-10-10 18:00")  # Thu 8, Fri 9, Sat 10


def test_shanghai_has_no_dst_but_a_berlin_calendar_does():
    berlin = calendar("Berlin office", time_zone="Europe/Berlin")
    rule(T.FIRST_RESPONSE, minutes=60)
    moment = at("2026-03-27 17:30", BERLIN)  # Friday, CET; the clocks go forward on Sunday
    here = opened(created_at=moment)
    there = opened(created_at=moment, department=department("berlin", calendar=berlin))
    assert clock(there, T.FIRST_RESPONSE).due_at == at("2026-03-30 09:30", BERLIN)  # CEST
    assert clock(here, T.FIRST_RESPONSE).due_at == at("2026-03-30 10:00")  # Sat 00:30 here
    gap = clock(there, T.FIRST_RESPONSE).due_at - moment
    assert gap == dt.timedelta(days=2, hours=15)  # real time: one hour fewer than the wall


def test_round_the_clock_counts_real_hours_across_both_dst_switches():
    always = round_the_clock("Berlin 7×24", time_zone="Europe/Berlin")
    rule(T.FIRST_RESPONSE, minutes=120, calendar=always)
    spring = opened(created_at=at("2026-03-29 01:30", BERLIN))
    assert clock(spring, T.FIRST_RESPONSE).due_at == at("2026-03-29 04:30", BERLIN)
    autumn_start = dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)  # 02:30 CEST, first time
    autumn = opened(created_at=autumn_start)
    due = clock(autumn, T.FIRST_RESPONSE).due_at
    assert due - autumn_start == 2 * HOUR
    assert due.astimezone(BERLIN).strftime("%H:%M %Z") == "03:30 CET"


# --- pause and resume ----------------------------------------------------------------------


def test_pause_stops_the_clocks_and_resume_moves_them_by_the_working_time_paused():
    rule(T.FIRST_RESPONSE, minutes=15)
    rule(T.RESOLUTION, minutes=24 * 60)
    case = opened(created_at=at("2026-03-11 09:00"))
    resolution = clock(case, T.RESOLUTION)
    assert resolution.due_at == at("2026-03-16 10:30")
    assert resolution.warn_at == at("2026-03-13 14:42")  # 80 % = 19 h 12 min
    sla.pause(case=case, at=at("2026-03-11 10:00"))
    case.refresh_from_db()
    assert case.paused_at == at("2026-03-11 10:00")
    assert not case.targets.filter(next_check_at__isnull=False).exists()
    sla.resume(case=case, at=at("2026-03-11 15:00"))  # 2 h before lunch, 1.5 h after
    case.refresh_from_db()
    resolution.refresh_from_db()
    assert case.paused_at is None
    assert resolution.due_at == at("2026-03-16 15:30")
    assert resolution.warn_at == at("2026-03-16 09:12")
    assert resolution.paused_seconds == 3.5 * 3600
    assert resolution.next_check_at == resolution.warn_at
    # The first response was due at 09:15, before the pause: a missed deadline stays missed.
    assert clock(case, T.FIRST_RESPONSE).due_at == at("2026-03-11 09:15")
    event = case.events.get(kind=CaseEvent.Kind.SLA_SET, data__reason=sla.RESUMED)
    assert _moment(event.data["after"][T.RESOLUTION]) == at("2026-03-16 15:30")
    assert _moment(event.data["before"][T.RESOLUTION]) == at("2026-03-16 10:30")


def test_a_pause_outside_working_hours_moves_nothing():
    rule(T.RESOLUTION, minutes=24 * 60)
    case = opened(created_at=at("2026-03-11 09:00"))
    due = clock(case, T.RESOLUTION).due_at
    sla.pause(case=case, at=at("2026-03-11 12:05"))
    sla.resume(case=case, at=at("2026-03-11 13:25"))
    assert clock(case, T.RESOLUTION).due_at == due
    assert clock(case, T.RESOLUTION).paused_seconds == 0


def test_working_seconds_leave_the_pauses_out():
    rule(T.RESOLUTION, minutes=24 * 60)
    case = opened(created_at=at("2026-03-11 09:00"))
    sla.pause(case=case, at=at("2026-03-11 10:00"))
    target = clock(case, T.RESOLUTION)
    # 1 h worked before the pause; the running pause does not count either.
    assert sla.working_seconds_to(case=case, target=target, at=at("2026-03-11 11:00")) == 3600
    sla.resume(case=case, at=at("2026-03-11 15:00"))
    met = sla.meet(case=case, kind=T.RESOLUTION, at=at("2026-03-12 10:00"))
    assert sla.working_seconds_to(case=case, target=met, at=at("2026-03-20 10:00")) == 5 * 3600
    event = case.events.get(kind=CaseEvent.Kind.SLA_MET)
    assert event.data["working_seconds"] == 5 * 3600 and event.data["on_time"] is True


# --- meeting targets -----------------------------------------------------------------------


def test_meet_stops_the_clock_once_and_says_whether_on_time():
    rule(T.FIRST_RESPONSE, minutes=15)
    rule(T.RESOLUTION, minutes=24 * 60)
    case = opened(created_at=at("2026-03-11 09:00"))
    met = sla.meet(case=case, kind=T.FIRST_RESPONSE, at=at("2026-03-11 09:20"))
    assert met.met_at == at("2026-03-11 09:20") and met.next_check_at is None
    assert sla.meet(case=case, kind=T.FIRST_RESPONSE, at=at("2026-03-11 09:30")) is None
    event = case.events.get(kind=CaseEvent.Kind.SLA_MET)
    assert event.data == {**event.data, "kind": T.FIRST_RESPONSE, "on_time": False,
                          "working_seconds": 20 * 60}  # fmt: skip
    case.refresh_from_db()
    assert case.next_due_at == clock(case, T.RESOLUTION).due_at
    assert sla.meet(case=case, kind=T.CALLBACK, at=at("2026-03-11 09:30")) is None


def test_a_progress_update_restarts_the_progress_clock_on_the_same_row():
    rule(T.PROGRESS_UPDATE, minutes=24 * 60)
    case = opened(created_at=at("2026-03-11 09:00"))
    before = clock(case, T.PROGRESS_UPDATE)
    CaseTarget.objects.filter(pk=before.pk).update(warned_at=at("2026-03-13 14:42"))
    again = sla.touch_progress(case=case, at=at("2026-03-12 10:00"))
    assert again.pk == before.pk and again.started_at == at("2026-03-12 10:00")
    assert again.due_at == at("2026-03-17 11:30") and again.warned_at is None
    event = case.events.get(kind=CaseEvent.Kind.SLA_MET)
    assert event.data["on_time"] is True
    assert _moment(event.data["due_at"]) == before.due_at
    assert sla.local_text(before.due_at) in event.body  # the run that ended, not the new one
    assert _moment(event.data["next_due_at"]) == again.due_at


def test_an_escalation_gets_a_two_hour_answer_clock_even_without_a_rule():
    case = make_case(created_at=at("2026-03-13 17:00"), escalation_level=1)
    first = sla.start_escalation_answer(case=case, at=at("2026-03-13 17:00"))
    assert first.due_at == at("2026-03-13 19:00") and first.cycle == 1 and first.rule is None
    case.escalation_level = 2
    second = sla.start_escalation_answer(case=case, at=at("2026-03-13 18:00"))
    assert second.cycle == 2 and second.due_at == at("2026-03-13 20:00")
    assert sla.meet(case=case, kind=T.ESCALATION_ANSWER, at=at("2026-03-13 18:30")) == second


# --- recomputation -------------------------------------------------------------------------


def test_recompute_after_a_severity_change_counts_from_the_start():
    rule(T.RESOLUTION, minutes=24 * 60)
    rule(T.RESOLUTION, minutes=24 * 60, severity="urgent", calendar=round_the_clock())
    case = opened(created_at=at("2026-03-11 09:00"))
    assert clock(case, T.RESOLUTION).due_at == at("2026-03-16 10:30")
    case.severity = "urgent"
    case.save()
    sla.recompute(case=case, at=at("2026-03-11 10:00"), reason="severity")
    assert clock(case, T.RESOLUTION).due_at == at("2026-03-12 09:00")
    event = case.events.filter(kind=CaseEvent.Kind.SLA_SET).last()
    assert event.data["reason"] == "severity"
    assert _moment(event.data["before"][T.RESOLUTION]) == at("2026-03-16 10:30")
    assert _moment(event.data["after"][T.RESOLUTION]) == at("2026-03-12 09:00")
    case.refresh_from_db()
    assert case.next_due_at == at("2026-03-12 09:00")
    count = case.events.count()
    sla.recompute(case=case, at=at("2026-03-11 10:05"), reason="nothing changed")
    assert case.events.count() == count


def test_recompute_counts_past_pauses_in_the_new_calendar():
    rule(T.RESOLUTION, minutes=24 * 60)
    case = opened(created_at=at("2026-03-13 17:00"))  # Friday
    sla.pause(case=case, at=at("2026-03-13 17:30"))
    sla.resume(case=case, at=at("2026-03-16 10:00"))  # Monday; 1.5 working hours paused
    assert clock(case, T.RESOLUTION).paused_seconds == 1.5 * 3600
    case.severity = "urgent"  # now 7×24: the whole weekend of waiting is pause time
    case.save()
    sla.recompute(case=case, at=at("2026-03-16 10:00"), reason="severity")
    target = clock(case, T.RESOLUTION)
    assert target.paused_seconds == 64.5 * 3600
    assert target.due_at == at("2026-03-17 09:30")  # Sat 17:00 + 64.5 h


def test_recompute_resets_a_warning_that_moved_into_the_future():
    rule(T.RESOLUTION, minutes=24 * 60)
    rule(T.RESOLUTION, minutes=48 * 60, severity="important")
    case = opened(created_at=at("2026-03-11 09:00"))
    CaseTarget.objects.filter(case=case).update(warned_at=at("2026-03-13 14:42"))
    case.severity = "important"
    case.save()
    sla.recompute(case=case, at=at("2026-03-13 15:00"), reason="severity")
    target = clock(case, T.RESOLUTION)
    assert target.warned_at is None and target.next_check_at == target.warn_at
    assert target.warn_at > at("2026-03-13 15:00")


def test_recompute_adds_clocks_that_now_apply_and_drops_those_that_do_not():
    always = round_the_clock()
    rule(T.FIRST_RESPONSE, minutes=15, channel="hotline")
    rule(T.RESOLUTION, minutes=24 * 60)
    major = rule(T.RESOLUTION, minutes=24 * 60, major_only=True, calendar=always)
    rule(T.MANAGEMENT_NOTICE, minutes=120, major_only=True, calendar=always)
    case = opened(created_at=at("2026-03-13 17:00"))
    case.channel, case.is_major = "store", True
    case.save()
    sla.recompute(case=case, at=at("2026-03-13 18:00"), reason="details changed")
    assert not case.targets.filter(kind=T.FIRST_RESPONSE).exists()
    assert clock(case, T.RESOLUTION).rule == major
    assert clock(case, T.RESOLUTION).due_at == at("2026-03-14 17:00")
    assert clock(case, T.MANAGEMENT_NOTICE).due_at == at("2026-03-13 20:00")
    event = case.events.filter(kind=CaseEvent.Kind.SLA_SET).last()
    assert event.data["dropped"] == [T.FIRST_RESPONSE]
    assert event.data["added"] == [T.MANAGEMENT_NOTICE]


def test_recompute_keeps_a_breached_clock_no_rule_covers():
    phone = rule(T.FIRST_RESPONSE, minutes=15, channel="hotline")
    case = opened(created_at=at("2026-03-11 09:00"))
    CaseTarget.objects.filter(case=case).update(breached_at=at("2026-03-11 09:15"))
    phone.delete()
    sla.recompute(case=case, at=at("2026-03-11 10:00"), reason="rules changed")
    assert clock(case, T.FIRST_RESPONSE).breached_at == at("2026-03-11 09:15")


# --- reopen --------------------------------------------------------------------------------


def test_a_reopened_case_gets_fresh_clocks_for_its_new_cycle():
    rule(T.RESOLUTION, minutes=24 * 60)
    rule(T.PROGRESS_UPDATE, minutes=24 * 60)
    case = opened(created_at=at("2026-03-11 09:00"))
    sla.meet(case=case, kind=T.RESOLUTION, at=at("2026-03-12 09:00"))
    sla.meet(case=case, kind=T.PROGRESS_UPDATE, at=at("2026-03-12 09:00"))
    case.status, case.resolution_cycle = Case.Status.ASSIGNED, 2
    case.save()
    made = sla.start_cycle(case=case, at=at("2026-03-20 16:00"))
    assert {(t.kind, t.cycle) for t in made} == {(T.RESOLUTION, 2), (T.PROGRESS_UPDATE, 2)}
    # Fri 2 h, Mon 7.5 h, Tue 7.5 h, Wed 3 h before lunch and 4 h after.
    assert clock(case, T.RESOLUTION, 2).due_at == at("2026-03-25 17:30")
    assert clock(case, T.RESOLUTION, 1).met_at == at("2026-03-12 09:00")
    case.refresh_from_db()
    assert case.next_due_at == at("2026-03-25 17:30")


# --- invariants ----------------------------------------------------------------------------

STARTS = st.datetimes(
    min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 12, 20),
    timezones=st.just(SHANGHAI),
)  # fmt: skip
INVARIANT = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _rolled_back(check):
    """Run ``check`` in a savepoint that is always rolled back: examples share one test."""
    with transaction.atomic():
        check()
        transaction.set_rollback(True)


@INVARIANT
@given(start=STARTS, minutes=st.integers(1, 4000), days=st.integers(0, 8))
def test_a_deadline_never_falls_outside_working_time(db, start, minutes, days):
    def check():
        rule(T.FIRST_RESPONSE, minutes=minutes)
        rule(T.CALLBACK, working_days=days)
        case = opened(created_at=start, kinds=[T.FIRST_RESPONSE, T.CALLBACK])
        cal = sla.calendar_for(case=case, rule=None)
        for target in case.targets.all():
            # The deadline is the moment the working time runs out: just before it, work.
            assert is_working_time(cal, target.due_at - dt.timedelta(seconds=1))

    _rolled_back(check)


@INVARIANT
@given(start=STARTS, minutes=st.integers(1, 3000), more=st.integers(0, 3000))
def test_more_minutes_never_give_an_earlier_deadline(db, start, minutes, more):
    def check():
        own = rule(T.RESOLUTION, minutes=minutes)
        case = opened(created_at=start, kinds=[T.RESOLUTION])
        first = clock(case, T.RESOLUTION).due_at
        SlaRule.objects.filter(pk=own.pk).update(minutes=minutes + more)
        sla.recompute(case=case, at=start, reason="rule changed")
        assert clock(case, T.RESOLUTION).due_at >= first

    _rolled_back(check)


@INVARIANT
@given(
    start=STARTS,
    offset=st.integers(0, 5 * 24 * 60),
    pause=st.integers(0, 4 * 24 * 60),
    more=st.integers(0, 4 * 24 * 60),
)
def test_a_longer_pause_never_gives_an_earlier_deadline(db, start, offset, pause, more):
    def check():
        rule(T.RESOLUTION, minutes=24 * 60)
        began = start + dt.timedelta(minutes=offset)
        dues = []
        for length in (pause, pause + more):
            case = opened(created_at=start, kinds=[T.RESOLUTION])
            sla.pause(case=case, at=began)
            sla.resume(case=case, at=began + dt.timedelta(minutes=length))
            dues.append(clock(case, T.RESOLUTION).due_at)
        assert dues[1] >= dues[0]

    _rolled_back(check)
