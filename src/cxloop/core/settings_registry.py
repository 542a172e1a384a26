"""The organisation settings cxloop knows: their type, default and validation.

Values live in the ``Setting`` table as JSON; a key that was never saved reads as its default.
Change values through ``cxloop.core.services.set_setting`` so every change is audited.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _

from cxloop.core.models import Setting

ORGANISATION_NAME = "organisation_name"
SURVEY_FREQUENCY_CAP_DAYS = "survey_frequency_cap_days"
QUIET_HOURS_START = "quiet_hours_start"
QUIET_HOURS_END = "quiet_hours_end"
COMPENSATION_LIMIT_FEN = "compensation_limit_fen"
VIP_ANNUAL_SPEND_FEN = "vip_annual_spend_fen"
EXPORT_MASK_PII = "export_mask_pii"
MAJOR_COMPLAINT_AMOUNT_FEN = "major_complaint_amount_fen"
DETRACTOR_OPENS_CASE = "detractor_opens_case"
REPEAT_COMPLAINT_DAYS = "repeat_complaint_days"

_TIME_OF_DAY = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _clean_text(value: Any, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(_("Enter a text."))
    text = value.strip()
    if len(text) > max_length:
        raise ValidationError(_("At most %(n)d characters.") % {"n": max_length})
    return text


def _clean_int(value: Any, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError(_("Enter a whole number."))
    try:
        number = int(value)
    except ValueError:
        raise ValidationError(_("Enter a whole number.")) from None
    if not minimum <= number <= maximum:
        raise ValidationError(
            _("Enter a number from %(min)d to %(max)d.") % {"min": minimum, "max": maximum}
        )
    return number


def _clean_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValidationError(_("Enter yes or no."))


def _clean_time(value: Any) -> str:
    match = _TIME_OF_DAY.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValidationError(_("Enter a time as HH:MM, e.g. 21:00."))
    return f"{int(match.group(1)):02d}:{match.group(2)}"


@dataclass(frozen=True)
class SettingSpec:
    """One known setting. ``kind`` tells the settings form which field to show."""

    key: str
    label: str
    kind: str  # "text" | "int" | "bool" | "time" | "money" (money is stored in fen)
    default: Any
    help_text: str
    cleaner: Callable[[Any], Any]

    def clean(self, value: Any) -> Any:
        """The canonical stored value, or ValidationError with a message for people."""
        return self.cleaner(value)


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec(
        ORGANISATION_NAME,
        _("Organisation name"),
        "text",
        "示例零售",
        _("Shown in the console and in messages to customers."),
        lambda v: _clean_text(v, 100),
    ),
    SettingSpec(
        SURVEY_FREQUENCY_CAP_DAYS,
        _("Survey frequency cap (days)"),
        "int",
        30,
        _("Invite the same customer at most once in this many days. 0 means no cap."),
        lambda v: _clean_int(v, 0, 365),
    ),
    SettingSpec(
        QUIET_HOURS_START,
        _("Quiet hours start"),
        "time",
        "21:00",
        _("No SMS or push messages to customers from this time…"),
        _clean_time,
    ),
    SettingSpec(
        QUIET_HOURS_END,
        _("Quiet hours end"),
        "time",
        "08:00",
        _("…until this time (Asia/Shanghai)."),
        _clean_time,
    ),
    SettingSpec(
        COMPENSATION_LIMIT_FEN,
        _("Compensation without approval (¥)"),
        "money",
        5000,
        _("Agents may grant up to this amount; more needs a manager's approval."),
        lambda v: _clean_int(v, 0, 100_000_000),
    ),
    SettingSpec(
        VIP_ANNUAL_SPEND_FEN,
        _("VIP annual spend (¥)"),
        "money",
        500_000,
        _("A customer who spent at least this much in the last 365 days is a VIP."),
        lambda v: _clean_int(v, 0, 10_000_000_000),
    ),
    SettingSpec(
        EXPORT_MASK_PII,
        _("Mask personal data in exports"),
        "bool",
        True,
        _("Phone numbers and emails in exports are masked unless this is off."),
        _clean_bool,
    ),
    SettingSpec(
        MAJOR_COMPLAINT_AMOUNT_FEN,
        _("Major complaint from (¥)"),
        "money",
        1_000_000,
        _(
            "A complaint involving at least this amount (or a media risk) starts the emergency "
            "procedure: general-manager owner, result in 24 h, management told within 2 h."
        ),
        lambda v: _clean_int(v, 1, 10_000_000_000),
    ),
    SettingSpec(
        DETRACTOR_OPENS_CASE,
        _("Detractors open a follow-up case"),
        "bool",
        True,
        _("A survey answer of 0–6 on likelihood to recommend opens a case for a callback."),
        _clean_bool,
    ),
    SettingSpec(
        REPEAT_COMPLAINT_DAYS,
        _("Repeat complaint window (days)"),
        "int",
        30,
        _("A complaint of the same customer and category within this many days is a repeat."),
        lambda v: _clean_int(v, 1, 365),
    ),
)
REGISTRY: dict[str, SettingSpec] = {spec.key: spec for spec in SPECS}


def spec_for(key: str) -> SettingSpec:
    try:
        return REGISTRY[key]
    except KeyError:
        raise KeyError(f"unknown setting {key!r}; known: {', '.join(REGISTRY)}") from None


def effective_value(spec: SettingSpec, stored: Any) -> Any:
    # A stored value that no longer validates (hand-edited row, older rules) must not break
    # pages: fall back to the default.
    try:
        return spec.clean(stored)
    except ValidationError:
        return spec.default


# Hot paths (every survey submit reads the VIP threshold) keep a value for a few seconds per
# process; a change made in this process is seen at once, other processes see it within the TTL.
_cache: dict[str, tuple[float, Any]] = {}


def get_setting(key: str) -> Any:
    """The current value of one setting, or its default when never saved. Do not mutate it."""
    spec = spec_for(key)
    ttl = settings.CXLOOP_SETTINGS_CACHE_SECONDS
    cached = _cache.get(key) if ttl else None
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    rows = list(Setting.objects.filter(key=key).values_list("value", flat=True)[:1])
    value = effective_value(spec, rows[0]) if rows else spec.default
    if ttl:
        _cache[key] = (time.monotonic() + ttl, value)
    return value


def forget_cached_settings(**kwargs) -> None:
    _cache.clear()


post_save.connect(forget_cached_settings, sender=Setting, dispatch_uid="cxloop.settings.cache")
post_delete.connect(forget_cached_settings, sender=Setting, dispatch_uid="cxloop.settings.cache.d")


def all_settings() -> dict[str, Any]:
    """Every known setting with its current value, in one query."""
    stored = dict(Setting.objects.filter(key__in=REGISTRY).values_list("key", "value"))
    return {
        key: effective_value(spec, stored[key]) if key in stored else spec.default
        for key, spec in REGISTRY.items()
    }
