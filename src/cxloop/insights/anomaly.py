"""Anomaly alerts on daily KPI series: an EWMA control chart on robustly standardised residuals.

    result = scan(rates, counts, kind="rate")      # (series, days) arrays, e.g. complaint rates
    result.alerts                                  # one Alert per episode, with its closed day
    result.points(day)                             # that day's evaluated points, for open_alerts
    open_alerts(still_open, todays_points)         # the no-storm state machine, one day at a time

Method (docs/understand.md has the parameters and the measured false-alarm rate):

1. *Baseline*: per series, the last ``window`` days with enough cases (a ring buffer; with
   ``weekly=True`` one per weekday, day index modulo 7). The expected value is a robust level
   (median plus the mean of the deviations winsorized at 3 robust SDs), plus with ``weekly`` the
   same robust level of that weekday's deviations. Every such day joins the baseline, so a
   lasting change is absorbed within a few weeks and its alert then closes.
2. *Scale*: ``kind="rate"`` with counts: binomial SD sqrt(p(1-p)/n) of the day, times a Laney
   (2002) over-dispersion factor phi = max(1, robust SD of the baseline's binomial z-scores).
   ``kind="mean"`` with counts: sigma / sqrt(n), sigma the robust SD of the baseline's residuals
   times sqrt(n). Without counts: the robust SD of the residuals. (Robust SD: the SD of the
   residuals winsorized at 3 x 1.4826 MAD, rescaled to a normal SD.)
3. *Chart*: z_t = (value - expected) / scale, clipped to +-Z_CLIP so one freak day cannot hold
   the chart out for weeks, smoothed as E_t = lam z_t + (1 - lam) E_{t-1}. The statistic is E_t
   over its SD sqrt(lam / (2 - lam) (1 - (1 - lam)^(2k)) + e) after k points, where e is the
   variance of the estimated baseline (1 / baseline days, plus the weekday offsets' share);
   beyond ``limit`` (3) the point is out of control; its p-value is the normal tail.
4. *Small samples*: days with fewer than ``min_count`` cases (or a missing value) are skipped:
   not judged, not in the baseline, no step of the chart. A series needs ``min_history``
   baseline days before it is judged at all.
5. *No storm*: one open alert per series. It opens on the first out-of-control point and closes
   after ``recover_days`` judged days in a row back inside the limits.

Everything runs day by day over all series at once (NumPy across series), so 800 series x 365
days take well under a second. Pure NumPy, no Django.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from scipy.special import ndtr

__all__ = ["Alert", "AlertUpdate", "Point", "ScanResult", "open_alerts", "scan"]

Z_CLIP = 6.0  # a single day moves the chart by at most lam * Z_CLIP
MAD_TO_SD = 1.4826  # 1 / Phi^-1(3/4): MAD of a normal sample -> its SD
MEAN_ABS_TO_SD = 1.2533  # sqrt(pi / 2): mean absolute deviation of a normal -> its SD
WINSOR = 3.0  # residuals beyond this many robust SDs are clipped for the location and scale
_P = NormalDist().cdf(WINSOR) - 0.5
# E[min(Z^2, c^2)] for a standard normal Z: turns a winsorized variance into the normal one.
_WINSOR_VAR = 2 * _P - 2 * WINSOR * NormalDist().pdf(WINSOR) + WINSOR**2 * (1 - 2 * _P)
SIDES = ("both", "up", "down")
KINDS = ("rate", "mean")


@dataclass(frozen=True)
class Point:
    """One judged day of one series."""

    series: Hashable
    day: Hashable
    value: float
    expected: float
    z: float  # the EWMA statistic in SD units (signed)
    p_value: float
    out_of_control: bool

    @property
    def direction(self) -> str:
        return "up" if self.z > 0 else "down"


@dataclass(frozen=True)
class Alert:
    """An alert episode: the metric jumped at ``day`` and stays open until it recovers.

    ``value``/``expected``/``jump`` (absolute) and ``relative_jump`` (of expected, None when
    expected is 0) describe the opening day; ``z`` and ``p_value`` its significance.
    ``in_control_days`` counts judged days in a row back inside the limits; ``closed_day`` is
    set when the episode ended.
    """

    series: Hashable
    day: Hashable
    value: float
    expected: float
    jump: float
    relative_jump: float | None
    z: float
    p_value: float
    direction: str  # "up" or "down"
    in_control_days: int = 0
    closed_day: Hashable | None = None

    @classmethod
    def from_point(cls, point: Point) -> Alert:
        jump = point.value - point.expected
        relative = jump / point.expected if point.expected else None
        return cls(
            point.series, point.day, point.value, point.expected, jump, relative, point.z,
            point.p_value, point.direction,
        )  # fmt: skip


@dataclass(frozen=True)
class AlertUpdate:
    """What a day's points did to the alerts: all still open, newly opened, newly closed."""

    open: list[Alert]
    opened: list[Alert]
    closed: list[Alert]


