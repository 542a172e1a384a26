"""Customer-satisfaction metrics with confidence intervals, and crosstabs of them.

``nps``, ``csat``, ``ces`` and ``csi`` each turn raw survey answers into a frozen result holding
the value, the sample size, a confidence interval (95 % by default), its standard error and the
counts behind it. ``crosstab`` computes any of them per group of one or two keys and tests each
group against the rest. Pure Python + NumPy, no Django: see docs/metrics.md for definitions.

Every metric is computed from a histogram of the scores (``np.bincount``), so a metric over ten
million answers and a crosstab over as many rows share one vectorised code path.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from . import _stats

__all__ = [
    "CESResult",
    "CSATResult",
    "CSIResult",
    "Crosstab",
    "CrosstabRow",
    "DimensionStats",
    "MetricResult",
    "NPSResult",
    "ces",
    "crosstab",
    "csat",
    "csi",
    "nps",
]


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricResult:
    """Fields every metric result has.

    ``value`` is the metric, ``n`` the answers it rests on, ``ci_low``..``ci_high`` its
    ``confidence`` interval (always containing ``value``) and ``std_error`` the standard error
    of ``value`` (used by :func:`crosstab` for its z-tests), all in the units of ``value``.
    """

    metric: ClassVar[str] = ""
    value: float
    n: int
    ci_low: float
    ci_high: float
    std_error: float
    confidence: float

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of builtin types (JSON-ready), with the metric's name under ``"metric"``."""
        return {"metric": self.metric, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class NPSResult(MetricResult):
    """Net Promoter Score (-100..100) and the category counts behind it."""

    metric: ClassVar[str] = "nps"
    promoters: int  # scores 9-10
    passives: int  # scores 7-8
    detractors: int  # scores 0-6


@dataclass(frozen=True)
class CSATResult(MetricResult):
    """CSAT: ``value`` is the top-box share in % (0..100); ``mean`` the mean score."""

    metric: ClassVar[str] = "csat"
    top_box: int  # answers in the top ``top`` boxes
    mean: float
    scale: int
    top: int


@dataclass(frozen=True)
class CESResult(MetricResult):
    """CES: ``value`` is the mean score (1..scale).

    ``top_count``/``top_share`` (in %) count the answers above the scale's midpoint: 5-7 on the
    usual 7-point scale, 4-5 on a 5-point one, 6-10 on a 10-point one.
    """

    metric: ClassVar[str] = "ces"
    top_count: int
    top_share: float
    scale: int


@dataclass(frozen=True)
class DimensionStats:
    """One CSI dimension: its ratings count, mean, 0..100 score and normalised weight."""

    name: Hashable
    n: int
    mean: float
    score: float  # (mean - 1) / (scale - 1) * 100
    weight: float


@dataclass(frozen=True)
class CSIResult(MetricResult):
    """CSI (0..100): weighted mean of the dimensions' rescaled means.

    ``n`` is the smallest ratings count among the dimensions with a non-zero weight.
    """

    metric: ClassVar[str] = "csi"
    dimensions: tuple[DimensionStats, ...]
    scale: int


def _build(cls: type, fixed: dict[str, Any], **columns: np.ndarray) -> list:
    """One result per group from per-group arrays (converted to builtin ints/floats)."""
    names = list(columns)
    rows = zip(*(np.asarray(column).tolist() for column in columns.values()), strict=True)
    return [cls(**fixed, **dict(zip(names, row, strict=True))) for row in rows]


# --- metric recipes: validated parameters + histograms -> results ------------------------------


@dataclass(frozen=True)
class _Plan:
    """A metric with its parameters checked: score range and how histograms become results.

    ``evaluate`` takes a list of (groups, high - low + 1) count arrays, one per scored field
    (one for NPS/CSAT/CES, one per dimension for CSI), and returns one result per group.
    """

    low: int
    high: int
    label: str  # names a value in error messages, e.g. "NPS score"
    evaluate: Callable[[list[np.ndarray]], list]
    dimensions: tuple = ()


def _nps_plan(confidence: float = 0.95) -> _Plan:
    conf = _stats.check_probability(confidence, "confidence")
    return _Plan(0, 10, "NPS score", lambda counts: _nps_results(counts[0], conf))


def _csat_plan(scale: int = 5, top: int = 2, confidence: float = 0.95) -> _Plan:
    scale = _stats.check_int(scale, "scale", 2)
    top = _stats.check_int(top, "top", 1)
    if top >= scale:
        raise ValueError(f"top must be smaller than scale ({scale}), got {top}")
    conf = _stats.check_probability(confidence, "confidence")
    return _Plan(1, scale, "CSAT score", lambda counts: _csat_results(counts[0], scale, top, conf))


def _ces_plan(scale: int = 7, confidence: float = 0.95) -> _Plan:
    scale = _stats.check_int(scale, "scale", 2)
    conf = _stats.check_probability(confidence, "confidence")
    return _Plan(1, scale, "CES score", lambda counts: _ces_results(counts[0], scale, conf))


def _csi_plan(
    dimensions: Sequence[Hashable],
    weights: Mapping[Hashable, float] | None = None,
    scale: int = 5,
    confidence: float = 0.95,
) -> _Plan:
    scale = _stats.check_int(scale, "scale", 2)
    conf = _stats.check_probability(confidence, "confidence")
    names = tuple(dimensions)
    if len(set(names)) != len(names):
        raise ValueError(f"dimensions must be distinct, got {list(names)}")
    normalised = _normalised_weights(weights, names)
    return _Plan(
        1,
        scale,
        "CSI rating",
        lambda counts: _csi_results(counts, names, normalised, scale, conf),
        names,
    )


def _normalised_weights(weights: Mapping[Hashable, float] | None, names: tuple) -> np.ndarray:
    """Weights in dimension order, summing to 1; equal when ``weights`` is None."""
    if weights is None:
        return np.full(len(names), 1 / len(names))
    if not isinstance(weights, Mapping):
        raise TypeError("weights must be a mapping of dimension name -> weight")
    unknown = [name for name in weights if name not in names]
    if unknown:
        raise ValueError(f"weights name unknown dimension(s) {unknown}; dimensions: {list(names)}")
    missing = [name for name in names if name not in weights]
    if missing:
        raise ValueError(
            f"weights give no weight for {missing}; give each dimension one (0 omits it)"
        )
    for name in names:
        weight = weights[name]
        if isinstance(weight, bool) or not isinstance(
            weight, (int, float, np.integer, np.floating)
        ):
            raise ValueError(f"weight for {name!r} must be a number, got {weight!r}")
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"weight for {name!r} must be finite and >= 0, got {weight!r}")
    raw = np.array([float(weights[name]) for name in names])
    if raw.sum() == 0:
        raise ValueError("weights are all zero: at least one dimension needs a positive weight")
    return raw / raw.sum()


