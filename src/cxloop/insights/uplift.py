"""Treatment vs holdout: the difference of two proportions with Newcombe's interval.

    result = two_proportions(won_t, n_t, won_h, n_h)      # e.g. win-back rates of a play
    result.difference, result.low, result.high             # treatment minus holdout
    verdict(result)                                        # "too_small" / "better" / ...

The interval is Newcombe's (1998) hybrid score interval, method 10: each rate's Wilson interval
combined by the square-and-add rule. It stays inside [-1, 1], behaves at rates of 0 or 1 and is
close to nominal coverage for small samples, where the plain Wald interval is not. Pure Python,
no Django.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import _stats

__all__ = ["TwoProportions", "two_proportions", "verdict", "wilson"]

MIN_GROUP = 30  # customers per group before any verdict
MIN_EVENTS = 5  # successes and failures, summed over the groups


@dataclass(frozen=True)
class TwoProportions:
    """Rates of two groups and the interval of ``rate_a - rate_b``; rates are None when n is 0."""

    successes_a: int
    n_a: int
    successes_b: int
    n_b: int
    rate_a: float | None
    rate_b: float | None
    difference: float | None
    low: float | None
    high: float | None
    confidence: float


def _count(value: object, name: str) -> int:
    return _stats.check_int(value, name, 0)


def wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of ``successes`` out of ``n`` (n >= 1), as proportions."""
    z = _stats.z_quantile(_stats.check_probability(confidence, "confidence"))
    p, z2n = successes / n, z * z / n
    centre = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * math.sqrt(p * (1 - p) / n + z2n / (4 * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportions(
    successes_a: int, n_a: int, successes_b: int, n_b: int, *, confidence: float = 0.95
) -> TwoProportions:
    """Rate of group a minus rate of group b with Newcombe's method-10 interval."""
    x1, n1 = _count(successes_a, "successes_a"), _count(n_a, "n_a")
    x2, n2 = _count(successes_b, "successes_b"), _count(n_b, "n_b")
    confidence = _stats.check_probability(confidence, "confidence")
    if x1 > n1 or x2 > n2:
        raise ValueError("successes cannot exceed the group size")
    p1 = x1 / n1 if n1 else None
    p2 = x2 / n2 if n2 else None
    if p1 is None or p2 is None:
        return TwoProportions(x1, n1, x2, n2, p1, p2, None, None, None, confidence)
    l1, u1 = wilson(x1, n1, confidence)
    l2, u2 = wilson(x2, n2, confidence)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return TwoProportions(x1, n1, x2, n2, p1, p2, d, max(-1.0, low), min(1.0, high), confidence)


def verdict(result: TwoProportions, *, min_group: int = MIN_GROUP, min_events: int = MIN_EVENTS):
    """One of "too_small", "better", "worse", "no_difference" (group a against group b).

    Refuses ("too_small") while either group has fewer than ``min_group`` members, or there are
    fewer than ``min_events`` successes or failures in all: the interval is not to be trusted
    then, whatever it says.
    """
    successes = result.successes_a + result.successes_b
    failures = result.n_a + result.n_b - successes
    small = min(result.n_a, result.n_b) < min_group
    if small or min(successes, failures) < min_events or result.low is None:
        return "too_small"
    if result.low > 0:
        return "better"
    if result.high < 0:
        return "worse"
    return "no_difference"
