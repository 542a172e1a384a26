"""Row validation and normalisation for customers and orders, shared by import and the API.

Each row is a mapping of field name → raw value (a string from CSV, or a str/int/float/datetime
from an XLSX cell, or a JSON value from the API). ``validate_row`` turns it into clean Python
values or a list of errors ``{row, column, value, reason}``. A blank value means "not given":
on update the stored value is kept, on create the model default is used.

This runs once per imported row, so it avoids Django forms and ``full_clean``: pre-compiled
regexes and plain functions keep it at a few microseconds per row.

Error reasons are English msgids (marked with ``gettext_noop``); they are stored as such in
``ImportJob.errors`` and translated when shown (``gettext(reason)`` / ``{% translate %}``).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext_lazy, gettext_noop
from openpyxl.utils.datetime import from_excel

from cxloop.core.money import yuan_to_fen
from cxloop.customers.models import Order

REQUIRED = gettext_noop("This value is required.")
TOO_LONG = gettext_noop("Too long.")
BAD_PHONE = gettext_noop("Not a valid mobile number (11 digits starting with 1).")
BAD_EMAIL = gettext_noop("Not a valid email address.")
BAD_DATE = gettext_noop("Not a valid date (use YYYY-MM-DD).")
BAD_DATETIME = gettext_noop("Not a valid date and time (use YYYY-MM-DD HH:MM).")
FUTURE_DATE = gettext_noop("Date is in the future.")
BAD_BOOL = gettext_noop("Not a yes/no value (use 是/否, yes/no, 1/0).")
BAD_AMOUNT = gettext_noop("Not a valid amount.")
NEGATIVE_AMOUNT = gettext_noop("Amount cannot be negative.")
TOO_LARGE_AMOUNT = gettext_noop("Amount is too large.")
# ¥100 billion: far above any real order, far below the 64-bit column's limit.
MAX_AMOUNT_FEN = 10**13
BAD_CHOICE = gettext_noop("Unknown value.")
UNKNOWN_CUSTOMER = gettext_noop("Unknown customer.")
BAD_TAGS = gettext_noop("Too many or too long tags.")

MAX_ERROR_VALUE = 100  # characters of the offending value kept in an error report


class Invalid(ValueError):
    """A value that cannot be cleaned; ``reason`` is an untranslated msgid."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def make_error(row: int, column: str, value: Any, reason: str) -> dict:
    text = "" if value is None else str(value)
    return {"row": row, "column": column, "value": text[:MAX_ERROR_VALUE], "reason": reason}


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def as_text(value: Any) -> str:
    """A cell as text: Excel turns "10001" into 10001 or 10001.0, undo that."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# --- text --------------------------------------------------------------------------------


_QUOTED_FORMULA = ("'=", "'+", "'-", "'@")


def text(max_length: int) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        cleaned = as_text(value)
        if cleaned.startswith(_QUOTED_FORMULA):
            cleaned = cleaned[1:]  # the quote our CSV export adds against formula injection
        if len(cleaned) > max_length:
            raise Invalid(TOO_LONG)
        return cleaned

    return parse


_PHONE_NOISE = re.compile(r"[\s\-()（）.]")
_MOBILE = re.compile(r"1\d{10}")


def parse_phone(value: Any) -> str:
    """Chinese mobile number, normalised to 11 digits (drops +86/0086, spaces and dashes)."""
    digits = _PHONE_NOISE.sub("", as_text(value))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if not _MOBILE.fullmatch(digits):
        raise Invalid(BAD_PHONE)
    return digits


_EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]{2,}")


def parse_email(value: Any) -> str:
    email = as_text(value)
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise Invalid(BAD_EMAIL)
    local, domain = email.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


_TAG_SPLIT = re.compile(r"[,，;；|、]")


def parse_tags(value: Any) -> list[str]:
    """Split on , ， ; ； | 、 and drop blanks and duplicates, keeping the order."""
    if isinstance(value, list | tuple):
        parts = [as_text(item) for item in value]
    else:
        parts = _TAG_SPLIT.split(as_text(value))
    tags = list(dict.fromkeys(part.strip() for part in parts if part and part.strip()))
    if len(tags) > 50 or any(len(tag) > 50 for tag in tags):
        raise Invalid(BAD_TAGS)
    return tags


# --- yes/no ------------------------------------------------------------------------------

_TRUE = {"是", "true", "1", "yes", "y", "t", "对", "√", "同意"}
_FALSE = {"否", "false", "0", "no", "n", "f", "不", "×", "不同意"}


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = as_text(value).lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise Invalid(BAD_BOOL)


# --- dates and times -----------------------------------------------------------------------

_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]0{1,2}:00(?::00(?:\.0+)?)?)?")
_DATETIME = re.compile(
    r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?"
)


def _excel_serial(value: Any) -> dt.datetime | None:
    """An Excel serial day number (a date cell without date format) as a datetime."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value < 2958466:
        return from_excel(value)
    return None


def parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    serial = _excel_serial(value)
    if serial is not None:
        return serial.date()
    match = _DATE.fullmatch(as_text(value))
    if match is None:
        raise Invalid(BAD_DATE)
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise Invalid(BAD_DATE) from None


def parse_past_date(value: Any) -> dt.date:
    day = parse_date(value)
    if day > timezone.localdate():
        raise Invalid(FUTURE_DATE)
    return day


def parse_datetime(value: Any) -> dt.datetime:
    """A timestamp; naive values are local time (settings.TIME_ZONE, Asia/Shanghai)."""
    if value.__class__ is str:
        moment = _parse_datetime_text(value.strip())
    elif isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
    elif (serial := _excel_serial(value)) is not None:
        moment = serial
    else:
        moment = _parse_datetime_text(as_text(value))
    if moment.tzinfo is None:
        # Asia/Shanghai has had no DST since 1991, so replace() is exact there.
        return moment.replace(tzinfo=timezone.get_default_timezone())
    try:
        # Store explicit offsets as UTC: PostgreSQL refuses unusual ones such as +23:34.
        return moment.astimezone(dt.UTC)
    except OverflowError:
        raise Invalid(BAD_DATETIME) from None


def _parse_datetime_text(raw: str) -> dt.datetime:
    # Fast path: ISO 8601 ("2024-05-01 10:30:00", "...T10:30+08:00") parses in C.
    if len(raw) >= 10 and raw[4] == "-" and raw[7] == "-":
        try:
            return dt.datetime.fromisoformat(raw)
        except ValueError:
            pass
    match = _DATETIME.fullmatch(raw)
    if match is None:
        raise Invalid(BAD_DATETIME)
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        moment = dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
        )
        if offset:
            moment = dt.datetime.fromisoformat(moment.isoformat() + _iso_offset(offset))
    except ValueError:
        raise Invalid(BAD_DATETIME) from None
    return moment


def _iso_offset(offset: str) -> str:
    if offset == "Z":
        return "+00:00"
    return offset if ":" in offset else f"{offset[:3]}:{offset[3:]}"


# --- money -------------------------------------------------------------------------------


_PLAIN_YUAN = re.compile(r"(\d{1,15})(?:\.(\d{1,2}))?")


def parse_yuan(value: Any) -> int:
    """An amount in yuan ("128.50", "¥1,280") as integer fen."""
    if value.__class__ is str and (plain := _PLAIN_YUAN.fullmatch(value)):
        # Fast path for the usual "128.50": same result as yuan_to_fen, without Decimal.
        whole, cents = plain.groups()
        return _within_range(int(whole) * 100 + int((cents or "0").ljust(2, "0")))
    if isinstance(value, bool):
        raise Invalid(BAD_AMOUNT)
    try:
        fen = yuan_to_fen(value)
    except (ValueError, ArithmeticError):
        raise Invalid(BAD_AMOUNT) from None
    return _within_range(fen)


def parse_fen(value: Any) -> int:
    """An amount already in integer fen."""
    if isinstance(value, bool):
        raise Invalid(BAD_AMOUNT)
    try:
        fen = int(as_text(value))
    except ValueError:
        raise Invalid(BAD_AMOUNT) from None
    return _within_range(fen)


def _within_range(fen: int) -> int:
    if fen < 0:
        raise Invalid(NEGATIVE_AMOUNT)
    if fen > MAX_AMOUNT_FEN:
        raise Invalid(TOO_LARGE_AMOUNT)
    return fen


# --- choices -------------------------------------------------------------------------------


def choice(words: Callable[[], dict[str, str]]) -> Callable[[Any], str]:
    """Accept a code, its English label or a common Chinese label, case-insensitively."""

    def parse(value: Any) -> str:
        code = words().get(as_text(value).lower())
        if code is None:
            raise Invalid(BAD_CHOICE)
        return code

    return parse


def _choice_words(choices: type, chinese: dict[str, str]) -> dict[str, str]:
    words = {word.lower(): code for word, code in chinese.items()}
    with translation.override("en"):
        for code, label in choices.choices:
            words[code.lower()] = code
            words[str(label).lower()] = code
    return words


@functools.cache
def channel_words() -> dict[str, str]:
    return _choice_words(
        Order.Channel,
        {
            "门店": "store",
            "线下": "store",
            "实体店": "store",
            "线上": "online",
            "网店": "online",
            "线上商城": "online",
            "商城": "online",
            "官网": "online",
            "应用": "app",
            "小程序": "mini_program",
            "微信小程序": "mini_program",
            "mini program": "mini_program",
            "电话": "phone",
            "热线": "phone",
            "其他": "other",
            "其它": "other",
        },
    )


