"""Private helpers for :mod:`cxloop.insights.metrics`.

Input checks, quantiles, interval arithmetic, histogram moments and key factorisation. Everything
works on whole NumPy arrays: no Python-level loop ever runs over individual scores.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from statistics import NormalDist

import numpy as np

# Up to this many degrees of freedom the t quantile comes from inverting the exact CDF; above it
# the Cornish-Fisher expansion is accurate to better than 1e-7 relative, even at 99.9999 %.
_T_EXACT_MAX_DF = 100


# --- parameter checks -------------------------------------------------------------------------


def check_int(value: object, name: str, minimum: int) -> int:
    """An integer parameter such as ``scale``; bools and floats are refused."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_probability(value: object, name: str) -> float:
    """A level such as ``confidence`` or ``alpha``: a number strictly between 0 and 1."""
    ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
    if not ok or not 0 < value < 1:  # also false for NaN
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {value!r}")
    return float(value)


# --- score validation -------------------------------------------------------------------------


def as_array(values: object, what: str) -> np.ndarray:
    """A non-empty 1-D array from a list, tuple, array (or other iterable) of values."""
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{what}s must be a sequence of numbers, got a string")
    if isinstance(values, Mapping):
        raise ValueError(f"{what}s must be a sequence of numbers, got a mapping")
    if not (hasattr(values, "__array__") or isinstance(values, Sequence)):
        if not isinstance(values, Iterable):
            raise ValueError(f"{what}s must be a sequence of numbers, got {type(values).__name__}")
        values = list(values)  # generators, sets, ...
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{what}s must be one-dimensional, got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"no {what}s given: at least one is required")
    return arr


def as_scores(values: object, low: int, high: int, what: str) -> np.ndarray:
    """Validated whole-number scores in ``low..high`` as an ``intp`` array.

    Integral floats (``7.0``) are accepted, so float columns read from files work. Raises
    ValueError naming the first offending value, its index and the allowed range.
    """
    arr = _numeric(as_array(values, what), what, low, high)
    allowed = f"allowed: whole numbers from {low} to {high}"
    if arr.dtype.kind == "f":
        _reject_first(arr, np.isnan(arr), what, f"is missing (None/NaN); {allowed}")
        # inf passes this test (floor(inf) == inf) and is caught by the range check below.
        _reject_first(arr, arr != np.floor(arr), what, f"is not a whole number; {allowed}")
    if arr.min() < low or arr.max() > high:  # two cheap passes; the mask is built on error only
        _reject_first(arr, (arr < low) | (arr > high), what, f"is out of range; {allowed}")
    return arr.astype(np.intp, copy=False)


