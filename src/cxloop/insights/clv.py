"""Customer lifetime value: BG/NBD for purchase counts and P(alive), Gamma-Gamma for spend.

Each customer is summarised as in the papers: ``frequency`` = number of *repeat* purchases
(purchases after the first), ``recency`` = age of the customer at the last purchase (time from
the first purchase to the last one; 0 when frequency is 0), ``T`` = age at the end of the
observation (time from the first purchase to now), all in one time unit (weeks by default), and
``monetary_value`` = the mean value of the repeat purchases.

* :func:`fit_bgnbd` maximises the BG/NBD likelihood of Fader, Hardie & Lee (2005), "Counting
  your customers the easy way", eq. (6): closed form, no hypergeometric function.
* :func:`fit_gamma_gamma` maximises the Gamma-Gamma marginal likelihood of the mean spend of
  the customers with repeat purchases (Fader & Hardie 2013, "The Gamma-Gamma model of monetary
  value").
* :func:`expected_purchases`, :func:`p_alive`, :func:`conditional_expected_average_profit` and
  :func:`clv` are vectorised over customers. The expected purchases (FHL 2005 eq. (10), a
  Gauss hypergeometric function) come from :mod:`cxloop.insights.bgnbd_purchases`, which picks
  a numerically sound method per customer: accurate for any frequency and horizon.

Both fits run ``scipy.optimize.minimize`` (L-BFGS-B with the analytic gradient) on the logs of
the parameters, so they stay positive without constraints. Pure NumPy + SciPy, no Django: see
docs/retention.md, which also shows the CDNOW reproduction the tests check.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy import optimize, special

from cxloop.insights.bgnbd_purchases import purchases_if_alive

__all__ = [
    "DAYS_PER_MONTH",
    "BgNbdFit",
    "GammaGammaFit",
    "bgnbd_log_likelihood",
    "clv",
    "conditional_expected_average_profit",
    "expected_purchases",
    "expected_purchases_new",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "gamma_gamma_log_likelihood",
    "p_alive",
]

DAYS_PER_MONTH = 365.25 / 12  # the month :func:`clv` steps by: 30.4375 days
_LOG_BOUND = 25.0  # the optimiser keeps log-parameters in [-25, 25]: e^25 ~ 7e10


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BgNbdFit:
    """Fitted BG/NBD: purchase rates ~ Gamma(r, alpha), drop-out probabilities ~ Beta(a, b).

    ``log_likelihood`` is the maximised total over the ``n`` customers fitted. ``alpha`` is in
    the time unit of the data it was fitted on (weeks for CDNOW).
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    n: int

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class GammaGammaFit:
    """Fitted Gamma-Gamma: a transaction's value ~ Gamma(p, nu), nu ~ Gamma(q, v) per customer.

    The mean spend per transaction across customers is ``p * v / (q - 1)`` (finite for q > 1);
    ``v`` is in the currency unit of the data it was fitted on.
    """

    p: float
    q: float
    v: float
    log_likelihood: float
    n: int

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --- input checks -----------------------------------------------------------------------------


