"""Quiet hours: crossing midnight, same-day windows, none at all, and two properties."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxloop.core.quiet_hours import is_quiet, next_allowed_time, parse_time_of_day

SHANGHAI = ZoneInfo("Asia/Shanghai")
NIGHT = (dt.time(21), dt.time(8))
NOON = (dt.time(12), dt.time(14))


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(10, 20, 59), at(10, 20, 59)),  # just before: sent now
        (at(10, 21), at(11, 8)),  # start belongs to the quiet hours
        (at(10, 23, 30), at(11, 8)),  # before midnight → next morning
        (at(11, 3), at(11, 8)),  # after midnight → same morning
        (at(11, 8), at(11, 8)),  # end is allowed again
        (at(11, 12), at(11, 12)),
    ],
)
def test_window_across_midnight(moment, expected):
    assert next_allowed_time(moment, *NIGHT, SHANGHAI) == expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(10, 11, 59), at(10, 11, 59)),
        (at(10, 12), at(10, 14)),
        (at(10, 13, 45), at(10, 14)),
        (at(10, 14), at(10, 14)),
        (at(10, 23), at(10, 23)),
    ],
)
def test_window_within_a_day(moment, expected):
    assert next_allowed_time(moment, *NOON, SHANGHAI) == expected


def test_equal_start_and_end_means_no_quiet_hours():
    assert next_allowed_time(at(10, 22), dt.time(21), dt.time(21), SHANGHAI) == at(10, 22)
    assert not is_quiet(dt.time(21), dt.time(21), dt.time(21))


def test_utc_input_and_zone_name():
    moment = dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC)  # 22:00 in Shanghai
    assert next_allowed_time(moment, *NIGHT, "Asia/Shanghai") == at(11, 8)


def test_naive_input_is_refused():
    with pytest.raises(ValueError):
        next_allowed_time(dt.datetime(2026, 3, 10, 22), *NIGHT, SHANGHAI)


def test_parse_time_of_day():
    assert parse_time_of_day("08:00") == dt.time(8) and parse_time_of_day("21:30") == dt.time(
        21, 30
    )


ZONES = st.sampled_from(["Asia/Shanghai", "Europe/Berlin", "America/New_York", "UTC"])
TIMES = st.times().map(lambda t: t.replace(second=0, microsecond=0))
MOMENTS = st.datetimes(
    min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 1, 1), timezones=st.just(dt.UTC)
)


@given(moment=MOMENTS, start=TIMES, end=TIMES, zone=ZONES)
def test_result_is_never_quiet_and_never_earlier(moment, start, end, zone):
    result = next_allowed_time(moment, start, end, zone)
    assert result >= moment
    assert not is_quiet(result.astimezone(ZoneInfo(zone)).time(), start, end)
    assert result - moment <= dt.timedelta(days=1, hours=2)  # at most one window (+ DST)


@given(moment=MOMENTS, start=TIMES, end=TIMES, zone=ZONES)
def test_allowed_moments_are_kept(moment, start, end, zone):
    if not is_quiet(moment.astimezone(ZoneInfo(zone)).time(), start, end):
        assert next_allowed_time(moment, start, end, zone) == moment
