"""Business calendars in the database: validated, audited writes and the WorkingCalendar cache.

A ``BusinessCalendar`` row stores JSON (``{"0": [["09:00", "12:00"], …]}``, ISO dates); this
module checks it field by field with messages a manager can act on, and turns a row into the
pure ``WorkingCalendar`` that ``cxloop.core.business_time`` computes deadlines with. Make-up
days are worked with Monday's hours (the business_time default).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _

from cxloop.core.audit import changed_only, record_audit, snapshot
from cxloop.core.business_time import STANDARD_HOURS, WorkingCalendar, years_without_holiday_data
from cxloop.core.models import BusinessCalendar

FIELDS = (
    "name",
    "time_zone",
    "weekly_hours",
    "use_chinese_holidays",
    "always_open",
    "extra_holidays",
    "extra_workdays",
    "is_default",
)
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_DAY_MINUTES = 24 * 60
_CACHE: dict[tuple[int, dt.datetime], WorkingCalendar] = {}
_CACHE_SIZE = 256


# --- row → WorkingCalendar -------------------------------------------------------------------


def to_working_calendar(calendar: BusinessCalendar) -> WorkingCalendar:
    """The row as a ``WorkingCalendar``, built once per saved version (id + updated_at).

    Raises ValidationError for a row that was stored without these services and is invalid.
    """
    if calendar.pk is None or calendar.updated_at is None:
        return _build(snapshot(calendar, FIELDS))
    key = (calendar.pk, calendar.updated_at)
    cached = _CACHE.get(key)
    if cached is None:
        cached = _build(snapshot(calendar, FIELDS))
        if len(_CACHE) >= _CACHE_SIZE:  # old versions pile up after edits; a reset is enough
            _CACHE.clear()
        _CACHE[key] = cached
    return cached


def _build(values: Mapping[str, Any]) -> WorkingCalendar:
    """A ``WorkingCalendar`` from cleaned JSON values; ValidationError when they are not clean."""
    clean = _clean_fields(values)
    weekly = {
        int(day): tuple((_to_time(start), _to_time(end)) for start, end in intervals)
        for day, intervals in clean["weekly_hours"].items()
    }
    return WorkingCalendar(
        time_zone=clean["time_zone"],
        weekly=weekly,
        use_chinese_holidays=clean["use_chinese_holidays"],
        extra_holidays=frozenset(map(dt.date.fromisoformat, clean["extra_holidays"])),
        extra_workdays=frozenset(map(dt.date.fromisoformat, clean["extra_workdays"])),
        always_open=clean["always_open"],
    )


def years_needing_manual_holidays(
    calendar: BusinessCalendar, *, today: dt.date | None = None
) -> list[int]:
    """This year and next, where chinese_calendar has no data and no holiday was entered by hand.

    The console warns about these: deadlines there fall back to plain weekdays.
    """
    if calendar.always_open or not calendar.use_chinese_holidays:
        return []
    year = (today or timezone.localdate()).year
    entered = {str(day)[:4] for day in calendar.extra_holidays or []}
    return [y for y in years_without_holiday_data([year, year + 1]) if str(y) not in entered]


# --- the calendars every installation has ----------------------------------------------------


def default_calendar() -> BusinessCalendar:
    """The default calendar; the standard one (Mon–Fri, Chinese holidays) when there is none."""
    return _ensure(
        lambda: BusinessCalendar.objects.filter(is_default=True).first(),
        name=_("Standard working hours"),
        is_default=True,
    )


def round_the_clock_calendar() -> BusinessCalendar:
    """A 7×24 calendar for urgent cases: the first one there is, created on first use."""
    return _ensure(
        lambda: BusinessCalendar.objects.filter(always_open=True).order_by("pk").first(),
        name=_("Round the clock (7×24)"),
        always_open=True,
        use_chinese_holidays=False,
        weekly_hours={},
    )


def _ensure(
    find: Callable[[], BusinessCalendar | None], *, name: str, **fields: Any
) -> BusinessCalendar:
    """``find()``, or a new row (audited as the system) when it finds nothing."""
    row = find()
    if row is not None:
        return row
    values = {**_defaults(), **fields, "name": _free_name(name)}
    try:
        with transaction.atomic():
            # take_default=False: when racing another process, the unique constraint decides.
            return _create(_validated(values, instance=None), actor=None, take_default=False)
    except IntegrityError:  # another process created it in the meantime
        row = find()
        if row is None:
            raise
        return row


def _free_name(base: str) -> str:
    name, number = base, 1
    while BusinessCalendar.objects.filter(name__iexact=name).exists():
        number += 1
        name = f"{base} ({number})"
    return name


# --- audited writes --------------------------------------------------------------------------


def create_calendar(*, actor, **fields: Any) -> BusinessCalendar:
    """Validate and store a new calendar; unset fields get the standard calendar's values.

    Raises ValidationError with a message per field, TypeError for an unknown field.
    """
    clean = _validated({**_defaults(), **_known(fields)}, instance=None)
    return _create(clean, actor=actor, take_default=True)


def _create(clean: dict[str, Any], *, actor, take_default: bool) -> BusinessCalendar:
    with transaction.atomic():
        if clean["is_default"] and take_default:
            _unset_other_defaults(keep=None, actor=actor)
        calendar = BusinessCalendar.objects.create(**clean)
        record_audit(
            actor=actor,
            action="calendar.created",
            target=calendar,
            after=snapshot(calendar, FIELDS),
        )
    return calendar


def update_calendar(*, calendar: BusinessCalendar, actor, **fields: Any) -> BusinessCalendar:
    """Validate and store changes; return the updated row (re-read under a row lock).

    One audit row shows what changed; nothing changed, nothing written. Making a calendar the
    default takes the flag from the previous one (audited too); un-defaulting is refused.
    """
    fields = _known(fields)
    with transaction.atomic():
        row = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
        before = snapshot(row, FIELDS)
        clean = _validated({**before, **fields}, instance=row)
        old, new = changed_only(before, clean)
        if not new:
            return row
        if new.get("is_default"):
            _unset_other_defaults(keep=row.pk, actor=actor)
        for name, value in new.items():
            setattr(row, name, value)
        row.save(update_fields=[*new, "updated_at"])
        record_audit(actor=actor, action="calendar.changed", target=row, before=old, after=new)
    return row


def _unset_other_defaults(*, keep: int | None, actor) -> None:
    # Only one default may exist (a partial unique constraint); hand the flag over, audited.
    others = BusinessCalendar.objects.select_for_update().filter(is_default=True)
    for other in others.exclude(pk=keep):
        other.is_default = False
        other.save(update_fields=["is_default", "updated_at"])
        record_audit(
            actor=actor,
            action="calendar.changed",
            target=other,
            before={"is_default": True},
            after={"is_default": False},
        )


def _defaults() -> dict[str, Any]:
    standard = [[_hm(start), _hm(end)] for start, end in STANDARD_HOURS]
    return {
        "name": "",
        "time_zone": settings.TIME_ZONE,
        "weekly_hours": {str(day): standard for day in range(5)},
        "use_chinese_holidays": True,
        "always_open": False,
        "extra_holidays": [],
        "extra_workdays": [],
        "is_default": False,
    }


def _known(fields: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise TypeError(f"unknown calendar field(s): {', '.join(unknown)}")
    return dict(fields)


# --- validation ------------------------------------------------------------------------------


def _validated(values: Mapping[str, Any], *, instance: BusinessCalendar | None) -> dict[str, Any]:
    """Clean values plus the checks that need the database; ValidationError per field."""
    errors: dict[str, list[str]] = {}
    try:
        clean = _clean_fields(values)
    except ValidationError as exc:
        errors, clean = exc.message_dict, {}
    name = values.get("name", "").strip() if isinstance(values.get("name"), str) else ""
    others = BusinessCalendar.objects.exclude(pk=instance.pk if instance else None)
    if name and others.filter(name__iexact=name).exists():
        errors.setdefault("name", []).append(_("A calendar with this name already exists."))
    if instance is not None and instance.is_default and values.get("is_default") is False:
        message = _("Make another calendar the default instead; one must always be the default.")
        errors.setdefault("is_default", []).append(message)
    if errors:
        raise ValidationError(errors)
    return clean


def _clean_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    cleaners: dict[str, Callable[[Any], Any]] = {
        "name": _clean_name,
        "time_zone": _clean_time_zone,
        "weekly_hours": _clean_weekly,
        "use_chinese_holidays": _clean_bool,
        "always_open": _clean_bool,
        "extra_holidays": _clean_dates,
        "extra_workdays": _clean_dates,
        "is_default": _clean_bool,
    }
    clean: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, cleaner in cleaners.items():
        try:
            clean[name] = cleaner(values.get(name))
        except ValidationError as exc:
            errors[name] = exc.messages
    errors.update(_cross_field_errors(clean))
    if errors:
        raise ValidationError(errors)
    return clean


def _cross_field_errors(clean: Mapping[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    both = sorted(set(clean.get("extra_holidays", [])) & set(clean.get("extra_workdays", [])))
    if both:
        message = _("%(dates)s cannot be both an extra holiday and an extra working day.")
        errors["extra_workdays"] = [message % {"dates": ", ".join(both)}]
    if clean.get("weekly_hours") == {} and clean.get("always_open") is False:
        message = _("Enter working hours for at least one day, or open the calendar 7×24.")
        errors["weekly_hours"] = [message]
    return errors


def _clean_name(value: Any) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name:
        raise ValidationError(_("Enter a name."))
    if len(name) > BusinessCalendar._meta.get_field("name").max_length:
        raise ValidationError(_("Use at most 100 characters."))
    return name


def _clean_time_zone(value: Any) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValidationError(_("Unknown time zone: %(name)s.") % {"name": value}) from None
    return value


def _clean_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(_("Enter true or false."))
    return value


def _clean_dates(value: Any) -> list[str]:
    if not isinstance(value, list | tuple | set | frozenset):
        raise ValidationError(_("Enter a list of dates (YYYY-MM-DD)."))
    days: set[str] = set()
    for item in value:
        if isinstance(item, dt.date) and not isinstance(item, dt.datetime):
            days.add(item.isoformat())
            continue
        try:
            days.add(dt.date.fromisoformat(item).isoformat())
        except (TypeError, ValueError):
            raise ValidationError(
                _("%(value)s is not a date (YYYY-MM-DD).") % {"value": item}
            ) from None
    return sorted(days)


def _clean_weekly(value: Any) -> dict[str, list[list[str]]]:
    if not isinstance(value, Mapping):
        raise ValidationError(_("Enter working hours per weekday, 0 (Monday) to 6 (Sunday)."))
    result: dict[int, list[list[str]]] = {}
    for key, intervals in value.items():
        day = _weekday(key)
        minutes = _day_minutes(day, intervals)
        if minutes:
            result[day] = [[_minutes_text(start), _minutes_text(end)] for start, end in minutes]
    return {str(day): result[day] for day in sorted(result)}


def _weekday(key: Any) -> int:
    text = str(key).strip()
    if not text.isdigit() or int(text) > 6:
        message = _("%(value)s is not a weekday; use 0 (Monday) to 6 (Sunday).")
        raise ValidationError(message % {"value": key})
    return int(text)


def _day_minutes(day: int, intervals: Any) -> list[tuple[int, int]]:
    """One weekday's intervals as sorted minute pairs; midnight at the end ("24:00") is 1440."""
    label = str(WEEKDAYS[day])
    if not isinstance(intervals, list | tuple):
        raise ValidationError(_("%(day)s: enter a list of [start, end] times.") % {"day": label})
    pairs = []
    for pair in intervals:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            message = _('%(day)s: each interval needs a start and an end, e.g. ["09:00", "12:00"].')
            raise ValidationError(message % {"day": label})
        start, end = (_minutes(label, text) for text in pair)
        end = end or _DAY_MINUTES  # an end of 00:00 (what time pickers offer) means midnight
        if end <= start:
            message = _("%(day)s: %(start)s–%(end)s ends before it starts.")
            raise ValidationError(message % {"day": label, "start": pair[0], "end": pair[1]})
        pairs.append((start, end))
    pairs.sort()
    for (start_a, end_a), (start_b, end_b) in itertools.pairwise(pairs):
        if start_b <= end_a:
            first, second = _span_text(start_a, end_a), _span_text(start_b, end_b)
            message = _("%(day)s: %(first)s and %(second)s overlap or touch; merge them.")
            raise ValidationError(message % {"day": label, "first": first, "second": second})
    return pairs


def _minutes(label: str, text: Any) -> int:
    match = _TIME.match(text.strip()) if isinstance(text, str) else None
    hours, minutes = (int(match[1]), int(match[2])) if match else (99, 99)
    total = hours * 60 + minutes
    if minutes > 59 or total > _DAY_MINUTES:
        message = _("%(day)s: %(value)s is not a time of day (HH:MM).")
        raise ValidationError(message % {"day": label, "value": text})
    return total


def _minutes_text(total: int) -> str:
    return f"{total // 60:02d}:{total % 60:02d}"


def _span_text(start: int, end: int) -> str:
    return f"{_minutes_text(start)}–{_minutes_text(end)}"


def _hm(value: dt.time) -> str:
    return value.strftime("%H:%M")


def _to_time(text: str) -> dt.time:
    # "24:00" is stored for midnight at the end of the day; business_time spells it 00:00.
    hours, minutes = map(int, text.split(":"))
    return dt.time(hours % 24, minutes)
