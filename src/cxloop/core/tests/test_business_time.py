"""Business calendars: working hours, Chinese holidays, DST, 7×24, working days, and invariants.

Holiday facts are checked against ``chinese_calendar`` itself (see ``test_package_facts``), so a
wrong assumption about 2026 fails loudly instead of making the expectations below quietly wrong.
"""

from __future__ import annotations

import datetime as dt
import time as clock
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cxloop.core.business_time import (
    WorkingCalendar,
    add_working_days,
    add_working_time,
    holiday_data_years,
    intervals_on,
    is_working_day,
    is_working_time,
    shift_for_pause,
    working_time_between,
    years_without_holiday_data,
)

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC
H = dt.timedelta(hours=1)
MIN = dt.timedelta(minutes=1)
T = dt.time
STANDARD = WorkingCalendar.standard()
WEEKDAY_HOURS = ((T(9), T(12)), (T(13, 30), T(18)))


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SH)


def berlin(month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def utc(month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=UTC)


def weekdays_only(tz: str = "Asia/Shanghai", **kwargs) -> WorkingCalendar:
    """Mon–Fri standard hours without the package's holidays."""
    weekly = {day: WEEKDAY_HOURS for day in range(5)}
    return WorkingCalendar(time_zone=tz, weekly=weekly, use_chinese_holidays=False, **kwargs)


def local_hours(cal: WorkingCalendar, day: dt.date) -> list[tuple[dt.time, dt.time]]:
    return [(begin.time(), end.time()) for begin, end in intervals_on(cal, day)]


def same_instant_and_zone(actual: dt.datetime, expected: dt.datetime) -> bool:
    return actual == expected and actual.utcoffset() == expected.utcoffset()


# --- the package data the expectations rely on ----------------------------------------------


def test_package_facts():
    holiday = chinese_calendar.is_holiday
    spring = [dt.date(2026, 2, d) for d in range(15, 24)]
    assert all(holiday(day) for day in spring)
    assert not holiday(dt.date(2026, 2, 14)) and dt.date(2026, 2, 14).weekday() == 5
    assert not holiday(dt.date(2026, 2, 28)) and dt.date(2026, 2, 28).weekday() == 5
    assert not holiday(dt.date(2026, 2, 13)) and not holiday(dt.date(2026, 2, 24))
    assert all(holiday(dt.date(2026, 10, d)) for d in range(1, 8))
    assert all(holiday(dt.date(2026, 9, d)) for d in (25, 26, 27))  # Mid-autumn, a Fri–Sun
    assert not holiday(dt.date(2026, 9, 20)) and dt.date(2026, 9, 20).weekday() == 6
    assert not holiday(dt.date(2026, 10, 10)) and dt.date(2026, 10, 10).weekday() == 5
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(dt.date(2027, 1, 4))


def test_standard_calendar_follows_the_package_for_every_day_of_2026():
    day = dt.date(2026, 1, 1)
    while day.year == 2026:
        assert is_working_day(STANDARD, day) == chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)


def test_years_without_holiday_data():
    assert years_without_holiday_data([2027, 2026, 2003, 2027, 2004]) == [2003, 2027]
    assert years_without_holiday_data(range(2024, 2027)) == []
    assert holiday_data_years() == range(2004, 2027)


# --- the standard calendar: lunch break, weekends, outside hours, exact ends ----------------


