"""Business calendars: working hours, Chinese public holidays, make-up days, SLA deadline maths.

Pure Python (zoneinfo + chinese_calendar, no Django), so cases, the worker and notebooks share it.

Rules
- Working time is real elapsed time. All arithmetic runs in UTC, so an interval on a DST switch
  day counts its true length (Berlin 00:00–06:00 on 29 March 2026 is 5 hours). Aware datetimes
  in one zone subtract as wall-clock times in Python, which is why nothing here does that.
- A day's hours, first rule that applies: ``always_open`` (the whole day), ``extra_holidays``
  (closed), ``extra_workdays`` (make-up day), the package's holidays and make-up days (when
  ``use_chinese_holidays`` and the year has data), otherwise ``weekly[weekday]``.
- Make-up days (调休上班) are worked with ``workday_intervals``; when that is None, with Monday's
  hours (or those of the first weekday from Monday on that has any).
- chinese_calendar only knows 2004–2026 (version 1.11); other years fall back to ``weekly``
  while manual dates still apply. ``years_without_holiday_data`` tells the console what to warn.
- Intervals are half-open [start, end). An end of 00:00 means midnight at the end of the day.
  A night shift across midnight is two intervals on two weekdays.
- A wall-clock time that does not exist (DST gap) is read as zoneinfo reads it, moved forward by
  the gap (02:30 → 03:30 CEST); a repeated time (fall-back) is its first occurrence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

Interval = tuple[dt.time, dt.time]
Span = tuple[dt.datetime, dt.datetime]

MIDNIGHT = dt.time(0)
ONE_DAY = dt.timedelta(days=1)
ZERO = dt.timedelta(0)
# A deadline further away than this means the calendar (nearly) never works: fail, don't spin.
SEARCH_DAYS = 3 * 366
STANDARD_HOURS: tuple[Interval, ...] = ((dt.time(9), dt.time(12)), (dt.time(13, 30), dt.time(18)))
_PACKAGE_HOLIDAYS = chinese_calendar.holidays
_PACKAGE_WORKDAYS = chinese_calendar.workdays
_DATA_YEARS = range(min(_PACKAGE_HOLIDAYS).year, max(_PACKAGE_HOLIDAYS).year + 1)


@dataclass(frozen=True)
class WorkingCalendar:
    """When an organisation works. Immutable and hashable; build it once, use it everywhere.

    ``weekly`` maps a weekday (0 = Monday … 6 = Sunday) to its sorted, separate intervals; a
    missing weekday is closed. ``always_open`` (7×24) ignores every other rule.
    """

    time_zone: str
    weekly: dict[int, tuple[Interval, ...]]
    use_chinese_holidays: bool = True
    extra_holidays: frozenset[dt.date] = frozenset()
    extra_workdays: frozenset[dt.date] = frozenset()
    always_open: bool = False
    workday_intervals: tuple[Interval, ...] | None = None
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _makeup: tuple[Interval, ...] = field(init=False, repr=False, compare=False)
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        weekly = _checked_weekly(self.weekly)
        holidays, workdays = frozenset(self.extra_holidays), frozenset(self.extra_workdays)
        both = sorted(holidays & workdays)
        if both:
            listed = ", ".join(day.isoformat() for day in both)
            raise ValueError(f"a date cannot be both a holiday and a working day: {listed}")
        explicit = self.workday_intervals
        if explicit is not None:
            explicit = _checked_intervals(explicit, "workday_intervals")
        makeup = explicit if explicit is not None else _first_weekday_hours(weekly)
        values = {
            "weekly": weekly,
            "extra_holidays": holidays,
            "extra_workdays": workdays,
            "workday_intervals": explicit,
            "_zone": _zone_named(self.time_zone),
            "_makeup": makeup,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)  # frozen: normalise once, here
        key = (self.time_zone, tuple(sorted(weekly.items())), self.use_chinese_holidays)
        key_rest = (holidays, workdays, self.always_open, makeup)
        object.__setattr__(self, "_hash", hash(key + key_rest))

    def __hash__(self) -> int:
        return self._hash

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    @property
    def makeup_day_intervals(self) -> tuple[Interval, ...]:
        """The hours worked on a make-up day."""
        return self._makeup

    @classmethod
    def standard(
        cls,
        time_zone: str = "Asia/Shanghai",
        *,
        extra_holidays: Iterable[dt.date] = (),
        extra_workdays: Iterable[dt.date] = (),
    ) -> WorkingCalendar:
        """Mon–Fri 09:00–12:00 and 13:30–18:00 with Chinese public holidays."""
        return cls(
            time_zone=time_zone,
            weekly={weekday: STANDARD_HOURS for weekday in range(5)},
            use_chinese_holidays=True,
            extra_holidays=frozenset(extra_holidays),
            extra_workdays=frozenset(extra_workdays),
        )

    @classmethod
    def round_the_clock(cls, time_zone: str = "Asia/Shanghai") -> WorkingCalendar:
        """7×24 for urgent cases: every moment counts, holidays included."""
        return cls(time_zone=time_zone, weekly={}, use_chinese_holidays=False, always_open=True)


# --- validation ------------------------------------------------------------------------------


def _zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown time zone {name!r}") from None


def _hm(value: dt.time) -> str:
    return value.strftime("%H:%M") if not value.second else value.isoformat()


def _checked_weekly(weekly: Mapping[int, Sequence[Interval]]) -> dict[int, tuple[Interval, ...]]:
    result: dict[int, tuple[Interval, ...]] = {}
    for weekday, intervals in weekly.items():
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday!r}")
        checked = _checked_intervals(intervals, f"weekday {weekday}")
        if checked:  # an empty weekday is the same as a missing one
            result[weekday] = checked
    return dict(sorted(result.items()))


def _checked_intervals(intervals: Sequence[Interval], where: str) -> tuple[Interval, ...]:
    result: list[Interval] = []
    for pair in intervals:
        if len(pair) != 2:
            raise ValueError(f"{where}: each interval is a (start, end) pair, got {pair!r}")
        start, end = pair
        if not isinstance(start, dt.time) or not isinstance(end, dt.time):
            raise ValueError(f"{where}: intervals need datetime.time values, got {pair!r}")
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError(f"{where}: times of day must be naive (the calendar's zone applies)")
        text = f"{where}: {_hm(start)}–{_hm(end)}"
        if end != MIDNIGHT and end <= start:
            raise ValueError(f"{text} must end after it starts")
        if result:
            previous_end = result[-1][1]
            if start == previous_end:
                raise ValueError(f"{text} starts where the one before ends; merge touching ones")
            if previous_end == MIDNIGHT or start < previous_end:
                raise ValueError(f"{text} overlaps or comes before the interval before it")
        result.append((start, end))
    return tuple(result)


def _first_weekday_hours(weekly: Mapping[int, tuple[Interval, ...]]) -> tuple[Interval, ...]:
    return next(iter(weekly.values()), ())  # weekly is sorted by weekday


def _require_aware(moment: dt.datetime, name: str) -> None:
    if not isinstance(moment, dt.datetime) or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {moment!r}")


# --- days and their intervals ----------------------------------------------------------------


def holiday_data_years() -> range:
    """The years chinese_calendar has holiday data for."""
    return _DATA_YEARS


def years_without_holiday_data(years: Iterable[int]) -> list[int]:
    """Those of ``years`` (sorted, once each) for which public holidays must be entered by hand."""
    return sorted({year for year in years if year not in _DATA_YEARS})


def _hours_of(cal: WorkingCalendar, day: dt.date) -> tuple[Interval, ...]:
    if cal.always_open:
        return ((MIDNIGHT, MIDNIGHT),)
    if day in cal.extra_holidays:
        return ()
    if day in cal.extra_workdays:
        return cal._makeup
    if cal.use_chinese_holidays and day.year in _DATA_YEARS:
        if day in _PACKAGE_HOLIDAYS:
            return ()
        if day in _PACKAGE_WORKDAYS:
            return cal._makeup
    return cal.weekly.get(day.weekday(), ())


def _instant(day: dt.date, time_of_day: dt.time, zone: ZoneInfo) -> dt.datetime:
    # fold=0 (the default): first occurrence of a repeated time, a skipped one moves forward.
    return dt.datetime.combine(day, time_of_day, tzinfo=zone).astimezone(dt.UTC)


def _utc_spans(cal: WorkingCalendar, day: dt.date) -> list[Span]:
    spans: list[Span] = []
    for start, end in _hours_of(cal, day):
        begin = _instant(day, start, cal._zone)
        finish = _instant(day + ONE_DAY if end == MIDNIGHT else day, end, cal._zone)
        if spans:  # a DST gap can push a start back into the interval before: clip, don't double
            begin = max(begin, spans[-1][1])
        if begin < finish:
            spans.append((begin, finish))
    return spans


def _spans_over(cal: WorkingCalendar, first: dt.date, last: dt.date) -> Iterator[Span]:
    day = first
    while day <= last:
        yield from _utc_spans(cal, day)
        day += ONE_DAY


def _local_date(cal: WorkingCalendar, moment: dt.datetime) -> dt.date:
    return moment.astimezone(cal._zone).date()


def is_working_day(cal: WorkingCalendar, day: dt.date) -> bool:
    """True when ``day`` has any working hours."""
    if isinstance(day, dt.datetime):
        raise TypeError("is_working_day takes a date, not a datetime; see is_working_time")
    return bool(_utc_spans(cal, day))


def intervals_on(cal: WorkingCalendar, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """The working intervals of ``day`` as aware datetimes in the calendar's zone."""
    zone = cal._zone
    return [(begin.astimezone(zone), end.astimezone(zone)) for begin, end in _utc_spans(cal, day)]


