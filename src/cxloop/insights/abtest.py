"""A/B tests of two service variants, with a verdict that refuses to call a winner too early.

    compare_proportions(success_a, n_a, success_b, n_b)   # CSAT top-2-box, resolution rate
    compare_means(a, b)                                   # CES, handling time (raw or summaries)
    required_sample_size(0.05, baseline=0.60)             # per variant, power 0.8

All differences are B minus A. Proportions: Newcombe's (1998) hybrid score interval (method 10)
of the difference, the pooled two-proportion z-test (Fisher's exact test when an expected cell
count is below 5), relative lift and Cohen's h. Means: Welch's t-test and interval, Cohen's d
(pooled SD) and Hedges' g.

Verdict codes ("b_better", "a_better", "no_difference", "too_small") come with an English text
holding the numbers. A winner is named only when p < alpha *and* the interval excludes 0, and
never while a group is below the minimum sample: ``min_n`` per variant (default 30), for
proportions at least ``min_events`` (5) successes and 5 failures over both variants, and, when
``min_effect`` is given, the size per variant that detects that effect with the given power.
Pure Python + SciPy, no Django: see docs/understand.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import special
from scipy import stats as sps

from . import _stats

__all__ = [
    "A_BETTER",
    "B_BETTER",
    "NO_DIFFERENCE",
    "TOO_SMALL",
    "MeanSummary",
    "MeanTest",
    "ProportionTest",
    "compare_means",
    "compare_proportions",
    "required_sample_size",
]

B_BETTER, A_BETTER, NO_DIFFERENCE, TOO_SMALL = "b_better", "a_better", "no_difference", "too_small"
MIN_N = 30  # per variant: below this no normal approximation is to be trusted
MIN_EVENTS = 5  # successes and failures over both variants
MAX_SAMPLE = 1e12  # per variant: above this, "need about ..." is meaningless
FISHER_BELOW = 5  # smallest expected cell count for the z-test


class MeanSummary(NamedTuple):
    """Summary statistics of one variant: mean, sample standard deviation (ddof=1), size."""

    mean: float
    sd: float
    n: int


@dataclass(frozen=True)
class ProportionTest:
    """Two proportions compared; rates in 0..1, ``difference`` = rate_b - rate_a."""

    successes_a: int
    n_a: int
    successes_b: int
    n_b: int
    rate_a: float
    rate_b: float
    difference: float
    ci_low: float
    ci_high: float
    relative_lift: float | None  # difference / rate_a; None when rate_a is 0
    cohens_h: float
    p_value: float
    test: str  # "z" or "fisher"
    confidence: float
    needed_n: int  # per variant before a verdict: the larger of min_n and the min_effect size
    verdict: str
    text: str


@dataclass(frozen=True)
class MeanTest:
    """Two means compared by Welch's t-test; ``difference`` = mean_b - mean_a."""

    mean_a: float
    sd_a: float
    n_a: int
    mean_b: float
    sd_b: float
    n_b: int
    difference: float
    ci_low: float
    ci_high: float
    relative_lift: float | None  # difference / mean_a; None when mean_a is 0
    t: float
    df: float
    p_value: float
    cohens_d: float
    hedges_g: float
    confidence: float
    needed_n: int
    verdict: str
    text: str


# --- sample size ------------------------------------------------------------------------------


