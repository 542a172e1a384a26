"""BG/NBD expected purchases and CLV in the form that stays finite when a and b are huge.

``cxloop.insights.clv`` evaluates FHL 2005 eq. (10) after Euler's transform,
(1 - z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), which is accurate for frequent buyers. When the
fit puts the drop-out Beta far out (a ~ 1e5, b ~ 1e7: almost nobody drops out, as on the demo
book), 2F1 overflows to inf while (1 - z)^(a-1) underflows to 0, and the product is NaN. The
untransformed form (1 - z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z) has small first parameters there
and converges like (1 - z)^-(r+x). The scoring run uses it only for the customers whose value
came out non-finite; the same maths, so the two agree wherever both are finite (a test
checks it).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from cxloop.insights import clv as clv_model


def expected_purchases(t, fit: clv_model.BgNbdFit, x, t_x, age) -> np.ndarray:
    """E[purchases in (T, T + t]] per customer, FHL 2005 eq. (10) without the transform."""
    r, alpha, a, b = fit.r, fit.alpha, fit.a, fit.b
    t = np.asarray(t, dtype=np.float64)
    c = a + b + x - 1
    one_minus_z = (alpha + age) / (alpha + age + t)
    hyp = special.hyp2f1(r + x, b + x, c, 1 - one_minus_z)
    bracket = 1.0 - one_minus_z ** (r + x) * hyp
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = np.where(
            x > 0,
            np.log(a) - np.log(b + x - 1) + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x)),
            -np.inf,
        )
    return np.maximum(c / (a - 1) * bracket * special.expit(-odds), 0.0)


def lifetime_value(bgnbd, gg, x, t_x, age, m, months: int, discount: float) -> np.ndarray:
    """Discounted expected spend over ``months`` months, as ``insights.clv.clv`` (weeks)."""
    spend = clv_model.conditional_expected_average_profit(gg, x, m)
    steps = np.arange(months + 1, dtype=np.float64)[:, np.newaxis] * (clv_model.DAYS_PER_MONTH / 7)
    cumulative = expected_purchases(steps, bgnbd, x, t_x, age)
    per_month = np.maximum(np.diff(cumulative, axis=0), 0.0)
    rates = (1.0 + discount) ** -np.arange(1, months + 1, dtype=np.float64)
    return spend * (rates @ per_month)