def test_standard_constructor():
    assert STANDARD.time_zone == "Asia/Shanghai"
    assert STANDARD.use_chinese_holidays and not STANDARD.always_open
    assert STANDARD.weekly == {day: WEEKDAY_HOURS for day in range(5)}
    assert STANDARD.workday_intervals is None
    assert STANDARD.makeup_day_intervals == WEEKDAY_HOURS
    assert WorkingCalendar.standard("Europe/Berlin").time_zone == "Europe/Berlin"
    assert hash(STANDARD) == hash(WorkingCalendar.standard())
    assert WorkingCalendar.standard() == STANDARD


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        (sh(2026, 12, 1, 11, 30), H, sh(2026, 12, 1, 14)),  # across the lunch break
        (sh(2026, 12, 1, 9), 15 * MIN, sh(2026, 12, 1, 9, 15)),
        (sh(2026, 12, 1, 17), 2 * H, sh(2026, 12, 2, 10)),  # across the night
        (sh(2026, 12, 4, 17), 2 * H, sh(2026, 12, 7, 10)),  # Fri → Mon
        (sh(2026, 12, 7, 9), 37 * H + 30 * MIN, sh(2026, 12, 11, 18)),  # a full week
        (sh(2026, 12, 1, 9), 24 * H, sh(2026, 12, 4, 10, 30)),  # "24 h": 3 × 7.5 h + 1.5 h
    ],
)
def test_add_working_time_standard(start, duration, expected):
    assert add_working_time(STANDARD, start, duration) == expected


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (sh(2026, 12, 1, 7), sh(2026, 12, 1, 9, 15)),  # before opening
        (sh(2026, 12, 1, 12), sh(2026, 12, 1, 13, 45)),  # at the lunch break
        (sh(2026, 12, 1, 12, 30), sh(2026, 12, 1, 13, 45)),
        (sh(2026, 12, 1, 18), sh(2026, 12, 2, 9, 15)),  # at closing
        (sh(2026, 12, 1, 20), sh(2026, 12, 2, 9, 15)),
        (sh(2026, 12, 5, 10), sh(2026, 12, 7, 9, 15)),  # Saturday
    ],
)
def test_start_outside_working_time_counts_from_the_next_working_moment(start, expected):
    assert add_working_time(STANDARD, start, 15 * MIN) == expected


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        (sh(2026, 12, 1, 9), 3 * H, sh(2026, 12, 1, 12)),  # not 13:30
        (sh(2026, 12, 1, 13, 30), 4 * H + 30 * MIN, sh(2026, 12, 1, 18)),  # not next morning
        (sh(2026, 12, 1, 9), 7 * H + 30 * MIN, sh(2026, 12, 1, 18)),
        (sh(2026, 12, 1, 7), 3 * H, sh(2026, 12, 1, 12)),
        (sh(2026, 12, 4, 18), 7 * H + 30 * MIN, sh(2026, 12, 7, 18)),
    ],
)
def test_a_duration_ending_at_an_interval_end_returns_that_end(start, duration, expected):
    assert add_working_time(STANDARD, start, duration) == expected


def test_zero_duration_returns_the_start_itself():
    assert add_working_time(STANDARD, sh(2026, 12, 1, 10), dt.timedelta(0)) == sh(2026, 12, 1, 10)
    assert add_working_time(STANDARD, sh(2026, 12, 5, 22), dt.timedelta(0)) == sh(2026, 12, 5, 22)


def test_results_are_in_the_calendar_zone():
    result = add_working_time(STANDARD, utc(12, 1, 1), H)  # 09:00 in Shanghai
    assert same_instant_and_zone(result, sh(2026, 12, 1, 10))
    assert result.tzinfo == SH


def test_sub_minute_precision_is_kept():
    start = sh(2026, 12, 1, 11, 59) + dt.timedelta(seconds=30, microseconds=7)
    result = add_working_time(STANDARD, start, MIN)
    assert result == sh(2026, 12, 1, 13, 30) + dt.timedelta(seconds=30, microseconds=7)


# --- Chinese holidays, make-up days, years without data, manual dates -------------------------


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        (sh(2026, 2, 13, 17), 2 * H, sh(2026, 2, 14, 10)),  # make-up Saturday Feb 14
        (sh(2026, 2, 14, 17), 2 * H, sh(2026, 2, 24, 10)),  # over the whole Spring Festival
        (sh(2026, 2, 18, 10), 15 * MIN, sh(2026, 2, 24, 9, 15)),  # start inside the holiday
        (sh(2026, 2, 27, 17), 2 * H, sh(2026, 2, 28, 10)),  # make-up Saturday Feb 28
        (sh(2026, 2, 28, 17), 2 * H, sh(2026, 3, 2, 10)),
    ],
)
def test_spring_festival_2026(start, duration, expected):
    assert add_working_time(STANDARD, start, duration) == expected