# --- vectorised computations: one row of ``counts`` per group ----------------------------------


def _nps_results(counts: np.ndarray, confidence: float) -> list[NPSResult]:
    """NPS per row of a (groups, 11) histogram over the scores 0..10."""
    detractors = counts[:, :7].sum(1)  # 0-6
    passives = counts[:, 7:9].sum(1)  # 7-8
    promoters = counts[:, 9:].sum(1)  # 9-10
    n = counts.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = 100.0 * (promoters - detractors) / n
        p_pro, p_det = promoters / n, detractors / n
        # Multinomial variance of p+ - p-: (p+ + p- - (p+ - p-)^2) / n; max() absorbs rounding.
        variance = np.maximum(p_pro + p_det - (p_pro - p_det) ** 2, 0.0) / n
    se = 100.0 * np.sqrt(variance)
    half = _stats.z_quantile(confidence) * se
    low, high = _stats.contain(value, value - half, value + half, -100.0, 100.0)
    return _build(
        NPSResult, {"confidence": confidence}, value=value, n=n, ci_low=low, ci_high=high,
        std_error=se, promoters=promoters, passives=passives, detractors=detractors,
    )  # fmt: skip


def _csat_results(counts: np.ndarray, scale: int, top: int, confidence: float) -> list[CSATResult]:
    """CSAT per row of a (groups, scale) histogram over the scores 1..scale."""
    n, mean, _ = _stats.histogram_moments(counts, np.arange(1.0, scale + 1))
    top_box = counts[:, scale - top :].sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = top_box / n
        se = 100.0 * np.sqrt(share * (1 - share) / n)  # Wald SE, for crosstab's z-test
    low, high = _stats.wilson_interval(top_box, n, _stats.z_quantile(confidence))
    low, high = _stats.contain(100.0 * share, 100.0 * low, 100.0 * high, 0.0, 100.0)
    return _build(
        CSATResult, {"confidence": confidence, "scale": scale, "top": top}, value=100.0 * share,
        n=n, ci_low=low, ci_high=high, std_error=se, top_box=top_box, mean=mean,
    )  # fmt: skip


