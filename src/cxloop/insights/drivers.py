"""Key-driver analysis: how much each dimension matters for an overall score.

    result = shapley({"speed": s, "attitude": a, "resolution": r}, overall)
    result.raw             # {dimension: share of R^2}, summing to result.r_squared
    result.rescaled        # the same in % of R^2, summing to 100
    importance_performance(result.rescaled, {"speed": 3.1, ...})   # IPA quadrants

Two methods that split the R^2 of the linear regression of the outcome on all dimensions among
them, so correlated dimensions do not steal each other's credit the way raw correlations or
regression weights do:

- ``relative_weights``: Johnson's (2000) relative weights. The predictors are replaced by their
  closest orthogonal counterparts Z (Johnson 1966), y is regressed on Z and each Z's share is
  handed back to the X's in proportion to the squared loadings.
- ``shapley``: Shapley value (LMG, dominance "general" weights) regression: the increase in R^2
  from adding a dimension, averaged over all orders of entry. Exact, over all 2^p subsets, with
  each subset's R^2 from the correlation matrix (r_S' R_SS^-1 r_S), so the data are read once.

The two agree closely in practice (Johnson 2000; LeBreton et al. 2004). With uncorrelated
predictors both give r_j^2 = beta_j^2 var(x_j) / var(y). Rows with a missing value in any used
column are dropped (listwise) and counted in ``n_dropped``. Pure NumPy, no Django.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import numpy as np

__all__ = [
    "FIX_FIRST",
    "KEEP_UP",
    "LOW_PRIORITY",
    "MAX_SHAPLEY_PREDICTORS",
    "POSSIBLE_OVERKILL",
    "QUADRANTS",
    "DriverResult",
    "IPAResult",
    "importance_performance",
    "relative_weights",
    "shapley",
]

MAX_SHAPLEY_PREDICTORS = 15  # 2^15 subsets take about a second; beyond, use relative_weights
_COLLINEAR = 1e-10  # smallest eigenvalue of the correlation matrix still taken as full rank

FIX_FIRST = "fix_first"  # important, performing badly
KEEP_UP = "keep_up"  # important, performing well
LOW_PRIORITY = "low_priority"  # unimportant, performing badly
POSSIBLE_OVERKILL = "possible_overkill"  # unimportant, performing well
QUADRANTS = (FIX_FIRST, KEEP_UP, LOW_PRIORITY, POSSIBLE_OVERKILL)


@dataclass(frozen=True)
class DriverResult:
    """Importances of the dimensions for one outcome.

    ``raw`` sums to ``r_squared``; ``rescaled`` is ``raw`` in % of ``r_squared`` (sums to 100).
    ``beta`` holds the standardised regression weights and ``correlation`` each dimension's
    correlation with the outcome, for reference. ``n`` rows were used, ``n_dropped`` dropped
    for missing values.
    """

    method: str
    names: tuple
    raw: dict[Hashable, float]
    rescaled: dict[Hashable, float]
    r_squared: float
    beta: dict[Hashable, float]
    correlation: dict[Hashable, float]
    n: int
    n_dropped: int

    def ranking(self) -> list[Hashable]:
        """Dimension names, most important first."""
        return sorted(self.names, key=lambda name: -self.raw[name])


@dataclass(frozen=True)
class IPAResult:
    """Importance-performance quadrant per dimension and the splits that drew the cross."""

    quadrants: dict[Hashable, str]
    importance_split: float
    performance_split: float

    def in_quadrant(self, quadrant: str) -> list[Hashable]:
        """Dimensions in ``quadrant`` (one of QUADRANTS), in input order."""
        if quadrant not in QUADRANTS:
            raise ValueError(f"unknown quadrant {quadrant!r}; one of {list(QUADRANTS)}")
        return [name for name, q in self.quadrants.items() if q == quadrant]


# --- input ------------------------------------------------------------------------------------


def _matrix(predictors: object, names: object) -> tuple[np.ndarray, tuple]:
    """(n, p) float matrix and the p names from a mapping of columns or a 2-D array."""
    if isinstance(predictors, Mapping):
        if names is not None:
            raise ValueError("names are taken from the mapping's keys; do not pass names too")
        names = tuple(predictors)
        columns = [np.asarray(predictors[name], dtype=np.float64) for name in names]
        if any(column.ndim != 1 for column in columns):
            raise ValueError("each predictor must be a one-dimensional column of numbers")
        if len({column.size for column in columns}) > 1:
            sizes = {name: column.size for name, column in zip(names, columns, strict=True)}
            raise ValueError(f"predictor columns differ in length: {sizes}")
        x = np.column_stack(columns) if columns else np.empty((0, 0))
    else:
        x = np.asarray(predictors, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"predictors must be a 2-D array (rows x dimensions), got {x.shape}")
        names = tuple(names) if names is not None else tuple(f"x{j + 1}" for j in range(x.shape[1]))
    if len(names) != x.shape[1]:
        raise ValueError(f"{len(names)} names for {x.shape[1]} predictor columns")
    if len(set(names)) != len(names):
        raise ValueError(f"predictor names must be distinct, got {list(names)}")
    if not names:
        raise ValueError("no predictors given: at least one is required")
    return x, names


def _correlations(predictors, outcome, names) -> tuple[np.ndarray, np.ndarray, tuple, int, int]:
    """Predictor correlation matrix, predictor-outcome correlations, names, rows used/dropped."""
    x, names = _matrix(predictors, names)
    y = np.asarray(outcome, dtype=np.float64)
    if y.ndim != 1 or y.size != x.shape[0]:
        raise ValueError(f"outcome must be one value per row: {x.shape[0]} rows, got {y.shape}")
    keep = np.isfinite(x).all(axis=1) & np.isfinite(y)
    x, y = x[keep], y[keep]
    n, p = x.shape
    if n < p + 2:
        raise ValueError(
            f"too few complete rows: {n} after dropping {int((~keep).sum())} with missing "
            f"values; {p} predictors need at least {p + 2} (and many more for stable results)"
        )
    data = np.column_stack([x, y])
    spread = data.std(axis=0)
    flat = [label for label, s in zip([*names, "outcome"], spread, strict=True) if s == 0]
    if flat:
        raise ValueError(f"constant column(s) {flat}: a column that never varies explains nothing")
    corr = np.corrcoef(data, rowvar=False)
    rxx, rxy = corr[:p, :p], corr[:p, p]
    if np.linalg.eigvalsh(rxx)[0] < _COLLINEAR:
        raise ValueError(
            "predictors are perfectly collinear (one is a linear combination of others); "
            "drop or merge the redundant dimensions"
        )
    return rxx, rxy, names, n, int((~keep).sum())


def _result(method, names, raw, rxx, rxy, n, dropped) -> DriverResult:
    beta = np.linalg.solve(rxx, rxy)
    r2 = float(rxy @ beta)
    raw = np.maximum(raw, 0.0)  # both methods are >= 0 in exact arithmetic; absorb rounding
    rescaled = 100.0 * raw / raw.sum() if raw.sum() > 0 else np.zeros_like(raw)
    as_dict = lambda values: dict(zip(names, values.tolist(), strict=True))  # noqa: E731
    return DriverResult(
        method, names, as_dict(raw), as_dict(rescaled), r2, as_dict(beta), as_dict(rxy), n, dropped
    )


# --- methods ----------------------------------------------------------------------------------


def relative_weights(
    predictors: Mapping[Hashable, object] | np.ndarray,
    outcome: object,
    *,
    names: object = None,
) -> DriverResult:
    """Johnson's relative weights of each predictor for ``outcome``.

    ``predictors`` is a mapping ``{name: column}`` or a 2-D array (rows x dimensions) with
    optional ``names``. NaN marks a missing value; such rows are dropped.
    """
    rxx, rxy, names, n, dropped = _correlations(predictors, outcome, names)
    eigenvalues, vectors = np.linalg.eigh(rxx)
    root = np.sqrt(eigenvalues)
    # Lambda = R^(1/2): the correlations of the X's with their orthogonal counterparts Z.
    loadings = (vectors * root) @ vectors.T
    beta_z = (vectors / root) @ (vectors.T @ rxy)  # regression of y on Z: R^(-1/2) r_xy
    raw = (loadings**2) @ (beta_z**2)
    return _result("relative_weights", names, raw, rxx, rxy, n, dropped)


def _subset_r_squared(rxx: np.ndarray, rxy: np.ndarray) -> np.ndarray:
    """R^2 of every subset of predictors, indexed by the subset's bit mask (r2[0] = 0)."""
    p = rxy.size
    r2 = np.zeros(1 << p)
    for mask in range(1, 1 << p):
        idx = [j for j in range(p) if mask >> j & 1]
        r = rxy[idx]
        r2[mask] = r @ np.linalg.solve(rxx[np.ix_(idx, idx)], r)
    return r2