def _as_floats(values: object, name: str) -> np.ndarray:
    """A 1-D float array with only finite values >= 0."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name} must be finite and >= 0, got {arr[i]!r} at index {i}")
    return arr


def _frequencies(values: object) -> np.ndarray:
    x = _as_floats(values, "frequency")
    notwhole = x != np.floor(x)
    if notwhole.any():
        i = int(np.argmax(notwhole))
        raise ValueError(f"frequency counts repeat purchases: {x[i]!r} at index {i} is not whole")
    return x


def _same_length(**arrays: np.ndarray) -> None:
    sizes = {name: arr.size for name, arr in arrays.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"inputs must have the same length, got {sizes}")


def _first(mask: np.ndarray, message: str) -> None:
    if mask.any():
        i = int(np.argmax(mask))
        raise ValueError(f"{message} (customer at index {i})")


def _histories(frequency: object, recency: object, T: object) -> tuple[np.ndarray, ...]:
    """Validated (frequency, recency, T): recency <= T, recency 0 exactly when frequency is 0."""
    x, t_x, age = _frequencies(frequency), _as_floats(recency, "recency"), _as_floats(T, "T")
    _same_length(frequency=x, recency=t_x, T=age)
    _first(t_x > age, "recency must not exceed T (the last purchase cannot be in the future)")
    _first((x > 0) & (t_x == 0), "frequency > 0 needs recency > 0 (a repeat purchase is later)")
    _first((x == 0) & (t_x > 0), "frequency 0 needs recency 0 (there is no repeat purchase)")
    return x, t_x, age


def _spends(frequency: object, monetary_value: object) -> tuple[np.ndarray, np.ndarray]:
    x, m = _frequencies(frequency), _as_floats(monetary_value, "monetary_value")
    _same_length(frequency=x, monetary_value=m)
    _first((x > 0) & (m == 0), "monetary_value must be > 0 for customers with frequency > 0")
    return x, m


def _periods(t: object) -> np.ndarray:
    t = np.asarray(t, dtype=np.float64)
    if not np.isfinite(t).all() or (t < 0).any():
        raise ValueError(f"t must be finite and >= 0, got {t!r}")
    return t


# --- BG/NBD -----------------------------------------------------------------------------------


class _Sample(NamedTuple):
    """Fitting data, with the distinct frequencies: the gamma functions depend on x alone and x
    takes few values, so they are computed once per distinct x (``counts``), then indexed
    (``at``) or weighted by how many customers share each (``weight``)."""

    x: np.ndarray
    t_x: np.ndarray  # recency (BG/NBD) or the mean spend m_x (Gamma-Gamma)
    age: np.ndarray  # T (BG/NBD) or log m_x (Gamma-Gamma)
    counts: np.ndarray
    at: np.ndarray
    weight: np.ndarray


def _sample(x: np.ndarray, t_x: np.ndarray, age: np.ndarray) -> _Sample:
    counts, at = np.unique(x, return_inverse=True)
    return _Sample(x, t_x, age, counts, at, np.bincount(at) / x.size)


def _bgnbd_terms(r, alpha, a, b, s: _Sample):
    """Per-customer log-likelihood pieces of FHL 2005 eq. (6).

    L = B(a, b+x)/B(a, b) * G(r+x) alpha^r / G(r) * [(alpha+T)^-(r+x)
        + [x > 0] a/(b+x-1) (alpha+t_x)^-(r+x)]

    Returns the log of the factor before the bracket (per distinct x), the logs of the two
    bracket terms and log(alpha + T), log(alpha + t_x) (per customer).
    """
    u = s.counts
    base = (
        special.gammaln(r + u) - special.gammaln(r) + r * math.log(alpha) + special.gammaln(a + b)
        + special.gammaln(b + u) - special.gammaln(b) - special.gammaln(a + b + u)
    )  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):  # x = 0 has no A4 term: log A4 = -inf
        log_ratio = np.where(u > 0, math.log(a) - np.log(b + u - 1), -np.inf)
    log_age, log_tx = np.log(alpha + s.age), np.log(alpha + s.t_x)
    log_a3 = -(r + s.x) * log_age
    log_a4 = log_ratio[s.at] - (r + s.x) * log_tx
    return base, log_a3, log_a4, log_age, log_tx


def _bgnbd_ll(r, alpha, a, b, s: _Sample) -> np.ndarray:
    base, log_a3, log_a4, _, _ = _bgnbd_terms(r, alpha, a, b, s)
    return base[s.at] + np.logaddexp(log_a3, log_a4)


def bgnbd_log_likelihood(
    fit: BgNbdFit | tuple[float, float, float, float],
    frequency: object,
    recency: object,
    T: object,
) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood at ``fit`` (a :class:`BgNbdFit` or (r, alpha, a, b))."""
    r, alpha, a, b = _bgnbd_params(fit)
    return _bgnbd_ll(r, alpha, a, b, _sample(*_histories(frequency, recency, T)))