def _ces_results(counts: np.ndarray, scale: int, confidence: float) -> list[CESResult]:
    """CES per row of a (groups, scale) histogram over the scores 1..scale."""
    values = np.arange(1.0, scale + 1)
    n, mean, var = _stats.histogram_moments(counts, values)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(var / n)
        top_count = counts[:, values > (scale + 1) / 2].sum(1)  # above the midpoint
        top_share = 100.0 * top_count / n
    # Student t with n - 1 df (n = 1 has se = 0, so its df is irrelevant); cached per df.
    t = np.array([_stats.t_quantile(confidence, max(k - 1, 1)) for k in n.tolist()])
    low, high = _stats.contain(mean, mean - t * se, mean + t * se, 1.0, float(scale))
    return _build(
        CESResult, {"confidence": confidence, "scale": scale}, value=mean, n=n, ci_low=low,
        ci_high=high, std_error=se, top_count=top_count, top_share=top_share,
    )  # fmt: skip


def _csi_results(
    counts: list[np.ndarray], names: tuple, weights: np.ndarray, scale: int, confidence: float
) -> list[CSIResult]:
    """CSI per group; ``counts[d]`` is dimension d's (groups, scale) histogram."""
    moments = [_stats.histogram_moments(c, np.arange(1.0, scale + 1)) for c in counts]
    # n, mean and var, each of shape (groups, dims):
    n, mean, var = (np.stack(parts, axis=1) for parts in zip(*moments, strict=True))
    unit = 100.0 / (scale - 1)  # rescales a mean so that 1 -> 0 and scale -> 100
    score = (mean - 1.0) * unit
    used = weights > 0  # a zero-weight dimension without ratings must not poison the index
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.clip(score[:, used] @ weights[used], 0.0, 100.0)  # clip: sum(w) is 1 +- ulp
        # Delta method, dimensions taken as independent: var = sum(w^2 * unit^2 * s_d^2 / n_d).
        se = unit * np.sqrt((var[:, used] / n[:, used]) @ weights[used] ** 2)
    half = _stats.z_quantile(confidence) * se
    low, high = _stats.contain(value, value - half, value + half, 0.0, 100.0)
    results = []
    columns = zip(value.tolist(), low.tolist(), high.tolist(), se.tolist(), strict=True)
    for g, (index, ci_low, ci_high, se_g) in enumerate(columns):
        dims = tuple(
            DimensionStats(name, int(n[g, d]), float(mean[g, d]), float(score[g, d]), float(w))
            for d, (name, w) in enumerate(zip(names, weights.tolist(), strict=True))
        )
        size = int(n[g, used].min())
        results.append(CSIResult(index, size, ci_low, ci_high, se_g, confidence, dims, scale))
    return results


# --- public metric functions -------------------------------------------------------------------


def _score_metric(scores: object, plan: _Plan) -> Any:
    scores = _stats.as_scores(scores, plan.low, plan.high, plan.label)
    counts = np.bincount(scores, minlength=plan.high + 1)[plan.low :]
    return plan.evaluate([counts[np.newaxis, :]])[0]


def nps(scores: Sequence[int] | np.ndarray, *, confidence: float = 0.95) -> NPSResult:
    """Net Promoter Score of 0..10 answers: % promoters (9-10) minus % detractors (0-6).

    The interval is the normal approximation with the multinomial variance of the difference
    of the two shares, clipped to -100..100.
    """
    return _score_metric(scores, _nps_plan(confidence))


def csat(
    scores: Sequence[int] | np.ndarray, scale: int = 5, top: int = 2, *, confidence: float = 0.95
) -> CSATResult:
    """CSAT of 1..scale answers: the share (%) in the ``top`` highest boxes, plus the mean.

    The interval is the Wilson score interval of the top-box share.
    """
    return _score_metric(scores, _csat_plan(scale, top, confidence))


def ces(
    scores: Sequence[int] | np.ndarray, scale: int = 7, *, confidence: float = 0.95
) -> CESResult:
    """Customer Effort Score of 1..scale answers: the mean, plus the share above the midpoint.

    The interval is the Student-t interval of the mean, clipped to 1..scale. With one answer
    (or all answers equal) the standard deviation is 0 and the interval is the value itself.
    """
    return _score_metric(scores, _ces_plan(scale, confidence))