def shapley(
    predictors: Mapping[Hashable, object] | np.ndarray,
    outcome: object,
    *,
    names: object = None,
) -> DriverResult:
    """Shapley value regression (exact) of each predictor for ``outcome``.

    Same input as :func:`relative_weights`; at most MAX_SHAPLEY_PREDICTORS predictors.
    """
    rxx, rxy, names, n, dropped = _correlations(predictors, outcome, names)
    p = len(names)
    if p > MAX_SHAPLEY_PREDICTORS:
        raise ValueError(
            f"{p} predictors: exact Shapley regression takes 2^p subsets, at most "
            f"{MAX_SHAPLEY_PREDICTORS} predictors; use relative_weights instead"
        )
    r2 = _subset_r_squared(rxx, rxy)
    masks = np.arange(1 << p)
    size = np.zeros(1 << p, dtype=np.intp)
    for j in range(p):
        size += masks >> j & 1
    # Weight of a subset S of the other predictors: |S|! (p - |S| - 1)! / p!
    weight = np.array([math.factorial(s) * math.factorial(p - s - 1) for s in range(p)])
    weight = weight / math.factorial(p)
    raw = np.empty(p)
    for j in range(p):
        without = masks[(masks >> j & 1) == 0]
        raw[j] = weight[size[without]] @ (r2[without | (1 << j)] - r2[without])
    return _result("shapley", names, raw, rxx, rxy, n, dropped)


