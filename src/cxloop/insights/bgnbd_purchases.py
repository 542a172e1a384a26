"""E[purchases in (T, T + t]] of a BG/NBD customer who is still active, accurate everywhere.

FHL 2005 eq. (10) divided by P(alive) is

    G = c/(a-1) [1 - (1-z)^(r+x) 2F1(r+x, b+x; c; z)],   c = a+b+x-1, z = w/(1+w), w = t/(alpha+T),

which is also E_p[(1 - (1 + p w)^-(r+x)) / p] with p ~ Beta(a, b+x): the posterior drop-out
probability, integrated against the purchases an active customer with that p makes. No single
evaluation of the hypergeometric function is good for every input: scipy's ``hyp2f1`` of the
Euler form overflows for frequent buyers when z is near 1 (and when r - a is an integer), its
bracket cancels when a is near 1, and it loses digits when b is huge. So each (customer,
horizon) goes to the first method that is accurate for it, checked against a high-precision
oracle in the tests (relative error about 1e-10, up to 1e-9 within 1e-3 of a = 1):

1. a >= 21 (the drop-out Beta is concentrated): Gauss-Hermite in logit p for b+x >= 10, else
   the series over the number of purchases survived (it ends fast when a >> b+x);
2. otherwise scipy's ``hyp2f1`` of the Euler form, vectorised over every pair;
3. where that may be inaccurate (c > 1e5, a tiny bracket, a near a singular point) or failed:
   the Pfaff series n w 3F2(1, n+1, a; 2, c+1; -w) where its terms fall from the start (small
   w, or c much larger than w), which has no cancellation; else the Euler form if it is
   finite; what is left (frequent buyers at long horizons, huge b) goes to Gauss-Legendre in
   log p, whose range follows the integrand.

Everything works on flat arrays of (customer, horizon) pairs; a method gets the indexes still
to do and fills ``out``. Pure NumPy + SciPy.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import special

__all__ = ["purchases_if_alive"]

_CONCENTRATED_A = 21.0  # Beta(a - 1, b + x) near normal in logit p from a - 1 = 20
_WIDE_B = 10.0  # ... when b + x is at least this
_EULER_MAX_C = 1e5  # scipy's hyp2f1 of the Euler form, when finite, was accurate below
_SMALL_BRACKET = 1e-5  # ... and where its bracket, 1 - (1-z)^(a-1) 2F1, is not below this
_NEAR_SINGULAR = 1e-3  # a this near 1 (or c near 0): the Euler form is interpolated in a
_STEPS = _NEAR_SINGULAR * np.array([-2.0, -1.0, 1.0, 2.0])
_TOLERANCE = 1e-17  # series stop when a term is this small next to the sum
_MAX_TERMS = 120
_HERMITE = special.roots_hermite(24)
_LEGENDRE = np.polynomial.legendre.leggauss(160)
_BLOCK = 20_000  # pairs per quadrature call: (pairs x nodes) arrays stay small


class _Pairs(NamedTuple):
    """Flat per-(customer, horizon) inputs; r, a, b are the fitted scalars."""

    r: float
    a: float
    b: float
    x: np.ndarray
    w: np.ndarray  # t / (alpha + T)

    def n(self, idx):
        return self.r + self.x[idx]

    def beta(self, idx):
        return self.b + self.x[idx]

    def c(self, idx):
        return (self.a + self.b - 1) + self.x[idx]


def purchases_if_alive(t, r, alpha, a, b, x, age) -> np.ndarray:
    """E[purchases in (T, T + t] | active at T, x, T], broadcast over ``t``, ``x``, ``age``."""
    w = np.asarray(t, dtype=np.float64) / (alpha + np.asarray(age, dtype=np.float64))
    w, x = np.broadcast_arrays(w, np.asarray(x, dtype=np.float64))
    pairs = _Pairs(float(r), float(a), float(b), x.ravel(), w.ravel())
    out = np.zeros(pairs.w.size)  # t = 0: nothing to expect
    positive = pairs.w > 0
    with np.errstate(all="ignore"):
        if pairs.a >= _CONCENTRATED_A:
            todo = np.flatnonzero(positive)
            wide = pairs.beta(todo) >= _WIDE_B
            _in_blocks(_hermite, pairs, todo[wide], out)
            _survived_series(pairs, todo[~wide], out)
        else:
            # The Euler form for every pair (that is the fast part), then the others for the
            # pairs where it may be inaccurate or failed.
            values = _by_euler(pairs, slice(None))
            usable = np.isfinite(values) & (values >= 0)
            out[usable] = values[usable]
            shaky = (_euler_inaccurate(pairs) | ~usable) & positive
            left = _pfaff_series(pairs, np.flatnonzero(shaky), out)
            _in_blocks(_legendre, pairs, left[~usable[left]], out)
    return out.reshape(w.shape)


def _in_blocks(method, pairs: _Pairs, idx, out) -> None:
    for start in range(0, idx.size, _BLOCK):
        method(pairs, idx[start : start + _BLOCK], out)


# --- scipy's hyp2f1, Euler form -----------------------------------------------------------


def _euler(pairs: _Pairs, idx, a: float) -> np.ndarray:
    """c/(a-1) [1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; c; z)] at a given a (NaN: scipy failed)."""
    c = (a + pairs.b - 1) + pairs.x[idx]
    w = pairs.w[idx]
    hyp = special.hyp2f1(a + pairs.b - 1 - pairs.r, a - 1, c, w / (1 + w))
    return c / (a - 1) * (1 - hyp * (1 + w) ** (1 - a))  # (1 - z)^(a-1) = (1 + w)^(1-a)


def _singular_points(pairs: _Pairs, idx) -> np.ndarray | None:
    """The a the Euler form divides by zero at, nearest the fitted a: 1 (a - 1) or, for x = 0,
    1 - b (c = 0); NaN where the fitted a is not within _NEAR_SINGULAR of one, None if none."""
    a, b = pairs.a, pairs.b
    if abs(a - 1) >= _NEAR_SINGULAR and abs(a - 1 + b) >= _NEAR_SINGULAR:
        return None
    x = pairs.x[idx]
    point = 1.0 if abs(a - 1) <= abs(a - 1 + b) else 1 - b
    mine = (x == 0) | (point == 1.0)
    if abs(a - 1) < _NEAR_SINGULAR and point != 1.0:
        return np.where(mine, point, 1.0)  # both near: 1 - b for x = 0, 1 for the others
    return np.where(mine, point, np.nan)


def _euler_inaccurate(pairs: _Pairs) -> np.ndarray:
    """Where the Euler form's bracket, about (a-1) n w / c, is too small for double precision,
    a is near a singular point, or c is beyond where scipy's hyp2f1 was checked."""
    c = (pairs.a + pairs.b - 1) + pairs.x
    shaky = abs(pairs.a - 1) * (pairs.r + pairs.x) * pairs.w < _SMALL_BRACKET * np.abs(c)
    shaky |= c > _EULER_MAX_C
    points = _singular_points(pairs, slice(None))
    return shaky if points is None else shaky | ~np.isnan(points)