def is_working_time(cal: WorkingCalendar, at: dt.datetime) -> bool:
    """True when ``at`` lies inside a working interval (its end excluded)."""
    _require_aware(at, "at")
    if cal.always_open:
        return True
    moment = at.astimezone(dt.UTC)
    day = _local_date(cal, moment)
    # The day before too: robust for intervals that end at (a DST-shifted) midnight.
    return any(begin <= moment < end for begin, end in _spans_over(cal, day - ONE_DAY, day))


# --- deadlines -------------------------------------------------------------------------------


def add_working_time(
    cal: WorkingCalendar, start: dt.datetime, duration: dt.timedelta
) -> dt.datetime:
    """The moment ``duration`` of working time after ``start``, in the calendar's zone.

    Counting starts at the next working moment when ``start`` is outside working time; a zero
    duration returns ``start`` itself. A duration used up exactly at an interval's end returns
    that end. Raises ValueError when no such moment lies within 3 years.
    """
    _require_aware(start, "start")
    if duration < ZERO:
        raise ValueError(f"duration must not be negative, got {duration}")
    cursor = start.astimezone(dt.UTC)
    if duration == ZERO or cal.always_open:
        return (cursor + duration).astimezone(cal._zone)
    remaining = duration
    first = _local_date(cal, cursor) - ONE_DAY
    for begin, end in _spans_over(cal, first, first + dt.timedelta(days=SEARCH_DAYS)):
        begin = max(begin, cursor)
        if begin >= end:
            continue
        if remaining <= end - begin:  # "<=": ending exactly at closing time stays there
            return (begin + remaining).astimezone(cal._zone)
        remaining -= end - begin
    raise ValueError(
        f"no working time within 3 years of {start.isoformat()} left for {duration}: "
        "the calendar has no working hours or the duration is too long"
    )