def test_spring_festival_working_time_between():
    # Feb 13 afternoon 1 h, Feb 14 full 7.5 h, Feb 24 morning 1 h.
    between = working_time_between(STANDARD, sh(2026, 2, 13, 17), sh(2026, 2, 24, 10))
    assert between == 9 * H + 30 * MIN


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        (sh(2026, 9, 19, 10), H, sh(2026, 9, 20, 10)),  # make-up Sunday Sep 20
        (sh(2026, 9, 24, 17), 2 * H, sh(2026, 9, 28, 10)),  # Mid-autumn Fri–Sun
        (sh(2026, 9, 30, 17), 2 * H, sh(2026, 10, 8, 10)),  # National Day Oct 1–7
        (sh(2026, 10, 9, 17), 2 * H, sh(2026, 10, 10, 10)),  # make-up Saturday Oct 10
        (sh(2026, 10, 10, 17), 2 * H, sh(2026, 10, 12, 10)),
    ],
)
def test_national_day_2026(start, duration, expected):
    assert add_working_time(STANDARD, start, duration) == expected


def test_a_year_without_package_data_falls_back_to_weekdays():
    assert is_working_day(STANDARD, dt.date(2027, 1, 1))  # a Friday; no data → weekday rule
    assert not is_working_day(STANDARD, dt.date(2027, 1, 2))
    assert add_working_time(STANDARD, sh(2026, 12, 31, 17), 2 * H) == sh(2027, 1, 1, 10)
    # 30 full working days of December 2026 + January 2027 without crashing.
    result = add_working_time(STANDARD, sh(2026, 12, 1, 9), 30 * (7 * H + 30 * MIN))
    assert result == sh(2027, 1, 11, 18)


def test_manual_dates_fill_a_year_without_data():
    cal = WorkingCalendar.standard(
        extra_holidays={dt.date(2027, 1, 1)}, extra_workdays={dt.date(2027, 1, 2)}
    )
    assert add_working_time(cal, sh(2026, 12, 31, 17), 2 * H) == sh(2027, 1, 2, 10)
    holidays_only = WorkingCalendar.standard(extra_holidays={dt.date(2027, 1, 1)})
    assert add_working_time(holidays_only, sh(2026, 12, 31, 17), 2 * H) == sh(2027, 1, 4, 10)


def test_manual_dates_win_over_the_package():
    cal = WorkingCalendar.standard(
        extra_workdays={dt.date(2026, 10, 1)}, extra_holidays={dt.date(2026, 2, 14)}
    )
    assert is_working_day(cal, dt.date(2026, 10, 1))
    assert not is_working_day(cal, dt.date(2026, 2, 14))
    assert add_working_time(cal, sh(2026, 9, 30, 17), 2 * H) == sh(2026, 10, 1, 10)
    assert add_working_time(cal, sh(2026, 2, 13, 17), 2 * H) == sh(2026, 2, 24, 10)


def test_manual_dates_apply_without_the_package():
    cal = weekdays_only(
        extra_holidays=frozenset({dt.date(2026, 12, 2)}),
        extra_workdays=frozenset({dt.date(2026, 12, 5)}),
    )
    assert is_working_day(cal, dt.date(2026, 10, 1))  # no package holidays at all
    assert not is_working_day(cal, dt.date(2026, 12, 2))
    assert is_working_day(cal, dt.date(2026, 12, 5))


def test_make_up_days_use_workday_intervals():
    custom = WorkingCalendar(
        time_zone="Asia/Shanghai",
        weekly={0: ((T(8), T(17)),), 1: WEEKDAY_HOURS},
        workday_intervals=((T(10), T(16)),),
    )
    assert local_hours(custom, dt.date(2026, 2, 14)) == [(T(10), T(16))]
    # Without workday_intervals a make-up day is worked like a Monday.
    monday_like = WorkingCalendar(time_zone="Asia/Shanghai", weekly={0: ((T(8), T(17)),)})
    assert local_hours(monday_like, dt.date(2026, 2, 28)) == [(T(8), T(17))]
    # ... or like the first weekday that has hours when Monday has none.
    tuesday_only = WorkingCalendar(time_zone="Asia/Shanghai", weekly={1: ((T(8), T(12)),)})
    assert tuesday_only.makeup_day_intervals == ((T(8), T(12)),)


# --- intervals, working days and working moments --------------------------------------------