def _by_euler(pairs: _Pairs, idx) -> np.ndarray:
    """The Euler form at the pairs ``idx`` (an index array or a slice); NaN where it failed.

    Near a singular point (a = 1, or c = 0) its bracket is all cancellation, but the value is
    smooth in a: there it is the cubic through the values at the point +- 1 and 2 steps."""
    points = _singular_points(pairs, idx)
    if points is None:
        return _euler(pairs, idx, pairs.a)
    idx = np.arange(pairs.x.size)[idx]
    values = np.full(idx.size, np.nan)
    regular = np.isnan(points)
    values[regular] = _euler(pairs, idx[regular], pairs.a)
    for point in np.unique(points[~regular]):
        mine = points == point
        values[mine] = _interpolated(pairs, idx[mine], point)
    return values


def _interpolated(pairs: _Pairs, idx, point: float) -> np.ndarray:
    offset, values = pairs.a - point, np.zeros(idx.size)
    for i, step in enumerate(_STEPS):
        others = np.delete(_STEPS, i)
        weight = np.prod((offset - others) / (step - others))
        values += weight * _euler(pairs, idx, point + step)
    return values


# --- series -----------------------------------------------------------------------------------


def _pfaff_series(pairs: _Pairs, idx, out) -> np.ndarray:
    """n w 3F2(1, n+1, a; 2, c+1; -w) where its terms fall from the start; checked as it goes:
    a pair leaves when a term would grow before the sum has converged. Returns the others."""
    n, c, w = pairs.n(idx), pairs.c(idx), pairs.w[idx]
    ratio_0 = (n + 1) * pairs.a * w / (2 * (c + 1))
    bound = w * np.maximum(1, (n + 1) / (c + 1)) * max(1, pairs.a / 2)  # every ratio is below
    tried = np.flatnonzero((bound <= 0.5) | ((ratio_0 <= 0.25) & (c >= 60 * w)))
    term, total = np.ones(tried.size), np.ones(tried.size)
    live, done = np.arange(tried.size), np.zeros(tried.size, dtype=bool)
    for k in range(_MAX_TERMS):
        j = tried[live]
        ratio = (n[j] + 1 + k) * (pairs.a + k) * w[j] / ((c[j] + 1 + k) * (k + 2))
        growing = ratio >= 1
        term[live] *= -ratio
        total[live] += term[live]
        finished = ~growing & (np.abs(term[live]) <= _TOLERANCE * np.abs(total[live]))
        done[live[finished]] = True
        live = live[~finished & ~growing]
        if live.size == 0:
            break
    ok = tried[done]
    out[idx[ok]] = (n * w)[ok] * total[done]
    left = np.ones(idx.size, dtype=bool)
    left[ok] = False
    return idx[left]


