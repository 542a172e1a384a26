"""Business calendars in the database: row → WorkingCalendar, built-ins, validation, audit."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from cxloop.core import calendars
from cxloop.core.business_time import WorkingCalendar, add_working_days, add_working_time
from cxloop.core.calendars import (
    create_calendar,
    default_calendar,
    round_the_clock_calendar,
    to_working_calendar,
    update_calendar,
    years_needing_manual_holidays,
)
from cxloop.core.models import AuditLog, BusinessCalendar

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
T = dt.time
STANDARD_JSON = {str(day): [["09:00", "12:00"], ["13:30", "18:00"]] for day in range(5)}


@pytest.fixture(autouse=True)
def _no_calendars_yet(db):
    """Migrate creates the calendars the default SLA rules use; these tests start without."""
    BusinessCalendar.objects.all().delete()
    AuditLog.objects.filter(object_type="core.businesscalendar").delete()


def _audits(action: str | None = None):
    rows = AuditLog.objects.filter(object_type="core.businesscalendar")
    return rows.filter(action=action) if action else rows


def _errors(**fields) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        create_calendar(actor=None, **{"name": "x", **fields})
    return caught.value.message_dict


# --- row → WorkingCalendar -------------------------------------------------------------------


def test_a_new_calendar_defaults_to_the_standard_one(owner, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    row = create_calendar(actor=owner, name="Head office")
    assert row.weekly_hours == STANDARD_JSON
    assert (row.use_chinese_holidays, row.always_open, row.is_default) == (True, False, False)
    assert (row.extra_holidays, row.extra_workdays) == ([], [])
    assert to_working_calendar(row) == WorkingCalendar.standard()


def test_a_row_becomes_the_working_calendar_it_describes(owner):
    row = create_calendar(
        actor=owner,
        name="Stores",
        time_zone="Europe/Berlin",
        weekly_hours={"5": [["18:00", "00:00"]], 0: [["13:00", "17:00"], ["8:00", "12:00"]]},
        use_chinese_holidays=False,
        extra_holidays=["2026-12-07", dt.date(2026, 12, 7)],
        extra_workdays=["2026-12-06"],
    )
    assert row.weekly_hours == {
        "0": [["08:00", "12:00"], ["13:00", "17:00"]],
        "5": [["18:00", "24:00"]],
    }
    assert (row.extra_holidays, row.extra_workdays) == (["2026-12-07"], ["2026-12-06"])
    assert to_working_calendar(row) == WorkingCalendar(
        time_zone="Europe/Berlin",
        weekly={0: ((T(8), T(12)), (T(13), T(17))), 5: ((T(18), T(0)),)},
        use_chinese_holidays=False,
        extra_holidays=frozenset({dt.date(2026, 12, 7)}),
        extra_workdays=frozenset({dt.date(2026, 12, 6)}),
    )


def test_deadlines_through_a_stored_calendar(owner):
    cal = to_working_calendar(
        create_calendar(
            actor=owner, name="CS", extra_holidays=["2027-01-01"], time_zone="Asia/Shanghai"
        )
    )
    start = dt.datetime(2026, 12, 31, 17, tzinfo=SH)
    assert add_working_time(cal, start, dt.timedelta(hours=2)) == dt.datetime(
        2027, 1, 4, 10, tzinfo=SH
    )
    assert add_working_days(cal, start, 1) == dt.datetime(2027, 1, 4, 18, tzinfo=SH)


def test_working_calendars_are_cached_per_row_version(owner):
    row = create_calendar(actor=owner, name="CS")
    first = to_working_calendar(row)
    assert to_working_calendar(BusinessCalendar.objects.get(pk=row.pk)) is first
    changed = update_calendar(calendar=row, actor=owner, time_zone="Asia/Urumqi")
    assert to_working_calendar(changed) is not first
    assert to_working_calendar(changed).time_zone == "Asia/Urumqi"
    unsaved = BusinessCalendar(name="unsaved", weekly_hours={"6": [["00:00", "24:00"]]})
    assert to_working_calendar(unsaved) == WorkingCalendar(
        time_zone="Asia/Shanghai", weekly={6: ((T(0), T(0)),)}
    )


def test_a_corrupt_row_is_reported_not_guessed(owner):
    row = create_calendar(actor=owner, name="CS")
    BusinessCalendar.objects.filter(pk=row.pk).update(time_zone="Mars/Olympus")
    with pytest.raises(ValidationError, match="Unknown time zone: Mars/Olympus"):
        to_working_calendar(BusinessCalendar.objects.get(pk=row.pk))


def test_years_needing_manual_holidays(owner):
    today = dt.date(2026, 12, 1)
    row = create_calendar(actor=owner, name="CS")
    assert years_needing_manual_holidays(row, today=today) == [2027]
    assert years_needing_manual_holidays(row, today=dt.date(2025, 6, 1)) == []
    row = update_calendar(calendar=row, actor=owner, extra_holidays=["2027-02-06"])
    assert years_needing_manual_holidays(row, today=today) == []
    assert years_needing_manual_holidays(round_the_clock_calendar(), today=today) == []


# --- the built-in calendars ------------------------------------------------------------------


def test_default_calendar_is_created_once_and_audited():
    first = default_calendar()
    assert first.is_default and first.name == "Standard working hours"
    assert to_working_calendar(first) == WorkingCalendar.standard(first.time_zone)
    assert default_calendar() == first
    assert BusinessCalendar.objects.count() == 1
    entry = _audits("calendar.created").get()
    assert (entry.actor, entry.actor_label) == (None, "system")


def test_default_calendar_returns_the_chosen_default(owner):
    chosen = create_calendar(actor=owner, name="Mine", is_default=True)
    assert default_calendar() == chosen


def test_default_calendar_avoids_a_name_in_use(owner):
    create_calendar(actor=owner, name="standard working hours")
    assert default_calendar().name == "Standard working hours (2)"


def test_default_calendar_survives_a_concurrent_creation(monkeypatch):
    real_free_name = calendars._free_name

    def another_process_commits_first(base):
        # Between our "is there a default?" and our insert, another worker created one.
        BusinessCalendar.objects.create(name="theirs", weekly_hours=STANDARD_JSON, is_default=True)
        return real_free_name(base)

    monkeypatch.setattr(calendars, "_free_name", another_process_commits_first)
    assert default_calendar().name == "theirs"
    assert BusinessCalendar.objects.filter(is_default=True).count() == 1
    assert not _audits().exists()


def test_round_the_clock_calendar_is_created_on_demand():
    row = round_the_clock_calendar()
    assert row.always_open and not row.is_default and row.weekly_hours == {}
    assert to_working_calendar(row).always_open
    assert round_the_clock_calendar() == row
    assert BusinessCalendar.objects.count() == 1


def test_round_the_clock_calendar_reuses_an_existing_one(owner):
    mine = create_calendar(actor=owner, name="Hotline", always_open=True, weekly_hours={})
    assert round_the_clock_calendar() == mine


def test_only_one_default_in_the_database():
    BusinessCalendar.objects.create(name="a", is_default=True)
    BusinessCalendar.objects.create(name="b")
    with pytest.raises(IntegrityError), transaction.atomic():
        BusinessCalendar.objects.create(name="c", is_default=True)


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "  "}, "name", "Enter a name."),
        ({"name": "x" * 101}, "name", "Use at most 100 characters."),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Unknown time zone: Mars/Olympus."),
        ({"time_zone": ""}, "time_zone", "Unknown time zone: ."),
        (
            {"weekly_hours": []},
            "weekly_hours",
            "Enter working hours per weekday, 0 (Monday) to 6 (Sunday).",
        ),
        (
            {"weekly_hours": {"7": []}},
            "weekly_hours",
            "7 is not a weekday; use 0 (Monday) to 6 (Sunday).",
        ),
        (
            {"weekly_hours": {"0": "09:00"}},
            "weekly_hours",
            "Monday: enter a list of [start, end] times.",
        ),
        (
            {"weekly_hours": {"1": [["09:00"]]}},
            "weekly_hours",
            'Tuesday: each interval needs a start and an end, e.g. ["09:00", "12:00"].',
        ),
        (
            {"weekly_hours": {"2": [["09:00", "25:00"]]}},
            "weekly_hours",
            "Wednesday: 25:00 is not a time of day (HH:MM).",
        ),
        (
            {"weekly_hours": {"2": [["9h", "12:00"]]}},
            "weekly_hours",
            "Wednesday: 9h is not a time of day (HH:MM).",
        ),
        (
            {"weekly_hours": {"3": [["12:00", "09:00"]]}},
            "weekly_hours",
            "Thursday: 12:00–09:00 ends before it starts.",
        ),
        (
            {"weekly_hours": {"4": [["13:00", "18:00"], ["09:00", "13:30"]]}},
            "weekly_hours",
            "Friday: 09:00–13:30 and 13:00–18:00 overlap or touch; merge them.",
        ),
        (
            {"weekly_hours": {"4": [["09:00", "12:00"], ["12:00", "18:00"]]}},
            "weekly_hours",
            "Friday: 09:00–12:00 and 12:00–18:00 overlap or touch; merge them.",
        ),
        (
            {"weekly_hours": {}},
            "weekly_hours",
            "Enter working hours for at least one day, or open the calendar 7×24.",
        ),
        ({"extra_holidays": "2026-12-01"}, "extra_holidays", "Enter a list of dates (YYYY-MM-DD)."),
        (
            {"extra_holidays": ["2026-02-30"]},
            "extra_holidays",
            "2026-02-30 is not a date (YYYY-MM-DD).",
        ),
        ({"extra_workdays": [20261201]}, "extra_workdays", "20261201 is not a date (YYYY-MM-DD)."),
        (
            {"extra_holidays": ["2026-12-01"], "extra_workdays": ["2026-12-01"]},
            "extra_workdays",
            "2026-12-01 cannot be both an extra holiday and an extra working day.",
        ),
        ({"always_open": "yes"}, "always_open", "Enter true or false."),
    ],
)
def test_bad_values_are_rejected_per_field(fields, field, message):
    assert _errors(**fields) == {field: [message]}


def test_every_bad_field_is_reported_at_once():
    errors = _errors(name="", time_zone="Nowhere", extra_workdays=["soon"])
    assert set(errors) == {"name", "time_zone", "extra_workdays"}
    assert not BusinessCalendar.objects.exists() and not _audits().exists()


def test_names_are_unique_ignoring_case(owner):
    create_calendar(actor=owner, name="Stores")
    taken = ["A calendar with this name already exists."]
    assert _errors(name=" stores ") == {"name": taken}
    assert _errors(name="STORES", time_zone="Nowhere")["name"] == taken


def test_unknown_fields_are_a_programming_error():
    with pytest.raises(TypeError, match="unknown calendar field"):
        create_calendar(actor=None, name="x", colour="red")


def test_round_the_clock_needs_no_weekly_hours(owner):
    row = create_calendar(actor=owner, name="Hotline", always_open=True, weekly_hours={})
    assert to_working_calendar(row).always_open
    start = dt.datetime(2026, 10, 1, 23, tzinfo=SH)  # National Day, at night
    assert add_working_time(
        to_working_calendar(row), start, dt.timedelta(hours=2)
    ) == start + dt.timedelta(hours=2)


# --- audited writes --------------------------------------------------------------------------


def test_creation_is_audited(owner):
    row = create_calendar(actor=owner, name="Stores", extra_holidays=["2027-01-01"])
    entry = _audits("calendar.created").get()
    assert (entry.actor, entry.object_id, entry.object_repr) == (owner, str(row.pk), "Stores")
    assert entry.before is None
    assert entry.after["weekly_hours"] == STANDARD_JSON
    assert entry.after["extra_holidays"] == ["2027-01-01"]


def test_an_update_audits_only_what_changed(owner):
    row = create_calendar(actor=owner, name="Stores")
    row = update_calendar(
        calendar=row, actor=owner, name="Stores", weekly_hours={"5": [["10:00", "16:00"]]}
    )
    assert row.weekly_hours == {"5": [["10:00", "16:00"]]}
    entry = _audits("calendar.changed").get()
    assert entry.actor == owner
    assert entry.before == {"weekly_hours": STANDARD_JSON}
    assert entry.after == {"weekly_hours": {"5": [["10:00", "16:00"]]}}


def test_an_update_without_changes_writes_nothing(owner):
    row = create_calendar(actor=owner, name="Stores")
    stamp = row.updated_at
    as_entered = {int(day): [list(pair) for pair in hours] for day, hours in STANDARD_JSON.items()}
    same = update_calendar(calendar=row, actor=owner, name=" Stores ", weekly_hours=as_entered)
    assert same.updated_at == stamp
    assert not _audits("calendar.changed").exists()


def test_a_rejected_update_changes_nothing(owner):
    row = create_calendar(actor=owner, name="Stores")
    with pytest.raises(ValidationError) as caught:
        update_calendar(calendar=row, actor=owner, name="Shops", time_zone="Mars/Olympus")
    assert caught.value.message_dict == {"time_zone": ["Unknown time zone: Mars/Olympus."]}
    assert BusinessCalendar.objects.get(pk=row.pk).name == "Stores"
    assert not _audits("calendar.changed").exists()


def test_renaming_onto_another_name_is_refused(owner):
    create_calendar(actor=owner, name="Stores")
    row = create_calendar(actor=owner, name="Hotline")
    with pytest.raises(ValidationError, match="already exists"):
        update_calendar(calendar=row, actor=owner, name="STORES")
    assert update_calendar(calendar=row, actor=owner, name="hotline").name == "hotline"


def test_the_default_flag_moves_and_both_rows_are_audited(owner):
    first = create_calendar(actor=owner, name="First", is_default=True)
    second = create_calendar(actor=owner, name="Second")
    update_calendar(calendar=second, actor=owner, is_default=True)
    assert list(BusinessCalendar.objects.filter(is_default=True)) == [second]
    changes = {(e.object_id, e.after["is_default"]) for e in _audits("calendar.changed")}
    assert changes == {(str(first.pk), False), (str(second.pk), True)}
    third = create_calendar(actor=owner, name="Third", is_default=True)
    assert default_calendar() == third


def test_the_default_cannot_just_be_switched_off(owner):
    row = create_calendar(actor=owner, name="First", is_default=True)
    with pytest.raises(ValidationError) as caught:
        update_calendar(calendar=row, actor=owner, is_default=False)
    assert list(caught.value.message_dict) == ["is_default"]
    assert BusinessCalendar.objects.get(pk=row.pk).is_default