def _bgnbd_objective(log_params: np.ndarray, s: _Sample) -> tuple[float, np.ndarray]:
    """Minus the mean log-likelihood and its gradient in the log-parameters."""
    r, alpha, a, b = np.exp(log_params)
    base, log_a3, log_a4, log_age, log_tx = _bgnbd_terms(r, alpha, a, b, s)
    both = np.logaddexp(log_a3, log_a4)
    w4 = np.exp(log_a4 - both)  # the A4 term's share of the bracket, 0 when x = 0
    w3 = 1.0 - w4
    u, psi_ab = s.counts, special.digamma(a + b)
    psi_abu = special.digamma(a + b + u)
    inverse_bu = np.where(u > 0, 1.0 / np.maximum(b + u - 1, b), 0.0)  # max: b - 1 may be 0
    d_r = special.digamma(r + u) - special.digamma(r) + math.log(alpha)
    d_b = psi_ab + special.digamma(b + u) - special.digamma(b) - psi_abu
    rate = (r + s.x) * (w3 / (alpha + s.age) + w4 / (alpha + s.t_x))
    grad = np.array([
        (s.weight @ d_r - np.mean(w3 * log_age + w4 * log_tx)) * r,
        (r / alpha - rate.mean()) * alpha,
        (s.weight @ (psi_ab - psi_abu) + w4.mean() / a) * a,
        (s.weight @ d_b - np.mean(w4 * inverse_bu[s.at])) * b,
    ])  # fmt: skip
    return -float(s.weight @ base + both.mean()), -grad


def fit_bgnbd(frequency: object, recency: object, T: object) -> BgNbdFit:
    """Maximum-likelihood BG/NBD fit on per-customer (frequency, recency, T).

    Starts from r = 1, alpha = 1 / (mean purchase rate), a = 1, b = 3 (drop-out probability
    around 25 % after a purchase), which sits near typical retail optima. Raises ValueError on
    invalid input or when nobody made a repeat purchase (the model cannot be identified).
    """
    x, t_x, age = _histories(frequency, recency, T)
    if x.size == 0 or not (x > 0).any():
        raise ValueError("cannot fit BG/NBD: no customer has a repeat purchase (frequency > 0)")
    if not (age > 0).any():
        raise ValueError("cannot fit BG/NBD: every customer has T = 0")
    sample = _sample(x, t_x, age)
    start = np.log([1.0, age.sum() / x.sum(), 1.0, 3.0])
    result = _minimize(_bgnbd_objective, start, (sample,))
    r, alpha, a, b = np.exp(result.x).tolist()
    ll = float(_bgnbd_ll(r, alpha, a, b, sample).sum())
    return BgNbdFit(r=r, alpha=alpha, a=a, b=b, log_likelihood=ll, n=int(x.size))


def _minimize(objective, start: np.ndarray, args: tuple) -> optimize.OptimizeResult:
    """L-BFGS-B on the (mean) objective, bounded log-parameters; polished once if it stalled."""
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * start.size
    options = {"maxiter": 1000, "ftol": 1e-14, "gtol": 1e-9}
    result = optimize.minimize(
        objective, start, args=args, jac=True, method="L-BFGS-B", bounds=bounds, options=options
    )
    if not result.success:  # a line-search stall near the optimum; a restart resolves it
        result = optimize.minimize(
            objective, result.x, args=args, jac=True, method="L-BFGS-B", bounds=bounds,
            options=options,
        )  # fmt: skip
    if not np.isfinite(result.fun):
        raise ValueError(f"the fit did not converge: {result.message}")
    return result


def _bgnbd_params(fit: BgNbdFit | tuple) -> tuple[float, float, float, float]:
    if isinstance(fit, BgNbdFit):
        params = (fit.r, fit.alpha, fit.a, fit.b)
    else:
        params = tuple(float(value) for value in fit)
        if len(params) != 4:
            raise ValueError("BG/NBD parameters are (r, alpha, a, b)")
    if not all(math.isfinite(value) and value > 0 for value in params):
        raise ValueError(f"BG/NBD parameters must be finite and > 0, got {params}")
    return params


def _log_dead_odds(r, alpha, a, b, x, t_x, age) -> np.ndarray:
    """log of a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x): log odds of having dropped out."""
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = (
            math.log(a) - np.log(b + x - 1) + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
        )
    return np.where(x > 0, odds, -np.inf)  # no repeat purchase: no chance to drop out yet


