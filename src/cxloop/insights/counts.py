"""Metrics and crosstabs from counts that a database has already aggregated.

A survey table of a million answers should not travel to Python to be scored: SQL counts the
answers per group (a histogram per group, or n / sum / sum of squares for a continuous score)
and these functions turn those counts into the same results, with the same formulas and
intervals, as :mod:`cxloop.insights.metrics` computes from raw scores. Pure NumPy, no Django.

    from_histograms("csat", [[0, 1, 2, 4, 3]], scale=5)  # one group, answers 1..5
    nps_histograms(promoters=[3], passives=[1], detractors=[1])  # -> (1, 11) histogram
    means_from_moments([3], [240.0], [19400.0], lower=0, upper=100)  # mean 80, t interval
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from . import _stats
from .metrics import (
    Crosstab,
    MetricResult,
    _build,
    _ces_plan,
    _compare,
    _csat_plan,
    _nps_plan,
    _Plan,
)

__all__ = [
    "MeanResult",
    "crosstab_from_histograms",
    "crosstab_from_moments",
    "from_histograms",
    "means_from_moments",
    "nps_histograms",
]

HISTOGRAM_METRICS = ("nps", "csat", "ces")


@dataclass(frozen=True)
class MeanResult(MetricResult):
    """The mean of a bounded continuous score (e.g. a per-answer CSI 0..100), t interval."""

    metric: ClassVar[str] = "mean"
    lower: float
    upper: float


def nps_histograms(promoters, passives, detractors) -> np.ndarray:
    """(groups, 11) NPS histograms from category counts: NPS only depends on the categories,
    so each category's count sits on one of its scores (0, 7 and 9)."""
    counts = [np.asarray(c, dtype=np.int64).reshape(-1) for c in (detractors, passives, promoters)]
    histograms = np.zeros((len(counts[0]), 11), dtype=np.int64)
    for column, values in zip((0, 7, 9), counts, strict=True):
        histograms[:, column] = values
    return histograms


def _plan(metric: str, scale: int | None, top: int, confidence: float) -> _Plan:
    if metric == "nps":
        return _nps_plan(confidence)
    if metric == "csat":
        return _csat_plan(5 if scale is None else scale, top, confidence)
    if metric == "ces":
        return _ces_plan(7 if scale is None else scale, confidence)
    raise ValueError(f"metric must be one of {list(HISTOGRAM_METRICS)}, got {metric!r}")


def _histograms(histograms, plan: _Plan) -> np.ndarray:
    array = np.asarray(histograms, dtype=np.int64)
    width = plan.high - plan.low + 1
    if array.ndim != 2 or array.shape[1] != width:
        raise ValueError(f"{plan.label} histograms must have shape (groups, {width})")
    if (array < 0).any():
        raise ValueError("counts must not be negative")
    return array


def from_histograms(
    metric: str,
    histograms: Sequence[Sequence[int]] | np.ndarray,
    *,
    scale: int | None = None,
    top: int = 2,
    confidence: float = 0.95,
) -> list[MetricResult]:
    """One result per row of ``histograms``: NPS rows count scores 0..10, CSAT/CES rows 1..scale.

    A row without answers gives a result with NaN value (as the group of a crosstab does).
    """
    plan = _plan(metric, scale, top, confidence)
    return plan.evaluate([_histograms(histograms, plan)])


def _crosstab(
    name: str,
    keys: Sequence[Hashable],
    group_by: tuple[str, ...],
    counts: np.ndarray,
    evaluate: Callable[[np.ndarray], list],
    min_n: int,
    alpha: float,
) -> Crosstab:
    """Overall, per group and group-vs-rest from additive per-group counts (rows of ``counts``)."""
    if len(keys) != counts.shape[0]:
        raise ValueError(f"got {len(keys)} keys for {counts.shape[0]} groups")
    min_n = _stats.check_int(min_n, "min_n", 0)
    alpha = _stats.check_probability(alpha, "alpha")
    total = counts.sum(axis=0, keepdims=True)
    overall = evaluate(total)[0]
    groups, rests = evaluate(counts), evaluate(total - counts)
    rows = tuple(
        _compare(key if isinstance(key, tuple) else (key,), group, rest, overall, min_n, alpha)
        for key, group, rest in zip(keys, groups, rests, strict=True)
    )
    return Crosstab(name, group_by, overall, rows, min_n, alpha)