def as_optional_scores(
    values: object, low: int, high: int, what: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """Like :func:`as_scores` but NaN/None mean "not answered": returns (scores, present mask).

    The mask is None when every value is present. Missing entries hold ``low`` in the scores.
    """
    arr = _numeric(as_array(values, what), what, low, high)
    if arr.dtype.kind != "f":
        return as_scores(arr, low, high, what), None
    present = ~np.isnan(arr)
    # Filling the gaps (rather than dropping them) keeps the indexes in error messages right.
    return as_scores(np.where(present, arr, low), low, high, what), present


def _numeric(arr: np.ndarray, what: str, low: int, high: int) -> np.ndarray:
    """Integer or float array; object arrays (lists mixing numbers and None) become floats."""
    kind = arr.dtype.kind
    if kind == "O":
        # A Python-level pass, but only for object input, which is slow Python data anyway.
        if any(isinstance(v, (str, bytes, bool, np.bool_)) for v in arr):
            raise ValueError(f"{what}s must be whole numbers from {low} to {high}, got non-numbers")
        try:
            return arr.astype(np.float64)  # None -> NaN
        except (TypeError, ValueError):
            raise ValueError(f"{what}s must be whole numbers from {low} to {high}") from None
    if kind not in "iuf":
        got = {"b": "booleans", "U": "text", "S": "bytes", "c": "complex numbers"}.get(kind)
        raise ValueError(
            f"{what}s must be whole numbers from {low} to {high}, got {got or arr.dtype}"
        )
    return arr


def _reject_first(arr: np.ndarray, bad: np.ndarray, what: str, problem: str) -> None:
    """Raise ValueError naming the first flagged value and its index, if any is flagged."""
    if bad.any():
        index = int(np.argmax(bad))
        value = arr[index].item()
        shown = "" if value != value else f" {value!r}"  # NaN: "is missing" says it all
        raise ValueError(f"{what}{shown} at index {index} {problem}")


# --- distributions and intervals --------------------------------------------------------------


def z_quantile(confidence: float) -> float:
    """Two-sided normal critical value, e.g. 1.959964 for 0.95."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def two_sided_p(z: float) -> float:
    """Two-sided normal p-value of a z statistic."""
    return math.erfc(abs(z) / math.sqrt(2))


@lru_cache(maxsize=4096)
def t_quantile(confidence: float, df: int) -> float:
    """Two-sided Student-t critical value t with P(|T| <= t) = confidence, ``df`` >= 1."""
    p = 0.5 + confidence / 2
    if df == 1:  # Cauchy
        return math.tan(math.pi * (p - 0.5))
    if df == 2:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    if df > _T_EXACT_MAX_DF:
        return _t_cornish_fisher(p, df)
    low, high = 0.0, 1.0
    while _t_central_mass(high, df) < confidence:
        low, high = high, 2 * high
    for _ in range(200):  # bisection: the mass is monotone in t, so this cannot fail
        mid = (low + high) / 2
        if mid in (low, high):
            break
        low, high = (mid, high) if _t_central_mass(mid, df) < confidence else (low, mid)
    return high


def _t_central_mass(t: float, df: int) -> float:
    """P(|T| < t) for integer df, by the finite series of Abramowitz & Stegun 26.7.3-4."""
    theta = math.atan(t / math.sqrt(df))
    sin, cos2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2:  # odd: (2/pi)(theta + sin(cos + 2/3 cos^3 + 2*4/(3*5) cos^5 + ...))
        term = total = math.cos(theta) if df > 1 else 0.0
        for k in range(3, df - 1, 2):
            term *= cos2 * (k - 1) / k
            total += term
        return 2 / math.pi * (theta + sin * total)
    term = total = 1.0  # even: sin(1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ...)
    for k in range(2, df - 1, 2):
        term *= cos2 * (k - 1) / k
        total += term
    return sin * total


def _t_cornish_fisher(p: float, df: int) -> float:
    """Cornish-Fisher expansion of the t quantile in powers of 1/df (A&S 26.7.5)."""
    z = NormalDist().inv_cdf(p)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def wilson_interval(
    successes: np.ndarray, n: np.ndarray, z: float
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion (as proportions, element-wise)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p = successes / n
        z2n = z * z / n
        centre = (p + z2n / 2) / (1 + z2n)
        half = z / (1 + z2n) * np.sqrt(p * (1 - p) / n + z2n / (4 * n))
    return centre - half, centre + half


def contain(value, low, high, lower_bound: float, upper_bound: float):
    """Clip an interval to the metric's range and make sure it contains ``value``.

    Mathematically every interval here contains its estimate; the min/max only absorbs rounding
    (e.g. a Wilson bound of 1e-17 above a share of exactly 0).
    """
    low = np.minimum(np.clip(low, lower_bound, upper_bound), value)
    high = np.maximum(np.clip(high, lower_bound, upper_bound), value)
    return low, high


def histogram_moments(counts: np.ndarray, values: np.ndarray):
    """Per-row (n, mean, sample variance) of histograms ``counts`` over score ``values``.

    The variance uses ddof=1, and is 0 for a single answer (so its interval is the point).
    Rows with no answers give NaN mean and variance.
    """
    n = counts.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        # Sums of integer products stay exact in float64, so all-equal scores give var == 0.
        mean = counts @ values / n
        squares = (counts * (values - mean[..., np.newaxis]) ** 2).sum(axis=-1)
        var = np.where(n > 1, squares / (n - 1), np.where(n == 1, 0.0, np.nan))
    return n, mean, var


# --- grouping ---------------------------------------------------------------------------------


def factorize(values: object, field: str) -> tuple[np.ndarray, list]:
    """Dense codes 0..k-1 for a key column, plus its k distinct keys (sorted where orderable)."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"group field {field!r} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype.kind == "O":
        return _factorize_objects(arr, field)
    if arr.dtype.kind in "biu":
        codes, keys = factorize_ints(arr)
    else:  # strings, floats, dates: one sort of the distinct values, then a binary search
        keys = np.unique(arr)
        codes = np.searchsorted(keys, arr)
    return codes, keys.tolist()


def factorize_ints(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer keys: O(n) with bincount when the key range is small, else sort-based."""
    work = arr.view(np.uint8) if arr.dtype == np.bool_ else arr
    low, high = int(work.min()), int(work.max())
    if high - low > max(4 * work.size, 1 << 20) or high > np.iinfo(np.int64).max:
        keys = np.unique(work)  # sparse keys: a bincount would be mostly empty
        return np.searchsorted(keys, work), keys.astype(arr.dtype)
    shifted = work.astype(np.intp, copy=low != 0)  # codes are never written to: sharing is safe
    if low:
        shifted -= low
    present = np.bincount(shifted, minlength=high - low + 1) > 0
    keys = (np.flatnonzero(present) + low).astype(arr.dtype)
    if present.all():  # dense keys such as 0..19: the shifted values already are the codes
        return shifted, keys
    return (np.cumsum(present) - 1)[shifted], keys


def _factorize_objects(arr: np.ndarray, field: str) -> tuple[np.ndarray, list]:
    """Hash-based codes for object keys (mixed types, None).

    This is a Python-level pass over the keys, but NumPy can only sort objects, which is
    10-20 times slower; callers wanting speed pass integer or string arrays.
    """
    lookup: dict = {}
    try:
        codes = np.fromiter((lookup.setdefault(v, len(lookup)) for v in arr), np.intp, arr.size)
    except TypeError as error:
        raise ValueError(f"group field {field!r} holds unhashable values: {error}") from None
    keys = list(lookup)
    try:
        order = sorted(range(len(keys)), key=keys.__getitem__)
    except TypeError:  # e.g. None next to strings: order by type, then text
        order = sorted(range(len(keys)), key=lambda i: (type(keys[i]).__name__, repr(keys[i])))
    new_code = np.empty(len(keys), np.intp)
    new_code[order] = np.arange(len(keys))
    return new_code[codes], [keys[i] for i in order]


class Columns:
    """Uniform column access to ``records``: a mapping of columns or a sequence of row mappings."""

    def __init__(self, records: object) -> None:
        if isinstance(records, Mapping):
            self._columns, self._rows = records, None
        elif isinstance(records, Iterable) and not isinstance(records, (str, bytes)):
            self._columns, self._rows = (
                None,
                records if isinstance(records, Sequence) else list(records),
            )
        else:
            raise TypeError("records must be a mapping of columns or a sequence of mappings")
        self.length: int | None = None if self._rows is None else len(self._rows)
        if self.length == 0:
            raise ValueError("records is empty: at least one record is required")

    def column(self, field: str, *, optional: bool = False) -> object:
        """The values of ``field``; with ``optional`` a missing row entry is None (unanswered)."""
        if self._rows is not None:
            return self._row_column(field, optional)
        if field not in self._columns:
            raise ValueError(
                f"records have no column {field!r}; columns: {sorted(map(str, self._columns))}"
            )
        values = self._columns[field]
        size = len(values)
        if self.length is None and size == 0:
            raise ValueError("records is empty: at least one record is required")
        if self.length is not None and size != self.length:
            raise ValueError(
                f"column {field!r} has {size} values, other columns have {self.length}"
            )
        self.length = size
        return values

    def _row_column(self, field: str, optional: bool) -> list:
        try:
            if optional:
                return [row.get(field) for row in self._rows]
            return [row[field] for row in self._rows]
        except (AttributeError, TypeError):
            raise TypeError("records must be mappings (e.g. dicts), one per answer") from None
        except KeyError:
            index = next(i for i, row in enumerate(self._rows) if field not in row)
            raise ValueError(f"record {index} has no field {field!r}") from None