def p_alive(fit: BgNbdFit, frequency: object, recency: object, T: object) -> np.ndarray:
    """P(customer still active | history), as in Fader, Hardie & Lee's P(alive) note; 1 if x = 0."""
    r, alpha, a, b = _bgnbd_params(fit)
    x, t_x, age = _histories(frequency, recency, T)
    return special.expit(-_log_dead_odds(r, alpha, a, b, x, t_x, age))


def _purchases(t, r, alpha, a, b, x, t_x, age) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T], FHL 2005 eq. (10): P(alive) times the purchases
    expected of an active customer, which :mod:`cxloop.insights.bgnbd_purchases` evaluates
    accurately for any history and horizon (frequent buyers and huge a, b included)."""
    alive = special.expit(-_log_dead_odds(r, alpha, a, b, x, t_x, age))
    return purchases_if_alive(t, r, alpha, a, b, x, age) * alive


def expected_purchases(
    t: float | np.ndarray, fit: BgNbdFit, frequency: object, recency: object, T: object
) -> np.ndarray:
    """Expected purchases of each customer in the next ``t`` time units, given its history.

    ``t`` is a number or an array broadcasting against the customers.
    """
    r, alpha, a, b = _bgnbd_params(fit)
    x, t_x, age = _histories(frequency, recency, T)
    return _purchases(_periods(t), r, alpha, a, b, x, t_x, age)


def expected_purchases_new(t: float | np.ndarray, fit: BgNbdFit) -> np.ndarray:
    """E[X(t)]: expected repeat purchases of a new customer within ``t`` of its first purchase.

    FHL 2005 eq. (7); the same formula as :func:`expected_purchases` with x = t_x = T = 0.
    """
    r, alpha, a, b = _bgnbd_params(fit)
    zero = np.zeros(1)
    return _purchases(_periods(t), r, alpha, a, b, zero, zero, zero)


# --- Gamma-Gamma ------------------------------------------------------------------------------


def _gg_ll(p, q, v, s: _Sample) -> np.ndarray:
    """log f(m_x | p, q, v, x), Fader & Hardie 2013: the density of the mean spend."""
    pu = p * s.counts
    per_x = special.gammaln(pu + q) - special.gammaln(pu) + pu * np.log(s.counts)
    px = p * s.x
    return (
        per_x[s.at] - special.gammaln(q) + q * math.log(v) + (px - 1) * s.age
        - (px + q) * np.log(v + s.x * s.t_x)
    )  # fmt: skip


def _gg_params(fit: GammaGammaFit | tuple) -> tuple[float, float, float]:
    params = (fit.p, fit.q, fit.v) if isinstance(fit, GammaGammaFit) else tuple(map(float, fit))
    if len(params) != 3 or not all(math.isfinite(v) and v > 0 for v in params):
        raise ValueError(f"Gamma-Gamma parameters (p, q, v) must be finite and > 0, got {params}")
    return params


def _repeaters(frequency: object, monetary_value: object) -> tuple[np.ndarray, np.ndarray]:
    x, m = _spends(frequency, monetary_value)
    if (x == 0).any():
        raise ValueError(
            f"Gamma-Gamma uses customers with repeat purchases only: {int((x == 0).sum())} "
            "have frequency 0; pass frequency[frequency > 0] and the matching monetary_value"
        )
    return x, m


def _gg_sample(x: np.ndarray, m: np.ndarray) -> _Sample:
    return _sample(x, m, np.log(m))


def gamma_gamma_log_likelihood(
    fit: GammaGammaFit | tuple[float, float, float], frequency: object, monetary_value: object
) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood at ``fit`` (a fit or (p, q, v))."""
    p, q, v = _gg_params(fit)
    return _gg_ll(p, q, v, _gg_sample(*_repeaters(frequency, monetary_value)))


def _gg_objective(log_params: np.ndarray, s: _Sample) -> tuple[float, np.ndarray]:
    p, q, v = np.exp(log_params)
    x, m, log_m, u = s.x, s.t_x, s.age, s.counts
    pu, log_vxm = p * u, np.log(v + x * m)
    common = special.digamma(pu + q)
    d_p = s.weight @ (u * (common - special.digamma(pu) + np.log(u)))
    d_p += np.mean(x * (log_m - log_vxm))
    d_q = s.weight @ common - special.digamma(q) + math.log(v) - log_vxm.mean()
    d_v = q / v - np.mean((p * x + q) / (v + x * m))
    grad = np.array([d_p * p, d_q * q, d_v * v])
    return -float(_gg_ll(p, q, v, s).mean()), -grad