def open_alerts(
    previous_open: Iterable[Alert], new_points: Iterable[Point], *, recover_days: int = 3
) -> AlertUpdate:
    """Advance the alert state machine by the new judged points (one or more days).

    A series with an open alert gets no second one: out-of-control points reset its
    ``in_control_days``, in-control points count up, and at ``recover_days`` it closes. A series
    without one opens an alert on its first out-of-control point. Points are taken in day order.
    """
    if recover_days < 1:
        raise ValueError(f"recover_days must be at least 1, got {recover_days!r}")
    current: dict[Hashable, Alert] = {}
    for alert in previous_open:
        if alert.series in current:
            raise ValueError(f"two open alerts for series {alert.series!r}")
        current[alert.series] = alert
    opened: set = set()  # (series, day) of the alerts opened by these points
    closed: list[Alert] = []
    for point in sorted(new_points, key=lambda p: p.day):  # stable: keeps series order
        alert = current.get(point.series)
        if alert is None:
            if point.out_of_control:
                current[point.series] = Alert.from_point(point)
                opened.add((point.series, point.day))
            continue
        inside = 0 if point.out_of_control else alert.in_control_days + 1
        if inside >= recover_days:
            del current[point.series]
            closed.append(dataclasses.replace(alert, in_control_days=inside, closed_day=point.day))
        else:
            current[point.series] = dataclasses.replace(alert, in_control_days=inside)
    still_open = list(current.values())
    new = [a for a in [*still_open, *closed] if (a.series, a.day) in opened]
    return AlertUpdate(still_open, new, closed)


@dataclass(frozen=True)
class ScanResult:
    """Per-day arrays (series x days; NaN / False where a day was not judged) and the alerts."""

    expected: np.ndarray
    point_z: np.ndarray  # the day's own standardised residual (before clipping)
    z: np.ndarray  # the EWMA statistic in SD units
    p_value: np.ndarray
    out_of_control: np.ndarray
    judged: np.ndarray
    values: np.ndarray
    alerts: list[Alert]  # every episode, in opening order; closed_day None while open
    series: Sequence[Hashable]
    days: Sequence[Hashable]

    @property
    def open(self) -> list[Alert]:
        """Alerts still open after the last day."""
        return [alert for alert in self.alerts if alert.closed_day is None]

    def points(self, day_index: int) -> list[Point]:
        """The judged points of day ``day_index`` (a position, not a label)."""
        rows = np.flatnonzero(self.judged[:, day_index])
        return [
            Point(
                self.series[s],
                self.days[day_index],
                float(self.values[s, day_index]),
                float(self.expected[s, day_index]),
                float(self.z[s, day_index]),
                float(self.p_value[s, day_index]),
                bool(self.out_of_control[s, day_index]),
            )  # fmt: skip
            for s in rows.tolist()
        ]


# --- helpers ----------------------------------------------------------------------------------


