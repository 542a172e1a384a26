"""An independent, slow reference for BG/NBD expected purchases (tests only).

An active customer with drop-out probability p ~ Beta(a, b+x) and purchase count K over the
next t ~ NB(r+x, z), z = t/(alpha+T+t) (the Gamma-mixed Poisson), makes min(K, D) purchases,
D the number of purchases it survives: P(D > j) = (b+x)_j / (a+b+x)_j. So

    E[purchases | active] = sum over j >= 0 of P(K > j) P(D > j),

a sum of positive terms (no cancellation, no hypergeometric function), summed here in float64
until the NB tail is negligible: accurate to ~1e-13 relative, but with as many terms as the
customer could buy (up to a few million), so only for tests.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special


def purchases_if_alive(r, alpha, a, b, x, T, t) -> float:
    if t == 0:
        return 0.0
    n, beta = r + x, b + x
    z = t / (alpha + T + t)
    mean, sd = n * z / (1 - z), math.sqrt(n * z) / (1 - z)
    terms = int(mean + 60 * sd + 60 / (1 - z) + 100)
    j = np.arange(terms, dtype=np.float64)
    more_than_j = special.betainc(j + 1, n, z)  # P(K >= j + 1), the NB tail
    survive = np.exp(np.concatenate([[0.0], np.cumsum(np.log1p(-a / (a + beta + j[:-1])))]))
    return float(np.sum(np.sort(more_than_j * survive)))


def p_alive(r, alpha, a, b, x, t_x, T) -> float:
    if x == 0:
        return 1.0
    odds = a / (b + x - 1) * math.exp((r + x) * (math.log(alpha + T) - math.log(alpha + t_x)))
    return 1 / (1 + odds)


def expected_purchases(fit, x, t_x, T, t) -> float:
    """FHL 2005 eq. (10) for one customer: P(alive) E[purchases | active]."""
    r, alpha, a, b = fit
    return p_alive(r, alpha, a, b, x, t_x, T) * purchases_if_alive(r, alpha, a, b, x, T, t)