# --- importance-performance analysis ----------------------------------------------------------


def _finite_values(values: Mapping, what: str) -> dict:
    if not isinstance(values, Mapping):
        raise TypeError(f"{what} must be a mapping of dimension -> number")
    out = {}
    for name, value in values.items():
        ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
            value, bool
        )
        if not ok or not math.isfinite(value):
            raise ValueError(f"{what} of {name!r} must be a finite number, got {value!r}")
        out[name] = float(value)
    return out


def importance_performance(
    importance: Mapping[Hashable, float],
    performance: Mapping[Hashable, float],
    *,
    importance_split: float | None = None,
    performance_split: float | None = None,
) -> IPAResult:
    """The importance-performance (IPA) quadrant of each dimension.

    The cross is drawn at the given splits, by default at the mean importance and the mean
    performance over the dimensions (Martilla & James 1977 use the scale midpoint or the means;
    the means adapt to any scale). A value equal to a split counts as high.
    """
    imp = _finite_values(importance, "importance")
    perf = _finite_values(performance, "performance")
    if set(imp) != set(perf):
        raise ValueError(
            f"importance and performance must name the same dimensions; only in importance: "
            f"{sorted(map(str, set(imp) - set(perf)))}, only in performance: "
            f"{sorted(map(str, set(perf) - set(imp)))}"
        )
    if not imp:
        raise ValueError("no dimensions given: at least one is required")
    imp_split = float(np.mean(list(imp.values()))) if importance_split is None else importance_split
    perf_split = (
        float(np.mean(list(perf.values()))) if performance_split is None else performance_split
    )
    quadrants = {}
    for name, value in imp.items():
        high_importance, high_performance = value >= imp_split, perf[name] >= perf_split
        if high_importance:
            quadrants[name] = KEEP_UP if high_performance else FIX_FIRST
        else:
            quadrants[name] = POSSIBLE_OVERKILL if high_performance else LOW_PRIORITY
    return IPAResult(quadrants, float(imp_split), float(perf_split))