def test_intervals_on():
    assert intervals_on(STANDARD, dt.date(2026, 12, 1)) == [
        (sh(2026, 12, 1, 9), sh(2026, 12, 1, 12)),
        (sh(2026, 12, 1, 13, 30), sh(2026, 12, 1, 18)),
    ]
    assert {a.tzinfo for pair in intervals_on(STANDARD, dt.date(2026, 12, 1)) for a in pair} == {SH}
    assert intervals_on(STANDARD, dt.date(2026, 12, 5)) == []
    assert intervals_on(STANDARD, dt.date(2026, 10, 2)) == []


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (sh(2026, 12, 1, 8, 59), False),
        (sh(2026, 12, 1, 9), True),  # intervals are [start, end)
        (sh(2026, 12, 1, 11, 59), True),
        (sh(2026, 12, 1, 12), False),
        (sh(2026, 12, 1, 13, 30), True),
        (sh(2026, 12, 1, 18), False),
        (sh(2026, 10, 2, 10), False),  # National Day
        (sh(2026, 10, 10, 10), True),  # its make-up Saturday
        (utc(12, 1, 1), True),  # 09:00 in Shanghai
        (utc(12, 1, 10), False),  # 18:00 in Shanghai
    ],
)
def test_is_working_time(moment, expected):
    assert is_working_time(STANDARD, moment) is expected


def test_is_working_day_takes_a_date():
    with pytest.raises(TypeError, match="date, not a datetime"):
        is_working_day(STANDARD, sh(2026, 12, 1, 10))


def test_an_interval_may_end_at_midnight():
    evening = WorkingCalendar(
        time_zone="Asia/Shanghai", weekly={5: ((T(18), T(0)),)}, use_chinese_holidays=False
    )
    assert intervals_on(evening, dt.date(2026, 12, 5)) == [(sh(2026, 12, 5, 18), sh(2026, 12, 6))]
    assert add_working_time(evening, sh(2026, 12, 5, 23), H) == sh(2026, 12, 6)
    assert add_working_time(evening, sh(2026, 12, 5, 23), 2 * H) == sh(2026, 12, 12, 19)
    assert not is_working_time(evening, sh(2026, 12, 6))


# --- working time between, the inverse --------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (sh(2026, 12, 1, 11), sh(2026, 12, 1, 14), 90 * MIN),
        (sh(2026, 12, 7), sh(2026, 12, 14), 37 * H + 30 * MIN),
        (sh(2026, 12, 5, 8), sh(2026, 12, 6, 20), dt.timedelta(0)),  # a weekend
        (sh(2026, 12, 1, 14), sh(2026, 12, 1, 11), dt.timedelta(0)),  # end before start
        (sh(2026, 12, 1, 14), sh(2026, 12, 1, 14), dt.timedelta(0)),
        (utc(12, 1, 2), utc(12, 1, 3), H),  # 10:00–11:00 Shanghai
    ],
)
def test_working_time_between(start, end, expected):
    assert working_time_between(STANDARD, start, end) == expected


# --- time zones and DST --------------------------------------------------------------------


def test_shanghai_has_no_dst_switch():
    cal = weekdays_only()
    assert add_working_time(cal, sh(2026, 3, 27, 17), 2 * H) == sh(2026, 3, 30, 10)
    assert add_working_time(cal, sh(2026, 3, 27, 17), 2 * H) == utc(3, 30, 2)


def test_berlin_across_the_march_switch():
    cal = weekdays_only("Europe/Berlin")
    result = add_working_time(cal, berlin(3, 27, 17), 2 * H)  # Friday CET → Monday CEST
    assert same_instant_and_zone(result, berlin(3, 30, 10))
    assert result == utc(3, 30, 8)
    assert working_time_between(cal, berlin(3, 27, 17), berlin(3, 30, 10)) == 2 * H


def test_berlin_across_the_october_switch():
    cal = weekdays_only("Europe/Berlin")
    result = add_working_time(cal, berlin(10, 23, 17), 2 * H)  # Friday CEST → Monday CET
    assert same_instant_and_zone(result, berlin(10, 26, 10))
    assert result == utc(10, 26, 9)


def test_an_interval_on_a_switch_day_counts_its_real_length():
    night = WorkingCalendar(
        time_zone="Europe/Berlin", weekly={6: ((T(0), T(6)),)}, use_chinese_holidays=False
    )
    march = intervals_on(night, dt.date(2026, 3, 29))
    assert march == [(utc(3, 28, 23), utc(3, 29, 4))]
    assert march[0][1].utcoffset() == 2 * H
    assert working_time_between(night, berlin(3, 29), berlin(3, 29, 6)) == 5 * H
    assert add_working_time(night, berlin(3, 29), 5 * H) == berlin(3, 29, 6)
    assert working_time_between(night, berlin(10, 25), berlin(10, 25, 6)) == 7 * H
    assert add_working_time(night, berlin(10, 25), 7 * H) == berlin(10, 25, 6)


