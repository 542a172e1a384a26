"""Churn features and labels from per-customer event logs, for :mod:`cxloop.insights.churn`.

The input is a :class:`History`: flat NumPy arrays of orders, complaints and survey answers,
each event carrying a customer index ``0..n_customers-1`` and a whole day number (any epoch, e.g.
days since 1970-01-01 in Asia/Shanghai). :func:`build_features` turns it into one row of
:data:`FEATURES` per customer as of a cutoff day; :func:`label_churn` says who churned after it.

Everything is a handful of whole-array passes (``np.bincount``, ``np.maximum.at``), never a
Python loop per customer or a sort of the orders: 10,000,000 orders take one to two seconds.
Pure NumPy, no Django.
"""

from __future__ import annotations

import dataclasses
import math
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "FEATURES",
    "Reason",
    "REASONS",
    "Feature",
    "Features",
    "History",
    "ReasonTemplate",
    "build_features",
    "feature_keys",
    "label_churn",
    "reason_params",
    "reason_template",
    "reasons_in_words",
]

LOW_SURVEY_SCORE = 6  # 0-6 is a detractor on the 0..10 scale, as in NPS


# --- what the features are ---------------------------------------------------------------------


@dataclass(frozen=True)
class Feature:
    """One model input. ``description`` is English (``{window}`` is the window in days).

    ``transform`` is applied before standardising: ``sqrt`` for counts (it steadies their
    Poisson-like spread), ``log1p`` for durations and ratios, ``identity`` otherwise.
    ``reason`` is the key of the :data:`REASONS` template that explains it in words; features
    sharing a reason are explained together. ``risky`` is the side that common sense calls
    risky, +1 for high values (days without an order) and -1 for low ones (orders, scores): a
    feature is given as a reason only for a value on that side (see ``churn.explain``).
    """

    key: str
    description: str
    transform: str
    reason: str
    risky: int


FEATURES: tuple[Feature, ...] = (
    Feature("orders_recent", "orders in the last {window} days", "sqrt", "order_frequency", -1),
    Feature("orders_previous", "orders in the {window} days before", "sqrt", "order_frequency", -1),
    Feature("frequency_trend", "log((recent + 1) / (previous + 1)) of the order counts",
            "identity", "order_frequency", -1),
    Feature("orders_total", "orders ever placed", "sqrt", "few_orders", -1),
    Feature("days_since_last_order", "days since the last order", "log1p", "recency", +1),
    Feature("mean_gap_days", "usual days between orders (2+ orders)", "log1p", "rare_orders", +1),
    Feature("overdue_ratio", "days since the last order / usual gap (2+ orders)",
            "log1p", "overdue", +1),
    Feature("last_gap_ratio", "last gap between orders / the earlier gaps' mean (3+ orders)",
            "log1p", "last_gap", +1),
    Feature("spend_trend", "log((recent + 1) / (previous + 1)) of the spend in yuan",
            "identity", "spend", -1),
    Feature("complaints_recent", "complaints in the last {window} days", "sqrt", "complaints", +1),
    Feature("unresolved_complaints", "of those, unresolved", "sqrt", "complaints", +1),
    Feature("reopened_complaints", "of those, reopened", "sqrt", "complaints", +1),
    Feature("last_survey_score", "last survey score (0-10)", "identity", "survey", -1),
    Feature("low_survey", "last survey score 0-6 (1) or 7-10 (0)", "identity", "survey", +1),
    Feature("tenure_days", "days since registration or the first order", "log1p", "tenure", -1),
    Feature("p_alive", "probability the customer is still active (BG/NBD)",
            "identity", "p_alive", -1),
)  # fmt: skip


def feature_keys() -> tuple[str, ...]:
    return tuple(feature.key for feature in FEATURES)


# --- input -------------------------------------------------------------------------------------