def csi(
    ratings: Mapping[Hashable, Sequence[int] | np.ndarray],
    weights: Mapping[Hashable, float] | None = None,
    scale: int = 5,
    *,
    confidence: float = 0.95,
) -> CSIResult:
    """ACSI-style satisfaction index (0..100) over dimensions rated 1..scale.

    ``ratings`` maps each dimension to its ratings. Each dimension's mean is rescaled so that 1
    is 0 and ``scale`` is 100; the index is their weighted mean. ``weights`` (one per dimension,
    >= 0, not all 0) are normalised to sum to 1; equal by default. The interval is the delta-
    method normal interval, treating the dimensions as independent samples.
    """
    if not isinstance(ratings, Mapping):
        raise TypeError("ratings must be a mapping of dimension name -> sequence of ratings")
    if not ratings:
        raise ValueError("ratings is empty: at least one dimension is required")
    plan = _csi_plan(list(ratings), weights, scale, confidence)
    counts = []
    for name in plan.dimensions:
        values = _stats.as_scores(ratings[name], 1, plan.high, f"CSI {name!r} rating")
        counts.append(np.bincount(values, minlength=plan.high + 1)[np.newaxis, 1:])
    return plan.evaluate(counts)[0]


# --- crosstab ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CrosstabRow:
    """One group of a crosstab.

    ``diff`` is the group's value minus the overall value. ``z``/``p_value`` test the group
    against all other records (two-sided z-test on the two standard errors); None when the rest
    is empty. ``result`` (and everything else) is None only for a CSI group lacking ratings for
    some weighted dimension.
    """

    key: tuple
    result: MetricResult | None
    diff: float | None
    z: float | None
    p_value: float | None
    significant: bool

    def as_dict(self) -> dict[str, Any]:
        result = None if self.result is None else self.result.as_dict()
        return {**dataclasses.asdict(self), "key": list(self.key), "result": result}


@dataclass(frozen=True)
class Crosstab:
    """A metric overall and per group, groups ordered by key."""

    metric: str
    group_by: tuple[str, ...]
    overall: MetricResult
    rows: tuple[CrosstabRow, ...]
    min_n: int
    alpha: float

    def row(self, *key: Hashable) -> CrosstabRow:
        """The row of a group, e.g. ``table.row("north")`` or ``table.row("north", "web")``."""
        for row in self.rows:
            if row.key == key:
                return row
        raise KeyError(key)

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric, "group_by": list(self.group_by), "min_n": self.min_n,
            "alpha": self.alpha, "overall": self.overall.as_dict(),
            "rows": [row.as_dict() for row in self.rows],
        }  # fmt: skip


_METRICS: dict[str, Callable[..., MetricResult]] = {
    "nps": nps,
    "csat": csat,
    "ces": ces,
    "csi": csi,
}


def crosstab(
    records: Mapping[str, Sequence] | Sequence[Mapping[str, Any]],
    metric: str | Callable[..., MetricResult],
    group_by: str | tuple[str] | tuple[str, str],
    *,
    min_n: int = 30,
    alpha: float = 0.05,
    score: str = "score",
    dimensions: Sequence[str] | None = None,
    **metric_kwargs: Any,
) -> Crosstab:
    """A metric overall and per group of one or two keys, each group tested against the rest.

    ``records`` is either a mapping of equally long columns (the fast path: NumPy arrays) or a
    sequence of row mappings. Scores are read from the ``score`` field; for CSI each dimension
    is its own field, listed in ``dimensions`` (default: the keys of ``weights``), and a missing
    rating (None/NaN/absent) means "not rated". ``metric`` is nps/csat/ces/csi or its name;
    ``metric_kwargs`` go to it (``scale``, ``top``, ``weights``, ``confidence``). A group is
    ``significant`` when p < ``alpha`` and both it and the rest have at least ``min_n`` answers.
    """
    name = _metric_name(metric)
    fields = _group_fields(group_by)
    min_n = _stats.check_int(min_n, "min_n", 0)
    alpha = _stats.check_probability(alpha, "alpha")
    plan = _crosstab_plan(name, dimensions, metric_kwargs)
    table = _stats.Columns(records)
    codes, keys = _group_codes(table, fields)
    if name == "csi":
        counts = [_grouped_counts(table, d, plan, codes, len(keys), True) for d in plan.dimensions]
    else:
        counts = [_grouped_counts(table, score, plan, codes, len(keys), False)]
    totals = [c.sum(axis=0, keepdims=True) for c in counts]
    for dimension, total in zip(plan.dimensions, totals, strict=False):
        if not total.any():  # csi() refuses an empty dimension; so does its crosstab
            raise ValueError(f"no CSI {dimension!r} ratings in any record")
    overall = plan.evaluate(totals)[0]
    groups = plan.evaluate(counts)
    rests = plan.evaluate([total - c for total, c in zip(totals, counts, strict=True)])
    rows = tuple(
        _compare(key, group, rest, overall, min_n, alpha)
        for key, group, rest in zip(keys, groups, rests, strict=True)
    )
    return Crosstab(name, fields, overall, rows, min_n, alpha)