@functools.cache
def status_words() -> dict[str, str]:
    return _choice_words(
        Order.Status,
        {
            "已下单": "placed",
            "下单": "placed",
            "待付款": "placed",
            "已支付": "paid",
            "已付款": "paid",
            "待发货": "paid",
            "已发货": "shipped",
            "运输中": "shipped",
            "已送达": "delivered",
            "已签收": "delivered",
            "已完成": "completed",
            "完成": "completed",
            "已取消": "cancelled",
            "取消": "cancelled",
            "已退款": "refunded",
            "退款": "refunded",
        },
    )


# --- field specs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    parse: Callable[[Any], Any]
    target: str  # the model attribute the clean value goes to
    required: bool = False


CUSTOMER_FIELDS: dict[str, FieldSpec] = {
    "external_id": FieldSpec(text(64), "external_id", required=True),
    "name": FieldSpec(text(100), "name"),
    "phone": FieldSpec(parse_phone, "phone"),
    "email": FieldSpec(parse_email, "email"),
    "birthday": FieldSpec(parse_past_date, "birthday"),
    "registered_at": FieldSpec(parse_date, "registered_at"),
    "region": FieldSpec(text(64), "region"),
    "store": FieldSpec(text(64), "store"),
    "consent_survey": FieldSpec(parse_bool, "consent_survey"),
    "consent_marketing": FieldSpec(parse_bool, "consent_marketing"),
    "tags": FieldSpec(parse_tags, "tags"),
}

ORDER_FIELDS: dict[str, FieldSpec] = {
    "external_id": FieldSpec(text(64), "external_id", required=True),
    "customer_external_id": FieldSpec(text(64), "customer_external_id", required=True),
    "amount": FieldSpec(parse_yuan, "amount_fen"),
    "amount_fen": FieldSpec(parse_fen, "amount_fen"),
    "placed_at": FieldSpec(parse_datetime, "placed_at", required=True),
    "delivered_at": FieldSpec(parse_datetime, "delivered_at"),
    "channel": FieldSpec(choice(channel_words), "channel"),
    "store": FieldSpec(text(64), "store"),
    "status": FieldSpec(choice(status_words), "status"),
}

FIELD_SPECS = {"customers": CUSTOMER_FIELDS, "orders": ORDER_FIELDS}
# What each field is called in the console (column mapping, error messages).
FIELD_LABELS = {
    "external_id": gettext_lazy("External id"),
    "customer_external_id": gettext_lazy("Customer external id"),
    "name": gettext_lazy("Name"),
    "phone": gettext_lazy("Mobile phone"),
    "email": gettext_lazy("Email"),
    "birthday": gettext_lazy("Birthday"),
    "registered_at": gettext_lazy("Registration date"),
    "region": gettext_lazy("Region"),
    "store": gettext_lazy("Store"),
    "consent_survey": gettext_lazy("Consents to surveys"),
    "consent_marketing": gettext_lazy("Consents to marketing"),
    "tags": gettext_lazy("Tags"),
    "amount": gettext_lazy("Amount (yuan)"),
    "amount_fen": gettext_lazy("Amount (fen)"),
    "placed_at": gettext_lazy("Placed at"),
    "delivered_at": gettext_lazy("Delivered at"),
    "channel": gettext_lazy("Channel"),
    "status": gettext_lazy("Status"),
}

# Targets every row must end up with; "amount" or "amount_fen" both fill amount_fen.
REQUIRED_TARGETS = {
    "customers": {"external_id": ("external_id",)},
    "orders": {
        "external_id": ("external_id",),
        "customer_external_id": ("customer_external_id",),
        "amount_fen": ("amount", "amount_fen"),
        "placed_at": ("placed_at",),
    },
}


def validate_row(
    kind: str, raw: Mapping[str, Any], *, row: int, columns: Mapping[str, str] | None = None
) -> tuple[dict | None, list[dict]]:
    """Clean one row of ``kind`` ("customers"/"orders").

    Returns ``(clean, [])`` with model attribute → value for the non-blank fields, or
    ``(None, errors)``. ``columns`` maps field → column name as the user knows it.
    """
    specs = FIELD_SPECS[kind]
    clean: dict[str, Any] = {}
    errors: list[dict] = []
    for name, value in raw.items():
        # Inline blank check: this loop runs for every cell of a 100k-row import.
        if value is None:
            continue
        if value.__class__ is str:
            value = value.strip()
            if not value:
                continue
        spec = specs.get(name)
        if spec is None:
            continue
        try:
            clean[spec.target] = spec.parse(value)
        except Invalid as exc:
            errors.append(make_error(row, (columns or {}).get(name, name), value, exc.reason))
            clean[spec.target] = _FAILED
    for target, sources in REQUIRED_TARGETS[kind].items():
        if target not in clean:
            errors.append(_missing(row, sources, columns or {}))
    return (None, errors) if errors else (clean, errors)


def _missing(row: int, sources: tuple[str, ...], columns: Mapping[str, str]) -> dict:
    given = next((source for source in sources if source in columns), sources[0])
    return make_error(row, columns.get(given, given), "", REQUIRED)


_FAILED = object()  # marks a field that had a bad value, so it is not also reported missing