def _int_array(values: object, name: str, size: int | None = None) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if size is not None and arr.size != size:
        raise ValueError(f"{name} has {arr.size} values, expected {size}")
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype.kind == "f" and np.isfinite(arr).all() and (arr == np.floor(arr)).all():
        arr = arr.astype(np.int64)  # integral floats, as read from a CSV
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold whole numbers, got dtype {arr.dtype}")
    if arr.dtype.kind == "u" and arr.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name} holds values too large for a day number or an index")
    return arr.astype(np.int64, copy=False)  # one dtype for all arithmetic; free for int64


def _flag_array(values: object, name: str, size: int) -> np.ndarray:
    if values is None:
        return np.zeros(size, dtype=bool)
    arr = np.asarray(values)
    if arr.shape != (size,):
        raise ValueError(f"{name} must have one value per complaint ({size}), got {arr.shape}")
    if arr.dtype != np.bool_:
        if arr.size and not np.isin(arr, (0, 1)).all():
            raise ValueError(f"{name} must be booleans (or 0/1)")
        arr = arr.astype(bool)
    return arr


def _customers(values: object, name: str, n_customers: int) -> np.ndarray:
    arr = _int_array(values, name)
    if arr.size and (arr.min() < 0 or arr.max() >= n_customers):
        raise ValueError(f"{name} must be customer indexes 0..{n_customers - 1}")
    return arr


@dataclass(frozen=True)
class History:
    """Event logs of ``n_customers`` customers, as flat arrays (one entry per event).

    Orders: ``order_customer``/``order_day`` and optionally ``order_amount_fen``. Complaints:
    ``complaint_customer``/``complaint_day`` with the outcome flags ``complaint_resolved`` and
    ``complaint_reopened`` (as known now; absent means False). Surveys: ``survey_customer``/
    ``survey_day``/``survey_score`` (0..10). ``registered_day`` (one per customer) lengthens
    tenure beyond the first order. Events after a cutoff are simply ignored when building
    features, so one History serves every cutoff.
    """

    n_customers: int
    order_customer: np.ndarray
    order_day: np.ndarray
    order_amount_fen: np.ndarray | None = None
    complaint_customer: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    complaint_day: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    complaint_resolved: np.ndarray | None = None
    complaint_reopened: np.ndarray | None = None
    survey_customer: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    survey_day: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    survey_score: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    registered_day: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = self.n_customers
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n_customers must be an integer >= 1, got {n!r}")
        self._check("order_customer", _customers, n)
        size = self.order_customer.size
        self._check("order_day", _int_array, size)
        if self.order_amount_fen is not None:
            self._check("order_amount_fen", _int_array, size)
        self._check("complaint_customer", _customers, n)
        size = self.complaint_customer.size
        self._check("complaint_day", _int_array, size)
        self._check("complaint_resolved", _flag_array, size)
        self._check("complaint_reopened", _flag_array, size)
        self._check("survey_customer", _customers, n)
        size = self.survey_customer.size
        self._check("survey_day", _int_array, size)
        self._check("survey_score", _int_array, size)
        if size and (self.survey_score.min() < 0 or self.survey_score.max() > 10):
            raise ValueError("survey_score must be whole numbers from 0 to 10")
        if self.registered_day is not None:
            self._check("registered_day", _int_array, n)

    def _check(self, name: str, check: Callable[..., np.ndarray], size: int) -> None:
        """Replace a field by its checked array (frozen: only here, while constructing)."""
        object.__setattr__(self, name, check(getattr(self, name), name, size))

    @property
    def first_order_day(self) -> int | None:
        return int(self.order_day.min()) if self.order_day.size else None


# --- features ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Features:
    """One row per customer as of ``cutoff_day``: ``values[:, j]`` is ``FEATURES[j]``, raw
    (before any transform). NaN means unknown (e.g. no gap with one order, no survey answer).

    ``has_orders`` marks customers with an order on or before the cutoff; ``extra`` holds
    columns the reasons quote but the model does not use.
    """

    cutoff_day: int
    window_days: int
    values: np.ndarray
    has_orders: np.ndarray
    extra: dict[str, np.ndarray]

    def column(self, key: str) -> np.ndarray:
        if key in self.extra:
            return self.extra[key]
        return self.values[:, feature_keys().index(key)]

    def __len__(self) -> int:
        return self.values.shape[0]