def test_a_non_existent_local_time_does_not_crash():
    gap = WorkingCalendar(
        time_zone="Europe/Berlin",
        weekly={6: ((T(1), T(2, 30)), (T(3), T(4)))},
        use_chinese_holidays=False,
    )
    # 02:30 does not exist on 29 March; zoneinfo reads it as 03:30 CEST, so the two intervals
    # would overlap — they are clipped instead of counted twice.
    assert intervals_on(gap, dt.date(2026, 3, 29)) == [
        (utc(3, 29, 0), utc(3, 29, 1, 30)),
        (utc(3, 29, 1, 30), utc(3, 29, 2)),
    ]
    assert working_time_between(gap, berlin(3, 29), berlin(3, 29, 5)) == 2 * H
    assert add_working_time(gap, berlin(3, 29), 2 * H) == berlin(3, 29, 4)


# --- 7×24 ------------------------------------------------------------------------------------


def test_round_the_clock():
    cal = WorkingCalendar.round_the_clock("Asia/Shanghai")
    assert cal.always_open and not cal.use_chinese_holidays
    assert add_working_time(cal, sh(2026, 10, 3, 22), 3 * H) == sh(2026, 10, 4, 1)
    assert is_working_time(cal, sh(2026, 10, 1, 3)) and is_working_day(cal, dt.date(2026, 10, 1))
    assert working_time_between(cal, sh(2026, 10, 1), sh(2026, 10, 8)) == dt.timedelta(days=7)
    assert intervals_on(cal, dt.date(2026, 12, 5)) == [(sh(2026, 12, 5), sh(2026, 12, 6))]


def test_round_the_clock_counts_real_hours_across_dst():
    cal = WorkingCalendar.round_the_clock("Europe/Berlin")
    result = add_working_time(cal, berlin(3, 28, 12), 24 * H)
    assert same_instant_and_zone(result, berlin(3, 29, 13))
    assert intervals_on(cal, dt.date(2026, 3, 29)) == [(berlin(3, 29), berlin(3, 30))]
    assert working_time_between(cal, berlin(3, 29), berlin(3, 30)) == 23 * H


# --- working days ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (sh(2026, 12, 7, 10), 3, sh(2026, 12, 10, 18)),  # Mon → end of Thu
        (sh(2026, 12, 7, 8), 3, sh(2026, 12, 10, 18)),  # the start day never counts
        (sh(2026, 12, 7, 20), 3, sh(2026, 12, 10, 18)),
        (sh(2026, 12, 4, 10), 1, sh(2026, 12, 7, 18)),  # Fri → end of Mon
        (sh(2026, 12, 5, 10), 1, sh(2026, 12, 7, 18)),  # Sat → end of Mon
        (sh(2026, 2, 13, 10), 3, sh(2026, 2, 25, 18)),  # Feb 14, Feb 24, Feb 25
        (sh(2026, 9, 30, 10), 3, sh(2026, 10, 10, 18)),  # Oct 8, Oct 9, make-up Oct 10
        (sh(2026, 12, 30, 10), 3, sh(2027, 1, 4, 18)),  # Dec 31, Jan 1 2027 (no data), Jan 4
        (sh(2026, 12, 7, 10), 0, sh(2026, 12, 7, 18)),  # 0: the end of today
        (sh(2026, 12, 7, 18), 0, sh(2026, 12, 8, 18)),  # ... or of the next working day
        (sh(2026, 12, 5, 10), 0, sh(2026, 12, 7, 18)),
    ],
)
def test_add_working_days(start, days, expected):
    assert add_working_days(STANDARD, start, days) == expected


def test_add_working_days_round_the_clock_and_manual_dates():
    assert add_working_days(WorkingCalendar.round_the_clock(), sh(2026, 12, 7, 10), 3) == sh(
        2026, 12, 11
    )
    cal = WorkingCalendar.standard(extra_holidays={dt.date(2026, 12, 8)})
    assert add_working_days(cal, sh(2026, 12, 7, 10), 3) == sh(2026, 12, 11, 18)