def crosstab_from_histograms(
    metric: str,
    keys: Sequence[Hashable],
    histograms: Sequence[Sequence[int]] | np.ndarray,
    *,
    group_by: tuple[str, ...] = ("group",),
    min_n: int = 30,
    alpha: float = 0.05,
    scale: int | None = None,
    top: int = 2,
    confidence: float = 0.95,
) -> Crosstab:
    """A crosstab like :func:`metrics.crosstab`, from one histogram row per group key."""
    plan = _plan(metric, scale, top, confidence)
    counts = _histograms(histograms, plan)
    return _crosstab(metric, keys, group_by, counts, lambda c: plan.evaluate([c]), min_n, alpha)


def _mean_results(
    moments: np.ndarray, lower: float, upper: float, confidence: float
) -> list[MeanResult]:
    """Means per row of a (groups, 3) array of n, sum and sum of squares."""
    n, total, squares = moments[:, 0], moments[:, 1], moments[:, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n
        # max(): sum of squares minus n·mean² may round a hair below zero.
        spread = np.maximum(squares - total * mean, 0.0)
        var = np.where(n > 1, spread / (n - 1), np.where(n == 1, 0.0, np.nan))
        se = np.sqrt(var / n)
    t = np.array([_stats.t_quantile(confidence, max(int(k) - 1, 1)) for k in n.tolist()])
    low, high = _stats.contain(mean, mean - t * se, mean + t * se, lower, upper)
    return _build(
        MeanResult, {"confidence": confidence, "lower": lower, "upper": upper}, value=mean,
        n=n.astype(np.int64), ci_low=low, ci_high=high, std_error=se,
    )  # fmt: skip


def _moments(n, total, squares) -> np.ndarray:
    columns = [np.asarray(c, dtype=np.float64).reshape(-1) for c in (n, total, squares)]
    if len({len(c) for c in columns}) != 1:
        raise ValueError("n, total and squares must have one value per group")
    if (columns[0] < 0).any() or not all(np.isfinite(c).all() for c in columns):
        raise ValueError("moments must be finite and n must not be negative")
    return np.stack(columns, axis=1)


def _check_bounds(lower: float, upper: float) -> None:
    if not (math.isfinite(lower) and math.isfinite(upper) and lower < upper):
        raise ValueError(f"need finite lower < upper, got {lower!r}, {upper!r}")


def means_from_moments(
    n, total, squares, *, lower: float, upper: float, confidence: float = 0.95
) -> list[MeanResult]:
    """Mean and Student-t interval (clipped to lower..upper) per group from n, Σx and Σx²."""
    _check_bounds(lower, upper)
    confidence = _stats.check_probability(confidence, "confidence")
    return _mean_results(_moments(n, total, squares), lower, upper, confidence)


def crosstab_from_moments(
    keys: Sequence[Hashable],
    n,
    total,
    squares,
    *,
    lower: float,
    upper: float,
    group_by: tuple[str, ...] = ("group",),
    min_n: int = 30,
    alpha: float = 0.05,
    confidence: float = 0.95,
) -> Crosstab:
    """A crosstab of means, each group z-tested against the rest, from per-group moments."""
    _check_bounds(lower, upper)
    confidence = _stats.check_probability(confidence, "confidence")
    moments = _moments(n, total, squares)
    return _crosstab(
        "mean",
        keys,
        group_by,
        moments,
        lambda m: _mean_results(m, lower, upper, confidence),
        min_n,
        alpha,
    )