def fit_gamma_gamma(frequency: object, monetary_value: object) -> GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma fit on customers with repeat purchases (frequency > 0).

    ``monetary_value`` is each customer's mean repeat-purchase value. Starts from p = 1, q = 2
    and v = the mean of ``monetary_value``, which makes the model's mean spend the sample mean.
    """
    x, m = _repeaters(frequency, monetary_value)
    if x.size == 0:
        raise ValueError("cannot fit Gamma-Gamma: no customers given")
    sample = _gg_sample(x, m)
    start = np.log([1.0, 2.0, float(m.mean())])
    result = _minimize(_gg_objective, start, (sample,))
    p, q, v = np.exp(result.x).tolist()
    ll = float(_gg_ll(p, q, v, sample).sum())
    return GammaGammaFit(p=p, q=q, v=v, log_likelihood=ll, n=int(x.size))


def conditional_expected_average_profit(
    fit: GammaGammaFit, frequency: object, monetary_value: object
) -> np.ndarray:
    """Expected spend per transaction given x repeat purchases of mean value m_x.

    E[M | x, m_x] = (q - 1)/(px + q - 1) * pv/(q - 1) + px/(px + q - 1) * m_x: a weighted mean
    of the population mean ``pv / (q - 1)`` and the customer's own mean, the weight growing
    with the customer's repeat purchases; frequency 0 gets the population mean (its
    ``monetary_value`` is ignored). Needs q > 1.
    """
    p, q, v = _gg_params(fit)
    if q <= 1:
        raise ValueError(f"Gamma-Gamma q must exceed 1 for a finite mean spend, got {q}")
    x, m = _spends(frequency, monetary_value)
    px = p * x
    return (v + x * m) * p / (px + q - 1)


# --- lifetime value ---------------------------------------------------------------------------


def clv(
    bgnbd: BgNbdFit,
    gg: GammaGammaFit,
    frequency: object,
    recency: object,
    T: object,
    monetary_value: object,
    months: int = 12,
    discount_rate_monthly: float = 0.01,
    time_unit_days: float = 7,
) -> np.ndarray:
    """Discounted expected spend of each customer over the next ``months`` months.

    CLV = sum over m = 1..months of E[spend per transaction] * (E[purchases by month m] -
    E[purchases by month m-1]) / (1 + discount_rate_monthly)^m, with the BG/NBD expectations
    of :func:`expected_purchases` and the Gamma-Gamma one of
    :func:`conditional_expected_average_profit`. A month is ``DAYS_PER_MONTH`` days; the data
    (and ``bgnbd``) are in units of ``time_unit_days`` days (7: weeks). The result is in the
    currency unit of ``monetary_value`` (and ``gg``); multiply by a margin for profit.
    """
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)) or months < 1:
        raise ValueError(f"months must be an integer >= 1, got {months!r}")
    if not (isinstance(discount_rate_monthly, (int, float)) and 0 <= discount_rate_monthly < 1):
        raise ValueError(f"discount_rate_monthly must be in [0, 1), got {discount_rate_monthly!r}")
    if not (isinstance(time_unit_days, (int, float)) and 0 < time_unit_days < math.inf):
        raise ValueError(f"time_unit_days must be a number > 0, got {time_unit_days!r}")
    r, alpha, a, b = _bgnbd_params(bgnbd)
    x, t_x, age = _histories(frequency, recency, T)
    spend = conditional_expected_average_profit(gg, x, monetary_value)
    steps = np.arange(months + 1, dtype=np.float64)[:, np.newaxis] * (
        DAYS_PER_MONTH / time_unit_days
    )
    cumulative = _purchases(steps, r, alpha, a, b, x, t_x, age)  # (months + 1, customers)
    per_month = np.maximum(np.diff(cumulative, axis=0), 0.0)
    discount = (1.0 + discount_rate_monthly) ** -np.arange(1, months + 1, dtype=np.float64)
    return spend * (discount @ per_month)
