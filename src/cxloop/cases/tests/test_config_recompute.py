"""Recomputing open cases' deadlines after an SLA rule, a calendar or a department's calendar
changed: which cases (an SQL filter over open cases), the queued task (immediate in tests, run
when the change commits), batches, and that a second run changes nothing.

Calendars here have no public holidays, so the working-time arithmetic is plain: Mon–Fri
09:00–12:00 and 13:30–18:00 (7.5 h a day) unless a test removes the lunch break.
"""

from __future__ import annotations

import datetime as dt

import pytest

from cxloop.cases import config_rules, config_services, sla, tasks
from cxloop.cases.models import Case, CaseEvent, CaseTarget, SlaRule
from cxloop.cases.tests.sla_helpers import at, calendar, clock, department, opened, rule
from cxloop.core import calendars

pytestmark = pytest.mark.django_db
T = SlaRule.Target
LUNCH = [["09:00", "12:00"], ["13:30", "18:00"]]
NO_LUNCH = [["09:00", "18:00"]]
WEDNESDAY = "2026-03-11 09:00"


@pytest.fixture(autouse=True)
def _only_the_tests_rules(db):
    SlaRule.objects.all().delete()  # the defaults from post_migrate would compete


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run what the change queued after its commit (the queue itself is immediate in tests)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def hours(name: str, weekly=LUNCH, **fields):
    return calendar(name, use_chinese_holidays=False, weekly_hours=dict.fromkeys("01234", weekly),
                    **fields)  # fmt: skip


def seven_by_24():
    return calendars.round_the_clock_calendar()


def recomputed_events(case: Case) -> list[CaseEvent]:
    rows = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.SLA_SET)
    return list(rows.exclude(data__reason="started").order_by("pk"))


def due(case: Case, kind: str = T.RESOLUTION) -> dt.datetime:
    return clock(case, kind).due_at


# --- SLA rules -------------------------------------------------------------------------------


def test_changing_a_resolution_rule_moves_open_cases_only(owner, on_commit):
    always = seven_by_24()
    resolution = rule(T.RESOLUTION, minutes=600, calendar=always)
    first = rule(T.FIRST_RESPONSE, minutes=60, calendar=always)
    start = at(WEDNESDAY)
    open_case = opened(created_at=start)
    sla.meet(case=open_case, kind=T.FIRST_RESPONSE, at=start + dt.timedelta(minutes=20))
    closed = opened(created_at=start)
    Case.objects.filter(pk=closed.pk).update(status=Case.Status.CLOSED)
    assert due(open_case) == start + dt.timedelta(hours=10)

    with on_commit():
        saved = config_rules.update_sla_rule(rule=resolution, actor=owner, minutes=1200)
    assert saved.recalculating == 1
    assert due(open_case) == start + dt.timedelta(hours=20)
    assert due(closed) == start + dt.timedelta(hours=10)  # closed: untouched
    met = clock(open_case, T.FIRST_RESPONSE)
    assert met.due_at == start + dt.timedelta(hours=1) and met.met_at is not None
    [event] = recomputed_events(open_case)
    assert event.data["reason"] == f"SLA rule {resolution.pk} changed"
    assert event.actor == owner
    assert event.data["after"]["resolution"] == (start + dt.timedelta(hours=20)).isoformat()
    assert recomputed_events(closed) == []

    # A change of the first-response rule leaves the met first-response clock alone.
    with on_commit():
        config_rules.update_sla_rule(rule=first, actor=owner, minutes=5)
    assert clock(open_case, T.FIRST_RESPONSE).due_at == start + dt.timedelta(hours=1)
    assert len(recomputed_events(open_case)) == 1


def test_running_the_task_twice_changes_nothing_the_second_time(owner, on_commit):
    resolution = rule(T.RESOLUTION, minutes=600, calendar=seven_by_24())
    cases = [opened(created_at=at(WEDNESDAY)) for _ in range(3)]
    with on_commit():
        config_rules.update_sla_rule(rule=resolution, actor=owner, minutes=900)
    after_first = {case.pk: due(case) for case in cases}
    events = CaseEvent.objects.count()
    targets = list(CaseTarget.objects.order_by("pk").values())

    again = tasks.recompute_case_deadlines.call_local(config_rules.RULE, resolution.pk, owner.pk)
    assert again == 3  # it looked at every case …
    assert CaseEvent.objects.count() == events  # … and nothing moved, so nothing was written
    assert list(CaseTarget.objects.order_by("pk").values()) == targets
    assert {case.pk: due(case) for case in cases} == after_first