def required_sample_size(
    difference: float,
    *,
    baseline: float | None = None,
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
) -> int:
    """Cases per variant for a two-sided test at ``alpha`` to detect ``difference`` with ``power``.

    Give ``baseline`` (rate of A, 0..1) for a proportion: Fleiss' normal formula without
    continuity correction, n = (z_a sqrt(2 pq) + z_b sqrt(p1 q1 + p2 q2))^2 / d^2 with p the mean
    of p1 and p2 = p1 + difference. Give ``sd`` for a mean: n = 2 (z_a + z_b)^2 sd^2 / d^2 plus
    Guenther's z_a^2 / 4 for the t distribution (matches the exact t-test size within one).
    """
    alpha = _stats.check_probability(alpha, "alpha")
    power = _stats.check_probability(power, "power")
    if (baseline is None) == (sd is None):
        raise ValueError("give exactly one of baseline (for a proportion) or sd (for a mean)")
    if (
        not isinstance(difference, (int, float, np.number))
        or not difference
        or difference != difference
    ):
        raise ValueError(f"difference must be a non-zero number, got {difference!r}")
    z_a, z_b = _stats.z_quantile(1 - alpha), _stats.z_quantile(2 * power - 1)
    if sd is not None:
        if not sd > 0 or not math.isfinite(sd):
            raise ValueError(f"sd must be a positive number, got {sd!r}")
        return _whole(lambda: 2 * (z_a + z_b) ** 2 * (sd / difference) ** 2 + z_a**2 / 4, 2)
    p1, p2 = float(baseline), float(baseline) + float(difference)
    if not (0 <= p1 <= 1 and 0 <= p2 <= 1):
        raise ValueError(
            f"baseline {baseline!r} plus difference {difference!r} must stay within 0..1"
        )
    p = (p1 + p2) / 2
    root = z_a * math.sqrt(2 * p * (1 - p)) + z_b * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return _whole(lambda: (root / difference) ** 2, 1)


def _whole(formula: Callable[[], float], minimum: int) -> int:
    """Round a sample size up; a difference too small to ever detect is an error, not inf."""
    try:
        n = formula()
    except (OverflowError, ZeroDivisionError):
        n = math.inf
    if not n <= MAX_SAMPLE:  # also catches inf and NaN
        raise ValueError(f"the difference is too small to detect with fewer than {MAX_SAMPLE:.0e}")
    return max(minimum, math.ceil(n - 1e-9))


def _size_or_floor(floor: int, size: Callable[[], int]) -> int:
    """max(floor, size()), or the floor alone when the effect is too small to size."""
    try:
        return max(floor, size())
    except ValueError:
        return floor


def _effect_size_needed(baseline: float, min_effect: float, alpha: float, power: float) -> int:
    """Sample size for ``min_effect`` from ``baseline``, in whichever direction fits in 0..1."""
    effect = abs(min_effect)
    step = effect if baseline + effect <= 1 else -effect
    return required_sample_size(step, baseline=baseline, alpha=alpha, power=power)


# --- text -------------------------------------------------------------------------------------


def _p_text(p: float) -> str:
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def _formatter(*values: float):
    """One number format for a difference and its interval: fewer decimals for bigger values."""
    size = max(abs(v) for v in values)
    decimals = 0 if size >= 100 else 1 if size >= 10 else 2
    return lambda x: f"{x:.{decimals}f}".replace("-", "\u2212")


def _interval(low: float, high: float, fmt) -> str:
    if low >= 0:
        return f"{fmt(low)}\u2013{fmt(high)}"
    return f"{fmt(low)} to {fmt(high)}"


def _text(verdict, diff, low, high, p, confidence, fmt, unit, higher_is_better) -> str:
    """The plain-words verdict for a non-refused test (differences B - A in display units)."""
    level = f"{confidence * 100:g} % CI"
    if verdict == NO_DIFFERENCE:
        return (
            f"No clear difference: B \u2212 A = {fmt(diff)}{unit} "
            f"({level} {_interval(low, high, fmt)}, {_p_text(p)})"
        )
    # The gain of the winner over the loser, in the metric's good direction.
    sign = 1 if (verdict == B_BETTER) == higher_is_better else -1
    gain, (g_low, g_high) = sign * diff, sorted((sign * low, sign * high))
    winner = "B" if verdict == B_BETTER else "A"
    return (
        f"{winner} is better by {fmt(gain)}{unit} "
        f"({level} {_interval(g_low, g_high, fmt)}, {_p_text(p)})"
    )


def _decide(diff, low, high, p, alpha, higher_is_better) -> str:
    if p >= alpha or low <= 0 <= high:  # both must agree before a winner is named
        return NO_DIFFERENCE
    return B_BETTER if (diff > 0) == higher_is_better else A_BETTER


def _too_small(need: int, n_a: int, n_b: int) -> str:
    return f"Too few cases to call: need about {need} per variant, have {n_a} and {n_b}"


# --- proportions ------------------------------------------------------------------------------


