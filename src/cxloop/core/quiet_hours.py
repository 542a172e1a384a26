"""Quiet hours: a daily window in which customers get no SMS, WeChat or push messages.

Pure time logic, shared by survey invitations and (later) case notifications. A window may
cross midnight (21:00–08:00) or lie within one day (12:00–14:00); equal start and end means
there are no quiet hours.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def parse_time_of_day(text: str) -> dt.time:
    """ "HH:MM" (as the settings registry stores it) → a time."""
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


def is_quiet(local_time: dt.time, start: dt.time, end: dt.time) -> bool:
    """True when a wall-clock time lies in [start, end), the window possibly crossing midnight."""
    if start == end:
        return False
    if start < end:
        return start <= local_time < end
    return local_time >= start or local_time < end


def next_allowed_time(
    moment: dt.datetime, start: dt.time, end: dt.time, tz: dt.tzinfo | str
) -> dt.datetime:
    """``moment`` itself outside quiet hours, else the end of the quiet hours it falls in."""
    if moment.tzinfo is None:
        raise ValueError("next_allowed_time needs an aware datetime")
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    local = moment.astimezone(zone)
    if not is_quiet(local.time(), start, end):
        return moment
    # Before the end on the same day (12:00–14:00, or the early-morning part of 21:00–08:00),
    # otherwise the end falls on the next day.
    day = local.date() if local.time() < end else local.date() + dt.timedelta(days=1)
    candidate = dt.datetime.combine(day, end, tzinfo=zone)
    if candidate < moment:  # the end is a repeated wall time (DST fall-back): take the later one
        candidate = candidate.replace(fold=1)
    # Round-trip through UTC so a wall time skipped by DST becomes a real instant.
    return candidate.astimezone(dt.UTC).astimezone(zone)