def test_a_new_more_specific_rule_takes_over_the_cases_it_matches(owner, on_commit):
    always = seven_by_24()
    rule(T.RESOLUTION, minutes=600, calendar=always)
    start = at(WEDNESDAY)
    phone = opened(created_at=start, channel="hotline")
    chat = opened(created_at=start, channel="chat")
    assert config_rules.affected_cases(config_rules.RULE, SlaRule(
        target=T.RESOLUTION, channel="hotline", minutes=120, is_active=True,
    )).count() == 1  # fmt: skip

    with on_commit():
        saved = config_rules.create_sla_rule(
            actor=owner, name="电话 2 小时", target=T.RESOLUTION, minutes=120, channel="hotline",
            calendar=always,
        )  # fmt: skip
    assert saved.recalculating == 1
    assert due(phone) == start + dt.timedelta(hours=2)
    assert clock(phone, T.RESOLUTION).rule == saved.obj
    assert due(chat) == start + dt.timedelta(hours=10)
    assert recomputed_events(chat) == []


def test_a_new_rule_starts_the_clock_a_case_lacked(owner, on_commit):
    start = at(WEDNESDAY)
    case = opened(created_at=start)
    assert not CaseTarget.objects.filter(case=case).exists()  # no rule when it arrived
    with on_commit():
        saved = config_rules.create_sla_rule(actor=owner, name="首次响应", target=T.FIRST_RESPONSE,
                                             minutes=30, calendar=seven_by_24())  # fmt: skip
    assert saved.recalculating == 1
    assert clock(case, T.FIRST_RESPONSE).rule == saved.obj


def test_deactivating_a_rule_hands_its_clocks_to_the_next_rule(owner, on_commit):
    always = seven_by_24()
    general = rule(T.RESOLUTION, minutes=600, calendar=always)
    phone = rule(T.RESOLUTION, minutes=120, channel="hotline", calendar=always)
    start = at(WEDNESDAY)
    case = opened(created_at=start, channel="hotline")
    assert clock(case, T.RESOLUTION).rule == phone
    with on_commit():
        saved = config_rules.deactivate_sla_rule(rule=phone, actor=owner)
    assert saved.recalculating == 1
    assert clock(case, T.RESOLUTION).rule == general
    assert due(case) == start + dt.timedelta(hours=10)
    # Inactive now: the rule affects nothing any more.
    assert config_rules.affected_cases(config_rules.RULE, saved.obj).count() == 0


def test_renaming_a_rule_recomputes_nothing(owner, on_commit):
    resolution = rule(T.RESOLUTION, minutes=600, calendar=seven_by_24())
    case = opened(created_at=at(WEDNESDAY))
    with on_commit():
        saved = config_rules.update_sla_rule(rule=resolution, actor=owner, name="一般 10 小时")
    assert saved.recalculating == 0
    assert recomputed_events(case) == []


def test_the_recomputation_walks_the_cases_in_batches(owner):
    resolution = rule(T.RESOLUTION, minutes=600, calendar=seven_by_24())
    start = at(WEDNESDAY)
    cases = [opened(created_at=start) for _ in range(5)]
    SlaRule.objects.filter(pk=resolution.pk).update(minutes=60)  # behind the services' back
    done = config_rules.recompute_open_cases(scope=config_rules.RULE, pk=resolution.pk,
                                             batch_size=2)  # fmt: skip
    assert done == 5
    assert {due(case) for case in cases} == {start + dt.timedelta(hours=1)}