def _newcombe(x1: int, n1: int, x2: int, n2: int, z: float) -> tuple[float, float]:
    """Newcombe's method-10 interval of p2 - p1 from the two Wilson intervals."""
    (l1, l2), (u1, u2) = _stats.wilson_interval(np.array([x1, x2]), np.array([n1, n2]), z)
    p1, p2 = x1 / n1, x2 / n2
    d = p2 - p1
    low = d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return min(max(-1.0, low), d), max(min(1.0, high), d)


def _proportion_p(x1: int, n1: int, x2: int, n2: int) -> tuple[float, str]:
    """Two-sided p of the pooled z-test, or Fisher's exact test for small expected counts."""
    pooled = (x1 + x2) / (n1 + n2)
    expected = min(n1, n2) * min(pooled, 1 - pooled)
    if expected < FISHER_BELOW:
        table = [[x1, n1 - x1], [x2, n2 - x2]]
        return float(sps.fisher_exact(table, alternative="two-sided").pvalue), "fisher"
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return _stats.two_sided_p((x2 / n2 - x1 / n1) / se), "z"


def _counts(x: object, n: object, group: str) -> tuple[int, int]:
    n = _stats.check_int(n, f"n_{group}", 1)
    x = _stats.check_int(x, f"success_{group}", 0)
    if x > n:
        raise ValueError(f"success_{group} ({x}) cannot exceed n_{group} ({n})")
    return x, n


def _refusal(x1: int, n1: int, x2: int, n2: int, need: int, min_events: int) -> str | None:
    """Why no verdict may be given yet, or None."""
    if min(n1, n2) < need:
        return _too_small(need, n1, n2)
    successes, failures = x1 + x2, n1 + n2 - x1 - x2
    if min(successes, failures) < min_events:
        return (
            f"Too few cases to call: need at least {min_events} successes and {min_events} "
            f"failures over both variants, have {successes} and {failures}"
        )
    return None


def compare_proportions(
    success_a: int,
    n_a: int,
    success_b: int,
    n_b: int,
    *,
    alpha: float = 0.05,
    min_n: int = MIN_N,
    min_events: int = MIN_EVENTS,
    min_effect: float | None = None,
    power: float = 0.8,
    higher_is_better: bool = True,
) -> ProportionTest:
    """Compare the success rates of variants A and B (B - A), with a verdict.

    ``min_effect`` (a rate difference, e.g. 0.05 for 5 points) raises the minimum sample to the
    size that detects it from A's rate with ``power``. ``higher_is_better=False`` for rates where
    less is better (e.g. repeat contacts).
    """
    x1, n1 = _counts(success_a, n_a, "a")
    x2, n2 = _counts(success_b, n_b, "b")
    alpha = _stats.check_probability(alpha, "alpha")
    min_n, min_events = (
        _stats.check_int(min_n, "min_n", 1),
        _stats.check_int(min_events, "min_events", 0),
    )
    confidence = 1 - alpha
    p1, p2 = x1 / n1, x2 / n2
    diff = p2 - p1
    low, high = _newcombe(x1, n1, x2, n2, _stats.z_quantile(confidence))
    p_value, test = _proportion_p(x1, n1, x2, n2)
    need = min_n
    if min_effect is not None:
        need = max(need, _effect_size_needed(p1, min_effect, alpha, power))
    if min(n1, n2) < need and min_effect is None and diff:
        # say what the observed effect would need
        need = _size_or_floor(need, lambda: _effect_size_needed(p1, diff, alpha, power))
    refusal = _refusal(x1, n1, x2, n2, need, min_events)
    if refusal:
        verdict, text = TOO_SMALL, refusal
    else:
        verdict = _decide(diff, low, high, p_value, alpha, higher_is_better)
        points = lambda v: f"{100 * v:.1f}".replace("-", "\u2212")  # noqa: E731  (% points)
        text = _text(
            verdict, diff, low, high, p_value, confidence, points, " points", higher_is_better
        )
    cohens_h = 2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(p1))
    return ProportionTest(
        x1, n1, x2, n2, p1, p2, diff, low, high, diff / p1 if p1 else None, cohens_h, p_value,
        test, confidence, need, verdict, text,
    )  # fmt: skip


# --- means ------------------------------------------------------------------------------------