# --- pauses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deadline", "paused_from", "paused_to", "expected"),
    [
        (sh(2026, 12, 1, 16), sh(2026, 12, 1, 10), sh(2026, 12, 1, 11), sh(2026, 12, 1, 17)),
        # 17:00–18:00 and 09:00–10:00 paused: 2 working hours, over the lunch break.
        (sh(2026, 12, 2, 11), sh(2026, 12, 1, 17), sh(2026, 12, 2, 10), sh(2026, 12, 2, 14, 30)),
        # A pause over a weekend only costs nothing.
        (sh(2026, 12, 7, 11), sh(2026, 12, 5, 9), sh(2026, 12, 6, 23), sh(2026, 12, 7, 11)),
        # A deadline at closing time stays there when nothing was paused.
        (sh(2026, 12, 1, 18), sh(2026, 12, 1, 19), sh(2026, 12, 1, 20), sh(2026, 12, 1, 18)),
        (sh(2026, 12, 1, 16), sh(2026, 12, 1, 11), sh(2026, 12, 1, 10), sh(2026, 12, 1, 16)),
        # A pause past the deadline: the remaining 1 h starts again when the pause ends.
        (sh(2026, 12, 1, 11), sh(2026, 12, 1, 10), sh(2026, 12, 2, 10), sh(2026, 12, 2, 11)),
    ],
)
def test_shift_for_pause(deadline, paused_from, paused_to, expected):
    assert shift_for_pause(STANDARD, deadline, paused_from, paused_to) == expected


# --- bad input -------------------------------------------------------------------------------


def test_naive_datetimes_are_rejected():
    naive = dt.datetime(2026, 12, 1, 10)
    aware = sh(2026, 12, 1, 10)
    calls = [
        lambda: add_working_time(STANDARD, naive, H),
        lambda: working_time_between(STANDARD, naive, aware),
        lambda: working_time_between(STANDARD, aware, naive),
        lambda: is_working_time(STANDARD, naive),
        lambda: add_working_days(STANDARD, naive, 1),
        lambda: shift_for_pause(STANDARD, naive, aware, aware),
        lambda: shift_for_pause(STANDARD, aware, naive, aware),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="aware datetime"):
            call()


def test_negative_amounts_are_rejected():
    with pytest.raises(ValueError, match="duration must not be negative"):
        add_working_time(STANDARD, sh(2026, 12, 1, 10), -MIN)
    with pytest.raises(ValueError, match="days must not be negative"):
        add_working_days(STANDARD, sh(2026, 12, 7, 10), -1)


@pytest.mark.parametrize(
    ("weekly", "message"),
    [
        ({0: ((T(12), T(9)),)}, r"weekday 0: 12:00–09:00 must end after it starts"),
        ({0: ((T(9), T(9)),)}, r"weekday 0: 09:00–09:00 must end after it starts"),
        ({1: ((T(9), T(12)), (T(11), T(18)))}, r"weekday 1: 11:00–18:00 overlaps"),
        ({1: ((T(13), T(18)), (T(9), T(12)))}, r"weekday 1: 09:00–12:00 overlaps"),
        ({1: ((T(9), T(12)), (T(12), T(18)))}, r"merge touching"),
        ({2: ((T(18), T(0)), (T(20), T(22)))}, r"weekday 2: 20:00–22:00 overlaps"),
        ({7: ((T(9), T(12)),)}, r"weekday must be 0 \(Monday\) to 6 \(Sunday\), got 7"),
        ({0: ((T(9, tzinfo=dt.UTC), T(12)),)}, r"weekday 0: times of day must be naive"),
        ({0: (("09:00", "12:00"),)}, r"weekday 0: intervals need datetime.time values"),
        ({0: ((T(9),),)}, r"weekday 0: each interval is a \(start, end\) pair"),
    ],
)
def test_bad_intervals_are_rejected(weekly, message):
    with pytest.raises(ValueError, match=message):
        WorkingCalendar(time_zone="Asia/Shanghai", weekly=weekly)


