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
# Retention: RFM scores, tiers, life-cycle stages, CLV and demand tags (docs/retention.md).
RFM_QUANTILES = "rfm_quantiles"
TIER_HIGH_VALUE_PERCENT = "tier_high_value_percent"
TIER_POTENTIAL_PERCENT = "tier_potential_percent"
TIER_CHURN_WARNING_PERCENT = "tier_churn_warning_percent"
CHURN_INACTIVE_DAYS = "churn_inactive_days"
NEW_CUSTOMER_DAYS = "new_customer_days"
ACTIVE_CUSTOMER_DAYS = "active_customer_days"
LAPSED_CUSTOMER_DAYS = "lapsed_customer_days"
CLV_HORIZON_MONTHS = "clv_horizon_months"
CLV_MONTHLY_DISCOUNT_PERCENT = "clv_monthly_discount_percent"
TAG_PREMIUM_TOP_PERCENT = "tag_premium_top_percent"
TAG_VALUE_BOTTOM_PERCENT = "tag_value_bottom_percent"
TAG_MIN_ORDERS = "tag_min_orders"
TAG_CHANNEL_SHARE_PERCENT = "tag_channel_share_percent"
LOYALTY_ADJUSTMENT_APPROVAL_POINTS = "loyalty_adjustment_approval_points"
POINTS_EXPIRY_MONTHS = "points_expiry_months"
NEGATIVE_TEXT_THRESHOLD = "negative_text_threshold"
IDEA_REWARD_POINTS = "idea_reward_points"

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


def _clean_score(value: Any) -> float:
    """A sentiment score from -1 to 1 (the settings form sends it as text)."""
    try:
        number = float(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or not -1.0 <= number <= 1.0:
        raise ValidationError(_("Enter a number from -1 to 1, e.g. -0.3."))
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


def _int_spec(key: str, label, default: int, help_text, minimum: int, maximum: int) -> SettingSpec:
    return SettingSpec(
        key, label, "int", default, help_text, lambda v: _clean_int(v, minimum, maximum)
    )


# The thresholds of cxloop.retention (scores, tiers, stages, CLV, demand tags).
RETENTION_SPECS: tuple[SettingSpec, ...] = (
    _int_spec(
        RFM_QUANTILES,
        _("RFM score levels"),
        5,
        _("Recency, frequency and spend are each scored from 1 to this number (5: quintiles)."),
        2,
        10,
    ),
    _int_spec(
        TIER_HIGH_VALUE_PERCENT,
        _("High-value tier (share of customers, %)"),
        10,
        _("The best customers by RFM score, up to this share, are high value."),
        0,
        100,
    ),
    _int_spec(
        TIER_POTENTIAL_PERCENT,
        _("Potential tier (share of customers, %)"),
        30,
        _("The next customers by RFM score, up to this share, are potential."),
        0,
        100,
    ),
    _int_spec(
        TIER_CHURN_WARNING_PERCENT,
        _("Churn-warning tier (share of customers, %)"),
        10,
        _("At most this share of long-inactive customers, the lowest scores first."),
        0,
        100,
    ),
    _int_spec(
        CHURN_INACTIVE_DAYS,
        _("Churn warning after (days without an order)"),
        180,
        _("Customers whose last order is older than this may get the churn-warning tier."),
        1,
        3650,
    ),
    _int_spec(
        NEW_CUSTOMER_DAYS,
        _("New customer (days since registration)"),
        90,
        _("A customer without orders registered less than this many days ago is new."),
        1,
        3650,
    ),
    _int_spec(
        ACTIVE_CUSTOMER_DAYS,
        _("Active customer (days since last order)"),
        180,
        _("A customer who ordered within this many days is active."),
        1,
        3650,
    ),
    _int_spec(
        LAPSED_CUSTOMER_DAYS,
        _("Lapsed high-value customer (days without an order)"),
        90,
        _("A high-value customer without an order for longer than this is lapsed."),
        1,
        3650,
    ),
    _int_spec(
        CLV_HORIZON_MONTHS,
        _("Customer lifetime value horizon (months)"),
        12,
        _("Lifetime value is the expected, discounted spend over this many months."),
        1,
        60,
    ),
    _int_spec(
        CLV_MONTHLY_DISCOUNT_PERCENT,
        _("Lifetime value monthly discount (%)"),
        1,
        _("Future spend is discounted by this rate per month."),
        0,
        20,
    ),
    _int_spec(
        TAG_PREMIUM_TOP_PERCENT,
        _("Tag 关注高端款: top share by average order value (%)"),
        20,
        _("Customers whose average order value is in this top share get the tag 关注高端款."),
        0,
        100,
    ),
    _int_spec(
        TAG_VALUE_BOTTOM_PERCENT,
        _("Tag 偏好性价比: bottom share by average order value (%)"),
        30,
        _(
            "Customers with enough orders whose average order value is in this bottom share "
            "get the tag 偏好性价比."
        ),
        0,
        100,
    ),
    _int_spec(
        TAG_MIN_ORDERS,
        _("Behaviour tags: minimum orders"),
        3,
        _("偏好性价比, 门店常客 and 线上为主 need at least this many orders."),
        1,
        1000,
    ),
    _int_spec(
        TAG_CHANNEL_SHARE_PERCENT,
        _("Tags 门店常客 / 线上为主: channel share (%)"),
        70,
        _("At least this share of the orders in stores (门店常客) or online (线上为主)."),
        50,
        100,
    ),
)

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
    *RETENTION_SPECS,
    SettingSpec(
        LOYALTY_ADJUSTMENT_APPROVAL_POINTS,
        _("Points adjustment without approval (points)"),
        "int",
        1000,
        _("A manual adjustment of more than this many points (up or down) waits for approval."),
        lambda v: _clean_int(v, 0, 100_000_000),
    ),
    SettingSpec(
        POINTS_EXPIRY_MONTHS,
        _("Points expire after (months)"),
        "int",
        24,
        _("Earned points expire this many months after they were earned. 0 means never."),
        lambda v: _clean_int(v, 0, 120),
    ),
    SettingSpec(
        NEGATIVE_TEXT_THRESHOLD,
        _("Negative text flag below (sentiment)"),
        "text",
        -0.3,
        _(
            "A complaint or customer message scoring below this (-1 very negative … 1 very "
            "positive) is flagged to its owner and the department supervisors."
        ),
        _clean_score,
    ),
    SettingSpec(
        IDEA_REWARD_POINTS,
        _("Best idea of the week reward (points)"),
        "int",
        500,
        _("Points credited to the customer whose idea is chosen as the week's best. 0: none."),
        lambda v: _clean_int(v, 0, 1_000_000),
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