def working_time_between(
    cal: WorkingCalendar, start: dt.datetime, end: dt.datetime
) -> dt.timedelta:
    """Working time from ``start`` to ``end``; zero when ``end`` is not after ``start``."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    begin, finish = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    if finish <= begin:
        return ZERO
    if cal.always_open:
        return finish - begin
    total = ZERO
    first, last = _local_date(cal, begin) - ONE_DAY, _local_date(cal, finish)
    for span_begin, span_end in _spans_over(cal, first, last):
        overlap = min(span_end, finish) - max(span_begin, begin)
        if overlap > ZERO:
            total += overlap
    return total


def add_working_days(cal: WorkingCalendar, start: dt.datetime, days: int) -> dt.datetime:
    """The end of the ``days``-th working day after the day of ``start`` ("within 3 working days").

    The rule of the PRC Civil Code, art. 201/203, counted in working days: the day a period
    starts on never counts, whatever the hour; the period ends when the last working day's
    business ends (its last interval's end; midnight for 7×24). Mon 10:00 + 3 → Thu 18:00,
    Sat + 1 → Mon 18:00. ``days=0`` is the end of today's work, or of the next working day
    when today is closed or already over. For "N × a working day's hours" (Freshdesk-style)
    use ``add_working_time`` instead.
    """
    _require_aware(start, "start")
    if days < 0:
        raise ValueError(f"days must not be negative, got {days}")
    day = _local_date(cal, start)
    if days == 0:
        spans = _utc_spans(cal, day)
        if spans and spans[-1][1] > start:
            return spans[-1][1].astimezone(cal._zone)
        days = 1
    counted = 0
    for offset in range(1, SEARCH_DAYS + 1):
        spans = _utc_spans(cal, day + dt.timedelta(days=offset))
        counted += bool(spans)
        if counted == days:
            return spans[-1][1].astimezone(cal._zone)
    raise ValueError(f"no working day within 3 years of {start.isoformat()} left for {days} days")


def shift_for_pause(
    cal: WorkingCalendar,
    deadline: dt.datetime,
    paused_from: dt.datetime,
    paused_to: dt.datetime,
) -> dt.datetime:
    """``deadline`` moved on by the working time that passed during the pause.

    A pause outside working hours moves nothing; a pause that outlasts the deadline leaves the
    working time that was left at its start, counted from its end.
    """
    _require_aware(deadline, "deadline")
    paused = working_time_between(cal, paused_from, paused_to)
    return add_working_time(cal, deadline, paused)