def _row_median(a: np.ndarray) -> np.ndarray:
    """Median of each row ignoring NaN (NaN for an all-NaN row); faster than np.nanmedian."""
    ordered = np.sort(a, axis=1)  # NaN sorts last
    k = (~np.isnan(a)).sum(axis=1)
    rows = np.arange(a.shape[0])
    low = ordered[rows, np.maximum(k - 1, 0) // 2]
    high = ordered[rows, np.maximum(k, 1) // 2 - (k == 0)]
    return np.where(k > 0, (low + high) / 2, np.nan)


def _row_mean(a: np.ndarray) -> np.ndarray:
    """Mean of each row ignoring NaN (NaN for an all-NaN row), without nanmean's warnings."""
    k = (~np.isnan(a)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nansum(a, axis=1) / k


def _mad_scale(residuals: np.ndarray) -> np.ndarray:
    """Per row: 1.4826 MAD about 0, else the mean absolute deviation, else a tiny floor."""
    size = np.abs(residuals)
    scale = MAD_TO_SD * _row_median(size)
    scale = np.where(scale > 0, scale, MEAN_ABS_TO_SD * _row_mean(size))
    return np.where(scale > 0, scale, 1e-9)  # all residuals 0: any move is far out, but finite


def _winsorized(residuals: np.ndarray) -> np.ndarray:
    """Residuals clipped at WINSOR robust SDs of their row."""
    bound = WINSOR * _mad_scale(residuals)[:, np.newaxis]
    return np.clip(residuals, -bound, bound)


def _robust_location(values: np.ndarray) -> np.ndarray:
    """Median plus the mean winsorized deviation from it: robust, and less noisy than a median."""
    median = _row_median(values)
    return median + _row_mean(_winsorized(values - median[:, np.newaxis]))


def _robust_scale(residuals: np.ndarray, ddof: int = 1) -> np.ndarray:
    """Winsorized standard deviation per row, rescaled to the SD of a normal sample.

    The MAD alone is a noisy estimate from a few weeks of days (about 1.6 times the variance of
    an SD), and an underestimated scale is what makes charts cry wolf. ``ddof`` counts the
    fitted parameters behind the residuals (1 level, or 1 + 6 with weekday offsets).
    """
    clipped = _winsorized(residuals)
    k = (~np.isnan(clipped)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(np.nansum(clipped**2, axis=1) / np.maximum(k - ddof, 1) / _WINSOR_VAR)
    return np.where(sd > 0, sd, 1e-9)


def _check(values, counts, kind, lam, limit, side):
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[np.newaxis, :]
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"values must be a non-empty (series x days) array, got {arr.shape}")
    if counts is not None:
        counts = np.asarray(counts, dtype=np.float64)
        if counts.ndim == 1:
            counts = counts[np.newaxis, :]
        if counts.shape != arr.shape:
            raise ValueError(f"counts must match values: {counts.shape} vs {arr.shape}")
        if not (counts >= 0).all():
            raise ValueError("counts must be numbers >= 0 (0 for a day without cases)")
    kinds = np.asarray([kind] * arr.shape[0] if isinstance(kind, str) else list(kind), dtype=object)
    if kinds.shape != (arr.shape[0],) or not set(kinds.tolist()) <= set(KINDS):
        raise ValueError(f"kind must be one of {KINDS} or one of them per series, got {kind!r}")
    is_rate = kinds == "rate"
    rates = arr[is_rate]
    if ((rates < 0) | (rates > 1)).any():
        raise ValueError("kind='rate' values must be proportions between 0 and 1")
    if not 0 < lam <= 1:
        raise ValueError(f"lam must be in (0, 1], got {lam!r}")
    if not limit > 0:
        raise ValueError(f"limit must be positive, got {limit!r}")
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, got {side!r}")
    return arr, counts, is_rate


# --- the scan ---------------------------------------------------------------------------------


class _Baseline:
    """Ring buffers of each series' last accepted days: one, or one per weekday (``weekly``).

    Arrays are (series, slots, depth): one slot of ``window`` days, or 7 slots of
    ``window // 7`` days of the same weekday, so every statistic is one pass over all series.
    """

    def __init__(self, n_series: int, window: int, weekly: bool, lam: float) -> None:
        slots, depth = (7, max(window // 7, 2)) if weekly else (1, window)
        self.values = np.full((n_series, slots, depth), np.nan)
        self.counts = np.full((n_series, slots, depth), np.nan)
        self.pointer = np.zeros((n_series, slots), dtype=np.intp)
        self.filled = np.zeros((n_series, slots), dtype=np.intp)
        self.weekly = weekly
        q = 1 - lam  # share of the weekday offsets' error in the chart (see _Chart.step)
        self.offset_weight = lam**2 * (1 - q**14) / ((1 - q**2) * (1 - q**7) ** 2)

    def slot(self, day: int) -> int:
        return day % 7 if self.weekly else 0

    @property
    def history(self) -> np.ndarray:
        return self.filled.sum(axis=1)

    def admit(self, rows: np.ndarray, values: np.ndarray, counts: np.ndarray, day: int) -> None:
        slot = self.slot(day)
        at = self.pointer[rows, slot]
        self.values[rows, slot, at] = values[rows]
        self.counts[rows, slot, at] = counts[rows]
        self.pointer[rows, slot] = (at + 1) % self.values.shape[2]
        self.filled[rows, slot] = np.minimum(self.filled[rows, slot] + 1, self.values.shape[2])

    def fit(self, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(expected value today, fitted value of each buffered day, variance of expected).

        The variance is in units of one day's variance: 1/m for a level from m days, plus the
        weekday offsets' share when ``weekly``.
        """
        n_series, slots, depth = self.values.shape
        level = _robust_location(self.values.reshape(n_series, -1))
        with np.errstate(divide="ignore"):
            error = 1.0 / self.history
        if not self.weekly:
            return level, level[:, np.newaxis, np.newaxis], error
        deviations = (self.values - level[:, np.newaxis, np.newaxis]).reshape(-1, depth)
        offsets = _robust_location(deviations).reshape(n_series, slots)
        offsets = np.where(self.filled >= 2, offsets, 0.0)  # one day is no weekday pattern
        fitted = level[:, np.newaxis, np.newaxis] + offsets[:, :, np.newaxis]
        today = self.filled[:, self.slot(day)]
        with np.errstate(divide="ignore"):
            error = error + np.where(today >= 2, self.offset_weight / today, 0.0)
        return level + offsets[:, self.slot(day)], fitted, error

    def scale(self, fitted, expected, n_today, is_rate, has_counts) -> np.ndarray:
        """The standard deviation of today's value under the baseline (method, step 2)."""
        n_series = self.values.shape[0]
        residuals = (self.values - fitted).reshape(n_series, -1)
        ddof = 7 if self.weekly else 1
        if not has_counts:
            return _robust_scale(residuals, ddof)
        counts = self.counts.reshape(n_series, -1)
        sd = np.full(n_series, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            if not is_rate.all():  # per-case SD from the count-weighted residuals, for means
                sigma = _robust_scale(residuals[~is_rate] * np.sqrt(counts[~is_rate]), ddof)
                sd[~is_rate] = sigma / np.sqrt(n_today[~is_rate])
            if is_rate.any():
                fitted = np.broadcast_to(fitted, self.values.shape).reshape(n_series, -1)
                sd[is_rate] = _rate_sd(
                    residuals[is_rate], fitted[is_rate], counts[is_rate], expected[is_rate],
                    n_today[is_rate], ddof,
                )  # fmt: skip
        return sd


def _rate_sd(residuals, fitted, counts, expected, n_today, ddof) -> np.ndarray:
    """Binomial SD of today's rate times Laney's over-dispersion factor phi >= 1."""
    # Rates of 0 or 1 have no binomial variance: use half a case over the baseline.
    eps = (0.5 / np.nansum(counts, axis=1))[:, np.newaxis]
    p_fit = np.clip(fitted, eps, 1 - eps)
    u = residuals / np.sqrt(p_fit * (1 - p_fit) / counts)
    phi = np.maximum(1.0, np.nan_to_num(_robust_scale(u, ddof)))
    p_today = np.clip(expected, eps[:, 0], 1 - eps[:, 0])
    return phi * np.sqrt(p_today * (1 - p_today) / n_today)


@dataclass
class _Chart:
    """EWMA and alert state of every series."""

    lam: float
    limit: float
    side: str
    recover_days: int
    ewma: np.ndarray
    steps: np.ndarray
    open: np.ndarray
    inside: np.ndarray

    def step(
        self, judged: np.ndarray, z_point: np.ndarray, base_error: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Update the judged series; (EWMA statistic in SD units, out-of-control) per series."""
        z_in = np.clip(z_point, -Z_CLIP, Z_CLIP)
        lam = self.lam
        self.ewma = np.where(judged, lam * z_in + (1 - lam) * self.ewma, self.ewma)
        self.steps = self.steps + judged
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.sqrt(lam / (2 - lam) * (1 - (1 - lam) ** (2 * self.steps)) + base_error)
            z = self.ewma / sd
        if self.side == "up":
            out = z > self.limit
        elif self.side == "down":
            out = z < -self.limit
        else:
            out = np.abs(z) > self.limit
        return z, out & judged

    def alerts(self, judged: np.ndarray, out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Apply the no-storm rule; (series opening an alert, series closing one) today."""
        opening = out & ~self.open
        was_open = self.open & judged
        self.inside = np.where(was_open, np.where(out, 0, self.inside + 1), self.inside)
        closing = was_open & (self.inside >= self.recover_days)
        self.open = (self.open | opening) & ~closing
        self.inside = np.where(closing | opening, 0, self.inside)
        return opening, closing


def _p_values(z: np.ndarray, side: str) -> np.ndarray:
    if side == "up":
        return ndtr(-z)
    if side == "down":
        return ndtr(z)
    return 2 * ndtr(-np.abs(z))


def scan(
    values: object,
    counts: object = None,
    *,
    kind: str | Sequence[str] = "rate",
    lam: float = 0.3,
    limit: float = 3.0,
    window: int | None = None,
    min_history: int = 14,
    min_count: int = 30,
    weekly: bool = False,
    side: str = "both",
    recover_days: int = 3,
    series: Sequence[Hashable] | None = None,
    days: Sequence[Hashable] | None = None,
) -> ScanResult:
    """Scan (series x days) KPI ``values`` for jumps; see the module docstring for the method.

    ``counts`` (same shape) are the cases behind each value (responses, tickets); days below
    ``min_count`` are skipped. ``kind`` ("rate" for proportions 0..1, "mean" otherwise) may be
    given per series. ``window`` defaults to 56 days, 84 (12 per weekday) with ``weekly``.
    ``side`` "up"/"down" alerts in one direction only. ``series``/``days`` label the alerts
    (default: positions).
    """
    arr, cnt, is_rate = _check(values, counts, kind, lam, limit, side)
    n_series, n_days = arr.shape
    window = window or (84 if weekly else 56)
    if not 3 <= min_history <= window:
        raise ValueError(f"min_history must be between 3 and window ({window}), got {min_history}")
    if recover_days < 1:
        raise ValueError(f"recover_days must be at least 1, got {recover_days!r}")
    series = list(range(n_series)) if series is None else list(series)
    days = list(range(n_days)) if days is None else list(days)
    if len(series) != n_series or len(days) != n_days:
        raise ValueError("series and days labels must match the array's shape")
    has_counts = cnt is not None
    cnt = cnt if has_counts else np.ones_like(arr)
    valid = np.isfinite(arr) & (cnt >= (min_count if has_counts else 0)) & (cnt > 0)
    chart = _Chart(lam, limit, side, recover_days, *(np.zeros(n_series) for _ in range(2)),
                   np.zeros(n_series, bool), np.zeros(n_series, np.intp))  # fmt: skip
    out = {name: np.full(arr.shape, np.nan) for name in ("expected", "point_z", "z", "p")}
    out["flags"], out["judged"] = np.zeros(arr.shape, bool), np.zeros(arr.shape, bool)
    episodes = _run(arr, cnt, valid, is_rate, has_counts, _Baseline(n_series, window, weekly, lam),
                    chart, min_history, out)  # fmt: skip
    out["p"][out["judged"]] = _p_values(out["z"][out["judged"]], side)
    alerts = _episodes(episodes, arr, out, series, days, chart)
    return ScanResult(
        out["expected"], out["point_z"], out["z"], out["p"], out["flags"], out["judged"], arr,
        alerts, series, days,
    )  # fmt: skip


def _run(arr, cnt, valid, is_rate, has_counts, buffer, chart, min_history, out) -> list[list]:
    """The day-by-day loop over all series at once; fills ``out``, returns the episodes."""
    episodes: list[list] = []  # [series, day, closed day or None]
    current: dict[int, int] = {}  # series -> its open episode
    for t in range(arr.shape[1]):
        x, n, ok = arr[:, t], cnt[:, t], valid[:, t]
        judged = ok & (buffer.history >= min_history)
        expected, fitted, base_error = buffer.fit(t)
        expected = np.where(is_rate, np.clip(expected, 0.0, 1.0), expected)
        sd = buffer.scale(fitted, expected, n, is_rate, has_counts)
        with np.errstate(invalid="ignore", divide="ignore"):
            z_point = np.where(judged, (x - expected) / sd, 0.0)
        z, flag = chart.step(judged, z_point, base_error)
        opening, closing = chart.alerts(judged, flag)
        for s in np.flatnonzero(closing).tolist():
            episodes[current.pop(s)][2] = t
        for s in np.flatnonzero(opening).tolist():
            current[s] = len(episodes)
            episodes.append([s, t, None])
        # Every valid day joins the baseline: the robust location shrugs off single outliers,
        # and a lasting change becomes the new normal instead of an alert open for ever.
        buffer.admit(np.flatnonzero(ok), x, n, t)
        for name, column in (("expected", expected), ("point_z", z_point), ("z", z)):
            out[name][judged, t] = column[judged]
        out["flags"][:, t], out["judged"][:, t] = flag, judged
    return episodes


def _episodes(episodes, arr, out, series, days, chart: _Chart) -> list[Alert]:
    alerts = []
    for s, t, closed in episodes:
        z = float(out["z"][s, t])
        point = Point(series[s], days[t], float(arr[s, t]), float(out["expected"][s, t]), z,
                      float(out["p"][s, t]), True)  # fmt: skip
        alert = Alert.from_point(point)
        if closed is None:
            alert = dataclasses.replace(alert, in_control_days=int(chart.inside[s]))
        else:
            alert = dataclasses.replace(
                alert, in_control_days=chart.recover_days, closed_day=days[closed]
            )
        alerts.append(alert)
    return alerts