def test_nothing_is_queued_when_no_open_case_is_affected(owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        saved = config_rules.create_sla_rule(actor=owner, name="回访", target=T.CALLBACK,
                                             working_days=3)  # fmt: skip
    assert saved.recalculating == 0
    assert callbacks == []


# --- calendars -------------------------------------------------------------------------------


def test_removing_the_lunch_break_recomputes_the_cases_on_that_calendar_only(owner, on_commit):
    store, office = hours("门店"), hours("办公室")
    rule(T.RESOLUTION, minutes=8 * 60)  # no calendar of its own: the department's
    start = at(WEDNESDAY)
    on_store = opened(created_at=start, department=department("store", calendar=store))
    on_office = opened(created_at=start, department=department("office", calendar=office))
    # 7.5 working hours on Wednesday, the last half hour on Thursday morning.
    assert due(on_store) == due(on_office) == at("2026-03-12 09:30")
    assert config_rules.affected_cases(config_rules.CALENDAR, store).count() == 1

    with on_commit():
        saved = config_rules.save_calendar(
            calendar=store, actor=owner, weekly_hours=dict.fromkeys("01234", NO_LUNCH)
        )
    assert saved.recalculating == 1
    assert due(on_store) == at("2026-03-11 17:00")
    assert due(on_office) == at("2026-03-12 09:30")
    [event] = recomputed_events(on_store)
    assert event.data["reason"] == f"calendar {store.pk} changed" and event.actor == owner
    assert recomputed_events(on_office) == []


def test_a_change_through_the_core_service_recomputes_too(on_commit):
    """The admin and any other caller of ``core.calendars`` trigger the recomputation."""
    store = hours("门店")
    rule(T.RESOLUTION, minutes=8 * 60, calendar=store)  # the rule's own calendar
    case = opened(created_at=at(WEDNESDAY))
    with on_commit():
        calendars.update_calendar(calendar=store, actor=None,
                                  weekly_hours=dict.fromkeys("01234", NO_LUNCH))  # fmt: skip
    assert due(case) == at("2026-03-11 17:00")
    assert recomputed_events(case)[0].actor is None  # the system


def test_renaming_a_calendar_recomputes_nothing(owner, on_commit):
    store = hours("门店")
    rule(T.RESOLUTION, minutes=8 * 60, calendar=store)
    case = opened(created_at=at(WEDNESDAY))
    with on_commit():
        saved = config_rules.save_calendar(calendar=store, actor=owner, name="旗舰店")
    assert saved.recalculating == 0
    assert recomputed_events(case) == []


def test_the_default_calendar_covers_cases_without_a_department_calendar(owner, on_commit):
    default = hours("标准", is_default=True)
    other = hours("其他")
    rule(T.RESOLUTION, minutes=8 * 60)
    start = at(WEDNESDAY)
    plain = opened(created_at=start)  # no department: the default calendar
    elsewhere = opened(created_at=start, department=department("x", calendar=other))
    urgent = opened(created_at=start, severity="urgent")  # 7×24, whatever the default says
    assert set(config_rules.affected_cases(config_rules.CALENDAR, default)) == {plain}
    assert set(config_rules.affected_cases(config_rules.CALENDAR, seven_by_24())) == {urgent}

    with on_commit():
        config_rules.save_calendar(calendar=default, actor=owner,
                                   weekly_hours=dict.fromkeys("01234", NO_LUNCH))  # fmt: skip
    assert due(plain) == at("2026-03-11 17:00")
    assert due(elsewhere) == at("2026-03-12 09:30")
    assert due(urgent) == start + dt.timedelta(hours=8)
    assert recomputed_events(elsewhere) == recomputed_events(urgent) == []


def test_changing_a_departments_calendar_recomputes_its_cases(owner, on_commit):
    store, office = hours("门店"), hours("全天", weekly=NO_LUNCH)
    rule(T.RESOLUTION, minutes=8 * 60)
    start = at(WEDNESDAY)
    shop = department("shop", calendar=store)
    case = opened(created_at=start, department=shop)
    neighbour = opened(created_at=start, department=department("next", calendar=store))
    with on_commit():
        saved = config_services.update_department(department=shop, actor=owner, calendar=office)
    assert saved.recalculating == 1
    assert due(case) == at("2026-03-11 17:00")
    assert due(neighbour) == at("2026-03-12 09:30")
    assert recomputed_events(case)[0].data["reason"] == f"department {shop.pk} calendar changed"