def _summary(values: object, group: str) -> MeanSummary:
    if isinstance(values, MeanSummary):
        mean, sd, n = values
        n = _stats.check_int(n, f"n of {group}", 2)
        if not (math.isfinite(mean) and math.isfinite(sd) and sd >= 0):
            raise ValueError(f"summary of {group} needs a finite mean and an sd >= 0, got {values}")
        return MeanSummary(float(mean), float(sd), n)
    arr = _stats.as_array(values, f"value of {group}").astype(np.float64)
    if not np.isfinite(arr).all():
        index = int(np.argmax(~np.isfinite(arr)))
        raise ValueError(f"value of {group} at index {index} is not a finite number: {arr[index]}")
    if arr.size < 2:
        raise ValueError(f"{group} needs at least 2 values for a standard deviation")
    return MeanSummary(float(arr.mean()), float(arr.std(ddof=1)), int(arr.size))


def _welch(a: MeanSummary, b: MeanSummary, confidence: float) -> tuple[float, ...]:
    """(difference, low, high, t, df, p) of Welch's test of mean_b - mean_a."""
    va, vb = a.sd**2 / a.n, b.sd**2 / b.n
    diff, se = b.mean - a.mean, math.sqrt(va + vb)
    if se == 0:  # both groups constant: either identical or certainly different
        return (
            diff,
            diff,
            diff,
            (math.copysign(math.inf, diff) if diff else 0.0),
            math.inf,
            float(diff == 0),
        )
    df = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))
    t = diff / se
    half = float(sps.t.ppf(0.5 + confidence / 2, df)) * se
    return diff, diff - half, diff + half, t, df, float(2 * sps.t.sf(abs(t), df))


def compare_means(
    a: object,
    b: object,
    *,
    alpha: float = 0.05,
    min_n: int = MIN_N,
    min_effect: float | None = None,
    power: float = 0.8,
    higher_is_better: bool = True,
    unit: str = "",
) -> MeanTest:
    """Compare the means of variants A and B (B - A) by Welch's t-test, with a verdict.

    ``a`` and ``b`` are raw values or :class:`MeanSummary` (mean, sd, n). ``min_effect`` (in the
    metric's units) raises the minimum sample to the size detecting it with ``power`` at the
    pooled SD. ``higher_is_better=False`` for handling time and effort-style scores where lower
    is better; ``unit`` is appended to numbers in the text (e.g. " s").
    """
    sa, sb = _summary(a, "a"), _summary(b, "b")
    alpha = _stats.check_probability(alpha, "alpha")
    min_n = _stats.check_int(min_n, "min_n", 2)
    confidence = 1 - alpha
    diff, low, high, t, df, p_value = _welch(sa, sb, confidence)
    dof = sa.n + sb.n - 2
    pooled = math.sqrt(((sa.n - 1) * sa.sd**2 + (sb.n - 1) * sb.sd**2) / dof)
    d = diff / pooled if pooled else (math.copysign(math.inf, diff) if diff else 0.0)
    # Exact small-sample correction J(dof) = Gamma(dof/2) / (sqrt(dof/2) Gamma((dof-1)/2)).
    j = math.exp(special.gammaln(dof / 2) - special.gammaln((dof - 1) / 2)) / math.sqrt(dof / 2)
    need = min_n
    if min_effect is not None and pooled:
        need = max(need, required_sample_size(abs(min_effect), sd=pooled, alpha=alpha, power=power))
    if min(sa.n, sb.n) < need:
        if min_effect is None and diff and pooled:
            need = _size_or_floor(
                need, lambda: required_sample_size(abs(diff), sd=pooled, alpha=alpha, power=power)
            )
        verdict, text = TOO_SMALL, _too_small(need, sa.n, sb.n)
    else:
        verdict = _decide(diff, low, high, p_value, alpha, higher_is_better)
        fmt = _formatter(diff, low, high)
        text = _text(verdict, diff, low, high, p_value, confidence, fmt, unit, higher_is_better)
    return MeanTest(
        sa.mean, sa.sd, sa.n, sb.mean, sb.sd, sb.n, diff, low, high,
        diff / sa.mean if sa.mean else None, t, df, p_value, d, d * j, confidence, need,
        verdict, text,
    )  # fmt: skip