def _metric_name(metric: str | Callable[..., MetricResult]) -> str:
    for name, function in _METRICS.items():
        if metric is function or (isinstance(metric, str) and metric.lower() == name):
            return name
    raise ValueError(f"metric must be one of {sorted(_METRICS)} (function or name), got {metric!r}")


def _group_fields(group_by: str | tuple[str, ...]) -> tuple[str, ...]:
    fields = (group_by,) if isinstance(group_by, str) else group_by
    if (
        not isinstance(fields, (tuple, list))
        or not 1 <= len(fields) <= 2
        or not all(isinstance(field, str) for field in fields)
    ):
        raise ValueError(f"group_by must be a field name or a tuple of two, got {group_by!r}")
    return tuple(fields)


def _crosstab_plan(name: str, dimensions: Sequence[str] | None, kwargs: dict[str, Any]) -> _Plan:
    """The metric's plan, refusing keyword arguments the metric function does not take."""
    allowed = set(list(inspect.signature(_METRICS[name]).parameters)[1:])
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise TypeError(f"{name}() takes no argument(s) {unknown}; it takes {sorted(allowed)}")
    if name != "csi":
        if dimensions is not None:
            raise ValueError(f"dimensions only applies to csi, not {name}")
        return {"nps": _nps_plan, "csat": _csat_plan, "ces": _ces_plan}[name](**kwargs)
    if dimensions is None:
        if kwargs.get("weights") is None:
            raise ValueError("crosstab with csi needs dimensions=(field, ...) or weights")
        dimensions = list(kwargs["weights"])
    if isinstance(dimensions, str) or not dimensions:
        raise ValueError(
            f"dimensions must be a non-empty sequence of field names, got {dimensions!r}"
        )
    return _csi_plan(dimensions, **kwargs)


def _group_codes(table: _stats.Columns, fields: tuple[str, ...]) -> tuple[np.ndarray, list[tuple]]:
    """Dense group codes per record and the key tuple of each group."""
    parts = [_stats.factorize(table.column(field), field) for field in fields]
    if len(parts) == 1:
        codes, keys = parts[0]
        return codes, [(key,) for key in keys]
    (first, first_keys), (second, second_keys) = parts
    # Codes of the observed combinations only, so empty cells of the grid get no row.
    combined = first.astype(np.int64) * len(second_keys) + second
    codes, cells = _stats.factorize_ints(combined)
    rows, cols = np.divmod(cells, len(second_keys))
    return codes, [
        (first_keys[r], second_keys[c]) for r, c in zip(rows.tolist(), cols.tolist(), strict=True)
    ]


def _grouped_counts(
    table: _stats.Columns, field: str, plan: _Plan, codes: np.ndarray, groups: int, optional: bool
) -> np.ndarray:
    """(groups, high - low + 1) histogram of one scored field, in one bincount pass."""
    label = f"CSI {field!r} rating" if optional else plan.label
    values = table.column(field, optional=optional)
    if optional:
        scores, present = _stats.as_optional_scores(values, plan.low, plan.high, label)
    else:
        scores, present = _stats.as_scores(values, plan.low, plan.high, label), None
    if present is not None:
        scores, codes = scores[present], codes[present]
    width = plan.high + 1
    index = codes * width  # a new array, so the in-place add below leaves the codes alone
    index += scores
    return np.bincount(index, minlength=groups * width).reshape(groups, width)[:, plan.low :]


def _compare(
    key: tuple,
    group: MetricResult,
    rest: MetricResult,
    overall: MetricResult,
    min_n: int,
    alpha: float,
) -> CrosstabRow:
    """A group's row: difference from the overall value and its z-test against the rest."""
    if math.isnan(group.value):
        return CrosstabRow(key, None, None, None, None, False)
    z = p_value = None
    difference = group.value - rest.value
    if not math.isnan(difference):
        spread = math.hypot(group.std_error, rest.std_error)
        if spread > 0:
            z = difference / spread
        else:  # both samples without variance: equal values differ by nothing, else certainly
            z = 0.0 if difference == 0 else math.copysign(math.inf, difference)
        p_value = _stats.two_sided_p(z)
    testable = group.n >= min_n and rest.n >= min_n and p_value is not None
    significant = testable and p_value < alpha
    return CrosstabRow(key, group, group.value - overall.value, z, p_value, significant)