def test_bad_calendars_are_rejected():
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        WorkingCalendar(time_zone="Mars/Olympus", weekly={})
    with pytest.raises(ValueError, match="both a holiday and a working day: 2026-12-01"):
        WorkingCalendar.standard(
            extra_holidays={dt.date(2026, 12, 1)}, extra_workdays={dt.date(2026, 12, 1)}
        )
    with pytest.raises(ValueError, match="workday_intervals: 12:00–09:00"):
        WorkingCalendar(time_zone="UTC", weekly={}, workday_intervals=((T(12), T(9)),))


def test_a_calendar_without_working_time_fails_clearly_and_fast():
    closed = WorkingCalendar(time_zone="Asia/Shanghai", weekly={}, use_chinese_holidays=False)
    began = clock.perf_counter()
    with pytest.raises(ValueError, match="no working time within 3 years"):
        add_working_time(closed, sh(2026, 12, 1), MIN)
    with pytest.raises(ValueError, match="no working day within 3 years"):
        add_working_days(closed, sh(2026, 12, 1), 1)
    assert clock.perf_counter() - began < 2


def test_long_durations_skip_whole_days():
    began = clock.perf_counter()
    result = add_working_time(STANDARD, sh(2026, 1, 5, 9), 1000 * H)
    assert clock.perf_counter() - began < 0.5
    assert working_time_between(STANDARD, sh(2026, 1, 5, 9), result) == 1000 * H


# --- invariants ------------------------------------------------------------------------------

NIGHT_SHIFT = WorkingCalendar(
    time_zone="Europe/Berlin",
    weekly={0: WEEKDAY_HOURS, 2: ((T(8), T(12)),), 6: ((T(1), T(2, 30)), (T(3), T(4)))},
    use_chinese_holidays=False,
    extra_workdays=frozenset({dt.date(2026, 10, 24)}),
)
CALENDARS = [
    STANDARD,
    weekdays_only("Europe/Berlin"),
    NIGHT_SHIFT,
    WorkingCalendar.round_the_clock("Europe/Berlin"),
    WorkingCalendar.standard(extra_holidays={dt.date(2027, 1, 4)}),
]
calendars = st.sampled_from(CALENDARS)
starts = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 6, 30)).map(
    lambda moment: moment.replace(tzinfo=UTC)
)
durations = st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(hours=300))
positive = durations.filter(lambda d: d > dt.timedelta(0))


def _at_interval_end(cal: WorkingCalendar, moment: dt.datetime) -> bool:
    day = moment.astimezone(ZoneInfo(cal.time_zone)).date()
    days = (day - dt.timedelta(days=1), day)
    return any(end == moment for d in days for _, end in intervals_on(cal, d))


@settings(max_examples=300, deadline=None)
@given(calendars, starts, positive)
def test_result_is_never_in_a_closed_period(cal, start, duration):
    result = add_working_time(cal, start, duration)
    assert result > start
    assert is_working_time(cal, result) or _at_interval_end(cal, result)


@settings(max_examples=300, deadline=None)
@given(calendars, starts, durations, durations)
def test_a_longer_duration_never_ends_earlier(cal, start, first, second):
    short, long = sorted((first, second))
    assert add_working_time(cal, start, short) <= add_working_time(cal, start, long)


@settings(max_examples=300, deadline=None)
@given(calendars, starts, durations)
def test_round_trip_with_working_time_between(cal, start, duration):
    assert working_time_between(cal, start, add_working_time(cal, start, duration)) == duration


@settings(max_examples=200, deadline=None)
@given(calendars, starts, positive, positive)
def test_adding_in_two_steps_equals_adding_at_once(cal, start, first, second):
    in_steps = add_working_time(cal, add_working_time(cal, start, first), second)
    assert in_steps == add_working_time(cal, start, first + second)


@settings(max_examples=200, deadline=None)
@given(calendars, starts, starts)
def test_working_time_between_never_exceeds_elapsed_time(cal, start, end):
    assume(start <= end)
    assert dt.timedelta(0) <= working_time_between(cal, start, end) <= end - start


@settings(max_examples=200, deadline=None)
@given(calendars, starts, st.integers(min_value=1, max_value=15))
def test_working_days_end_at_the_end_of_a_working_day(cal, start, days):
    result = add_working_days(cal, start, days)
    local = result.astimezone(ZoneInfo(cal.time_zone))
    assert result > start and _at_interval_end(cal, result)
    last_day = local.date() if local.time() != T(0) else local.date() - dt.timedelta(days=1)
    assert intervals_on(cal, last_day)[-1][1] == result