def _survived_series(pairs: _Pairs, idx, out) -> None:
    """sum over j of P(survives j purchases) P(makes more than j): the terms fall like
    ((b+x)/(a+b+x))^j, fast for a >> b+x (the NB tail P(K > j) is scipy's betainc)."""
    a, n, beta, w = pairs.a, pairs.n(idx), pairs.beta(idx), pairs.w[idx]
    z = w / (1 + w)
    survive, total = np.ones(idx.size), np.zeros(idx.size)
    for j in range(4 * _MAX_TERMS):
        total += survive * special.betainc(j + 1, n, z)
        survive *= (beta + j) / (a + beta + j)
        # what is left is at most sum_{i > j} P(survives i) = survive (a+beta+j) / (a-1)
        if np.all(survive * (a + beta + j) / (a - 1) <= _TOLERANCE * total):
            break
    out[idx] = total


# --- quadrature -------------------------------------------------------------------------------


def _hermite(pairs: _Pairs, idx, out) -> None:
    """c/(a-1) E[1 - (1 + p w)^-n] with p ~ Beta(a-1, b+x), Gauss-Hermite in logit p around the
    mode, the weights renormalised (the Beta in logit p is near normal for a - 1 >= 20)."""
    a1 = pairs.a - 1
    xs, at = np.unique(pairs.x[idx], return_inverse=True)
    beta = pairs.b + xs
    nodes, weights = _HERMITE
    sigma = np.sqrt(1 / a1 + 1 / beta)[:, None]
    mode = a1 / (a1 + beta)
    step = np.sqrt(2) * sigma * nodes
    log_rel = a1 * step - (a1 + beta)[:, None] * np.log1p(mode[:, None] * np.expm1(step))
    weight = weights * np.exp(nodes**2 + log_rel)
    weight /= weight.sum(axis=1, keepdims=True)
    p = special.expit(np.log(a1 / beta)[:, None] + step)  # per distinct x
    n, w = pairs.n(idx), pairs.w[idx]
    inner = -np.expm1(-n[:, None] * np.log1p(p[at] * w[:, None]))
    out[idx] = pairs.c(idx) / a1 * np.einsum("ij,ij->i", weight[at], inner)


def _log_beta(a: float, beta: np.ndarray) -> np.ndarray:
    """log B(a, beta), accurate for huge beta (betaln loses ~1e-8 there): via poch, split in
    two so that poch does not overflow."""
    half = a / 2
    return (
        special.gammaln(a)
        - np.log(special.poch(beta, half))
        - np.log(special.poch(beta + half, half))
    )


def _legendre(pairs: _Pairs, idx, out) -> None:
    """E_p[(1 - (1+pw)^-n)/p], p ~ Beta(a, b+x), Gauss-Legendre in u = log p on [p_lo, p_hi].

    Below p_lo the integrand is n w p^(a-1) (1 - p k + O(p^2)), integrated in closed form;
    above p_hi the Beta density is below e^-45 of its peak. Made for b + x >= 10."""
    a, n, beta, w = pairs.a, pairs.n(idx), pairs.beta(idx), pairs.w[idx]
    k = (beta - 1) + (n + 1) * w / 2
    p_lo = 1e-6 / np.maximum(np.maximum(beta - 1, (n + 1) * w), 1.0)
    p_hi = np.minimum((60 + 3 * a) / np.maximum(beta - 1, 1e-300), 1.0)
    log_beta = _log_beta(a, beta)
    below = n * w * np.exp(a * np.log(p_lo) - log_beta) / a * (1 - a / (a + 1) * p_lo * k)
    nodes, weights = _LEGENDRE
    lo, hi = np.log(p_lo), np.log(p_hi)
    half = (hi - lo) / 2
    u = ((hi + lo) / 2)[:, None] + half[:, None] * nodes
    log_density = (a - 1) * u + (beta[:, None] - 1) * np.log1p(-np.exp(u)) - log_beta[:, None]
    saturation = -np.expm1(-n[:, None] * np.log1p(w[:, None] * np.exp(u)))
    out[idx] = below + half * ((np.exp(log_density) * saturation) @ weights)