def _order_columns(history: History, cutoff: int, window: int) -> dict[str, np.ndarray]:
    n = history.n_customers
    customer, day, amounts = history.order_customer, history.order_day, history.order_amount_fen
    keep = day <= cutoff
    if not keep.all():  # the history runs past the cutoff: drop the later orders once
        customer, day = customer[keep], day[keep]
        amounts = None if amounts is None else amounts[keep]
    # Comparisons and a compress per window: cheaper than a weighted bincount over all orders.
    recent = day > cutoff - window
    previous = (day > cutoff - 2 * window) & ~recent
    columns = {
        "recent": np.bincount(customer[recent], minlength=n).astype(np.float64),
        "previous": np.bincount(customer[previous], minlength=n).astype(np.float64),
        "total": np.bincount(customer, minlength=n).astype(np.float64),
    }
    if amounts is not None:
        for key, mask in (("spend_recent", recent), ("spend_previous", previous)):
            columns[key] = np.bincount(customer[mask], weights=amounts[mask], minlength=n)
    return {**columns, **_order_days(customer, day, n)}


def _order_days(customer: np.ndarray, day: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """First, second-to-last and last order day per customer, without sorting the orders."""
    low, high = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    last = np.full(n, low)
    np.maximum.at(last, customer, day)
    first = np.full(n, high)
    np.minimum.at(first, customer, day)
    # Second-to-last: the latest order before the last day, or the last day itself when two
    # orders fall on it.
    on_last = day == last[customer]
    second = np.full(n, low)
    np.maximum.at(second, customer, np.where(on_last, low, day))
    second = np.where(np.bincount(customer[on_last], minlength=n) >= 2, last, second)
    return {"first": first, "second": second, "last": last}


def _gap_columns(o: dict[str, np.ndarray], cutoff: int) -> dict[str, np.ndarray]:
    total, first, second, last = o["total"], o["first"], o["second"], o["last"]
    has, two, three = total >= 1, total >= 2, total >= 3
    with np.errstate(invalid="ignore", divide="ignore"):
        since = np.where(has, cutoff - last, np.nan).astype(np.float64)
        mean_gap = np.where(two, (last - first) / np.maximum(total - 1, 1), np.nan)
        last_gap = np.where(two, last - second, np.nan).astype(np.float64)
        earlier = np.where(three, (second - first) / np.maximum(total - 2, 1), np.nan)
        # Gaps under a day (same-day orders) count as one day, so ratios stay finite.
        overdue = since / np.maximum(mean_gap, 1.0)
        last_ratio = last_gap / np.maximum(earlier, 1.0)
    return {
        "days_since_last_order": since,
        "mean_gap_days": mean_gap,
        "overdue_ratio": overdue,
        "last_gap_ratio": np.where(three, last_ratio, np.nan),
        "last_gap_days": last_gap,
        "earlier_gap_days": earlier,
    }


def _complaint_columns(history: History, cutoff: int, window: int) -> dict[str, np.ndarray]:
    n = history.n_customers
    day = history.complaint_day
    recent = (day <= cutoff) & (day > cutoff - window)
    customer = history.complaint_customer[recent]
    return {
        "complaints_recent": np.bincount(customer, minlength=n).astype(np.float64),
        "unresolved_complaints": np.bincount(
            customer[~history.complaint_resolved[recent]], minlength=n
        ).astype(np.float64),
        "reopened_complaints": np.bincount(
            customer[history.complaint_reopened[recent]], minlength=n
        ).astype(np.float64),
    }


def _survey_columns(history: History, cutoff: int) -> dict[str, np.ndarray]:
    """The last answer on or before the cutoff; of several that day, the lowest score."""
    n = history.n_customers
    keep = history.survey_day <= cutoff
    day, score = history.survey_day[keep], history.survey_score[keep]
    key = np.full(n, -1, dtype=np.int64)
    offset = int(day.min()) if day.size else 0  # keeps the packed key small and >= 0
    np.maximum.at(key, history.survey_customer[keep], (day - offset) * 11 + (10 - score))
    last = np.where(key >= 0, 10 - key % 11, np.nan).astype(np.float64)
    with np.errstate(invalid="ignore"):
        low = np.where(np.isnan(last), np.nan, (last <= LOW_SURVEY_SCORE).astype(np.float64))
    return {"last_survey_score": last, "low_survey": low}


def _tenure(history: History, first: np.ndarray, has: np.ndarray, cutoff: int) -> np.ndarray:
    start = np.where(has, first, np.iinfo(np.int64).max)
    if history.registered_day is not None:
        registered = history.registered_day
        start = np.minimum(start, np.where(registered <= cutoff, registered, start))
    known = start <= cutoff
    return np.where(known, cutoff - np.where(known, start, cutoff), np.nan).astype(np.float64)


def _log_ratio(recent: np.ndarray, previous: np.ndarray) -> np.ndarray:
    return np.log1p(recent) - np.log1p(previous)


def build_features(
    history: History,
    cutoff_day: int,
    *,
    window_days: int = 90,
    p_alive: np.ndarray | None = None,
) -> Features:
    """Features of every customer from the events on or before ``cutoff_day``.

    "The last ``window_days`` days" are the days ``cutoff - window + 1 .. cutoff``; "the
    ``window_days`` before" the window ahead of them. ``p_alive`` (one value per customer in
    0..1, NaN for unknown) fills the P(alive) column, e.g. from :mod:`cxloop.insights.clv`
    computed as of the same day; without it the column is unknown for everyone.
    """
    cutoff = _check_day(cutoff_day, "cutoff_day")
    window = _check_positive(window_days, "window_days")
    n = history.n_customers
    o = _order_columns(history, cutoff, window)
    has = o["total"] >= 1
    spend_recent = o.get("spend_recent", np.zeros(n))
    spend_previous = o.get("spend_previous", np.zeros(n))
    columns = {
        "orders_recent": o["recent"],
        "orders_previous": o["previous"],
        "frequency_trend": _log_ratio(o["recent"], o["previous"]),
        "orders_total": o["total"],
        **_gap_columns(o, cutoff),
        "spend_trend": _log_ratio(spend_recent / 100, spend_previous / 100),
        **_complaint_columns(history, cutoff, window),
        **_survey_columns(history, cutoff),
        "tenure_days": _tenure(history, o["first"], has, cutoff),
        "p_alive": _p_alive(p_alive, n),
    }
    if history.order_amount_fen is None:
        columns["spend_trend"] = np.full(n, np.nan)  # unknown, not "unchanged"
    values = np.empty((n, len(FEATURES)), dtype=np.float64, order="F")  # column writes
    for j, key in enumerate(feature_keys()):
        values[:, j] = columns.pop(key)
    extra = {
        "last_gap_days": columns["last_gap_days"],
        "earlier_gap_days": columns["earlier_gap_days"],
        "spend_recent_fen": spend_recent,
        "spend_previous_fen": spend_previous,
    }
    return Features(cutoff, window, values, has, extra)


def _p_alive(p_alive: np.ndarray | None, n: int) -> np.ndarray:
    if p_alive is None:
        return np.full(n, np.nan)
    arr = np.asarray(p_alive, dtype=np.float64)
    if arr.shape != (n,):
        raise ValueError(f"p_alive must have one value per customer ({n}), got shape {arr.shape}")
    known = arr[~np.isnan(arr)]
    if known.size and (known.min() < 0 or known.max() > 1):
        raise ValueError("p_alive must be probabilities from 0 to 1 (NaN for unknown)")
    return arr


def _check_day(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole day number, got {value!r}")
    return int(value)


def _check_positive(value: object, name: str) -> int:
    day = _check_day(value, name)
    if day < 1:
        raise ValueError(f"{name} must be at least 1, got {value!r}")
    return day


# --- labels ------------------------------------------------------------------------------------


def label_churn(
    order_customer: np.ndarray,
    order_day: np.ndarray,
    n_customers: int,
    *,
    cutoff_day: int,
    horizon_days: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(churned, eligible): who had an order on or before ``cutoff_day`` (eligible), and of
    them who has none in ``cutoff_day + 1 .. cutoff_day + horizon_days`` (churned).

    The horizon must already be observed: orders after ``cutoff + horizon`` play no part.
    """
    cutoff = _check_day(cutoff_day, "cutoff_day")
    horizon = _check_positive(horizon_days, "horizon_days")
    customer = _customers(order_customer, "order_customer", n_customers)
    day = _int_array(order_day, "order_day", customer.size)
    eligible = np.bincount(customer[day <= cutoff], minlength=n_customers) > 0
    after = (day > cutoff) & (day <= cutoff + horizon)
    returned = np.bincount(customer[after], minlength=n_customers) > 0
    return eligible & ~returned, eligible


# --- reasons in words ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReasonTemplate:
    """An English msgid with named ``{placeholders}``; ``plural`` is used when ``count`` != 1.

    The Django side translates with ``ngettext(singular, plural, params[count])`` and fills
    the placeholders from a reason's ``params``; insights itself renders the English text.
    """

    key: str
    singular: str
    plural: str
    count: str | None = None

    def render(self, params: dict) -> str:
        many = self.count is not None and params[self.count] != 1
        return (self.plural if many else self.singular).format(**params)


def _reason(key: str, singular: str, plural: str | None = None, count: str | None = None):
    return ReasonTemplate(key, singular, plural or singular, count)


_WINDOWS = "in the last {window} days, against {orders_previous} in the {window} days before"
_COMPLAINTS = " in the last {window} days, {unresolved_complaints} unresolved"
_OVERDUE = ", {overdue_ratio} times the usual gap of {mean_gap_days} days"

REASONS: dict[str, ReasonTemplate] = {t.key: t for t in (
    _reason("order_frequency", "ordered {orders_recent} time " + _WINDOWS,
            "ordered {orders_recent} times " + _WINDOWS, "orders_recent"),
    _reason("no_recent_orders", "no order in the last {two_windows} days"),
    _reason("rare_orders", "usually orders only every {mean_gap_days} days"),
    _reason("few_orders", "only {orders_total} order so far", "only {orders_total} orders so far",
            "orders_total"),
    _reason("recency", "no order for {days_since_last_order} day",
            "no order for {days_since_last_order} days", "days_since_last_order"),
    _reason("overdue", "no order for {days_since_last_order} day" + _OVERDUE,
            "no order for {days_since_last_order} days" + _OVERDUE, "days_since_last_order"),
    _reason("last_gap", "the last gap between orders was {last_gap_days} days, against "
            "{earlier_gap_days} days on average before"),
    _reason("spend", "spent {spend_recent} in the last {window} days, against {spend_previous} "
            "in the {window} days before"),
    _reason("complaints", "{complaints_recent} complaint" + _COMPLAINTS,
            "{complaints_recent} complaints" + _COMPLAINTS, "complaints_recent"),
    _reason("complaints_reopened",
            "{complaints_recent} complaint" + _COMPLAINTS + ", {reopened_complaints} reopened",
            "{complaints_recent} complaints" + _COMPLAINTS + ", {reopened_complaints} reopened",
            "complaints_recent"),
    _reason("survey", "last survey score {last_survey_score}/10"),
    _reason("tenure", "a customer for only {tenure_days} day",
            "a customer for only {tenure_days} days", "tenure_days"),
    _reason("p_alive", "estimated chance of still being active {p_alive_percent} %"),
)}  # fmt: skip


def reason_template(group: str, params: dict) -> ReasonTemplate:
    """The template telling a feature group's reason for one customer's values.

    Two groups pick a variant: complaints mention reopened ones only when there are some, and
    "ordered 0 times ..., against 0" becomes "no order in the last 180 days".
    """
    if group == "complaints" and params["reopened_complaints"] > 0:
        return REASONS["complaints_reopened"]
    if group == "order_frequency" and params["orders_recent"] == params["orders_previous"] == 0:
        return REASONS["no_recent_orders"]
    return REASONS[group]


@dataclass(frozen=True)
class Reason:
    """A reason in words: ``text`` is the :data:`REASONS` template ``key`` with ``params``."""

    key: str
    features: tuple[str, ...]
    contribution: float  # summed log-odds contribution of ``features``
    params: dict[str, Any]
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "features": list(self.features)}


# A reason that only repeats what another, also raising the risk, says better.
_REDUNDANT = {"no_recent_orders": {"recency", "overdue"}}


def reasons_in_words(
    grouped: np.ndarray,
    contributions: np.ndarray,
    names: list[str],
    groups: list[str],
    params: dict[str, object],
    keys: tuple[str, ...],
) -> list[Reason]:
    """One customer's reasons, largest first: ``grouped[g]`` is the summed contribution of
    reason group ``names[g]``, ``contributions[j]`` that of feature ``keys[j]`` (in group
    ``groups[j]``). Only positive groups whose quoted values are all known are told.
    """
    candidates = []
    for g in np.argsort(-grouped, kind="stable").tolist():
        if grouped[g] <= 0:
            break
        template = reason_template(names[g], params)
        wanted = {name for _, name, _, _ in string.Formatter().parse(template.singular) if name}
        shown = {name: params[name] for name in sorted(wanted)}
        if any(isinstance(v, float) and math.isnan(v) for v in shown.values()):
            continue  # quoting an unknown value would mislead
        members = tuple(
            k
            for k, group, c in zip(keys, groups, contributions.tolist(), strict=True)
            if group == names[g] and c > 0
        )
        text = template.render(shown)
        candidates.append(Reason(template.key, members, float(grouped[g]), shown, text))
    shown_keys = {reason.key for reason in candidates}
    return [r for r in candidates if not _REDUNDANT.get(r.key, set()) & shown_keys]


def _yuan(fen: float) -> str:
    return f"¥{fen / 100:,.2f}"


def reason_params(features: Features, rows: np.ndarray) -> list[dict[str, object]]:
    """Every value a :data:`REASONS` template may quote, per row, rounded for reading.

    Counts and days are ints, ratios have one decimal, amounts come both in fen (``*_fen``,
    for the Django side's money formatting) and as English ``¥1,234.50`` text. NaN stays NaN:
    a reason quoting an unknown value is not shown.
    """
    rows = np.asarray(rows, dtype=np.intp)

    def col(key: str) -> np.ndarray:
        return features.column(key)[rows]

    ints = ("orders_recent", "orders_previous", "orders_total", "days_since_last_order",
            "complaints_recent", "unresolved_complaints", "reopened_complaints",
            "last_survey_score", "tenure_days", "last_gap_days")  # fmt: skip
    ones = ("mean_gap_days", "overdue_ratio", "earlier_gap_days")
    table: dict[str, list] = {key: _rounded(col(key), 0) for key in ints}
    table.update({key: _rounded(col(key), 1) for key in ones})
    table["p_alive_percent"] = _rounded(col("p_alive") * 100, 0)
    for key in ("spend_recent", "spend_previous"):
        fen = col(f"{key}_fen")
        table[f"{key}_fen"] = _rounded(fen, 0)
        table[key] = [_yuan(value) for value in fen.tolist()]
    names, window = list(table), features.window_days
    return [
        {"window": window, "two_windows": 2 * window, **dict(zip(names, values, strict=True))}
        for values in zip(*table.values(), strict=True)
    ]


def _rounded(values: np.ndarray, digits: int) -> list:
    """Python numbers for display: ints when ``digits`` is 0; NaN kept as float NaN."""
    if digits:
        return [round(v, digits) if v == v else v for v in values.tolist()]
    return [int(round(v)) if v == v else v for v in values.tolist()]
