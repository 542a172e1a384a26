"""Tests for cxloop.insights.clv: BG/NBD and Gamma-Gamma, checked against the published CDNOW fits.

The fixture ``fixtures/cdnow_summary.csv`` is the CDNOW sample of Fader, Hardie & Lee (2005):
2,357 customers of the first-quarter 1997 cohort, calibration period 39 weeks (time in weeks),
``monetary_value`` the mean repeat-purchase value in dollars.
"""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxloop.insights import clv
from cxloop.insights.bgnbd_purchases import purchases_if_alive
from cxloop.insights.clv import (
    BgNbdFit,
    GammaGammaFit,
    bgnbd_log_likelihood,
    conditional_expected_average_profit,
    expected_purchases,
    expected_purchases_new,
    fit_bgnbd,
    fit_gamma_gamma,
    gamma_gamma_log_likelihood,
    p_alive,
)
from cxloop.insights.tests import bgnbd_oracle

FIXTURE = Path(__file__).parent / "fixtures" / "cdnow_summary.csv"
PUBLISHED_BGNBD = BgNbdFit(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=-9582.4, n=2357)
PUBLISHED_GG = GammaGammaFit(p=6.25, q=3.74, v=15.44, log_likelihood=math.nan, n=946)
approx = pytest.approx


@pytest.fixture(scope="module")
def cdnow() -> dict[str, np.ndarray]:
    with FIXTURE.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = ("frequency", "recency", "T", "monetary_value")
    return {name: np.array([float(row[name]) for row in rows]) for name in columns}


@pytest.fixture(scope="module")
def cdnow_fit(cdnow) -> BgNbdFit:
    return fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"])


@pytest.fixture(scope="module")
def cdnow_gg(cdnow) -> GammaGammaFit:
    repeat = cdnow["frequency"] > 0
    return fit_gamma_gamma(cdnow["frequency"][repeat], cdnow["monetary_value"][repeat])


def test_importing_clv_and_rfm_does_not_import_django():
    src = Path(clv.__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
    }
    code = (
        "import cxloop.insights.clv, cxloop.insights.rfm, sys; "
        "assert 'django' not in sys.modules, 'django'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


# --- the CDNOW reproduction -------------------------------------------------------------------


def test_fixture_is_the_published_cdnow_sample(cdnow):
    assert cdnow["frequency"].size == 2357
    assert int((cdnow["frequency"] > 0).sum()) == 946  # the Gamma-Gamma sample
    assert cdnow["frequency"].sum() == 2457  # repeat purchases in the 39-week calibration


@pytest.mark.parametrize("name", ["r", "alpha", "a", "b"])
def test_bgnbd_fit_reproduces_fader_hardie_lee_2005(cdnow_fit, name):
    published = getattr(PUBLISHED_BGNBD, name)
    assert getattr(cdnow_fit, name) == approx(published, rel=0.005)


def test_bgnbd_fit_log_likelihood_matches_the_paper(cdnow_fit):
    assert cdnow_fit.log_likelihood == approx(-9582.4, abs=0.1)
    assert cdnow_fit.n == 2357


def test_bgnbd_log_likelihood_at_the_published_estimates(cdnow, cdnow_fit):
    published = (0.243, 4.414, 0.793, 2.426)
    ll = bgnbd_log_likelihood(published, cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert ll.shape == (2357,)
    assert ll.sum() == approx(-9582.4, abs=0.1)
    assert ll.sum() <= cdnow_fit.log_likelihood  # the fit is the maximum


@pytest.mark.parametrize("name", ["p", "q", "v"])
def test_gamma_gamma_fit_reproduces_fader_hardie_2013(cdnow_gg, name):
    assert getattr(cdnow_gg, name) == approx(getattr(PUBLISHED_GG, name), rel=0.005)
    assert cdnow_gg.n == 946


def test_gamma_gamma_fit_is_the_maximum(cdnow, cdnow_gg):
    repeat = cdnow["frequency"] > 0
    x, m = cdnow["frequency"][repeat], cdnow["monetary_value"][repeat]
    assert gamma_gamma_log_likelihood(cdnow_gg, x, m).sum() == approx(cdnow_gg.log_likelihood)
    for p, q, v in [(6.25, 3.74, 15.44), (6.0, 3.74, 15.44), (6.25, 3.9, 15.44)]:
        assert gamma_gamma_log_likelihood((p, q, v), x, m).sum() <= cdnow_gg.log_likelihood


def test_paper_example_customer(cdnow_fit):
    # FHL 2005 §5: x = 2, t_x = 30.43, T = 38.86 expects 1.226 purchases in the next 39 weeks.
    assert expected_purchases(39, cdnow_fit, [2], [30.43], [38.86])[0] == approx(1.226, abs=5e-4)
    # P(alive) = 1 / (1 + a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x)) at the published values:
    # 0.793/3.426 * (43.274/34.844)^2.243 = 0.376314 -> 1 / 1.376314 = 0.726579
    alive = p_alive((0.243, 4.414, 0.793, 2.426), [2], [30.43], [38.86])[0]
    assert alive == approx(0.726579, abs=1e-6)


def test_conditional_expected_average_profit_hand_computed():
    # (v + x m) p / (p x + q - 1) = (15.44 + 2 * 22.35) * 6.25 / (12.5 + 2.74) = 24.663714;
    # frequency 0: the population mean p v / (q - 1) = 96.5 / 2.74 = 35.218978 (m is ignored).
    spend = conditional_expected_average_profit(PUBLISHED_GG, [2, 0], [22.35, 99.0])
    assert spend == approx([24.663714, 35.218978], abs=1e-6)


def test_scaling_the_units_scales_only_alpha_and_v(cdnow, cdnow_fit, cdnow_gg):
    days = fit_bgnbd(cdnow["frequency"], cdnow["recency"] * 7, cdnow["T"] * 7)
    assert (days.r, days.a, days.b) == approx((cdnow_fit.r, cdnow_fit.a, cdnow_fit.b), rel=1e-4)
    assert days.alpha == approx(cdnow_fit.alpha * 7, rel=1e-4)
    repeat = cdnow["frequency"] > 0
    fen = fit_gamma_gamma(cdnow["frequency"][repeat], cdnow["monetary_value"][repeat] * 100)
    assert (fen.p, fen.q) == approx((cdnow_gg.p, cdnow_gg.q), rel=1e-4)
    assert fen.v == approx(cdnow_gg.v * 100, rel=1e-4)


def test_fit_results_as_dict(cdnow_fit):
    assert set(cdnow_fit.as_dict()) == {"r", "alpha", "a", "b", "log_likelihood", "n"}
    assert set(PUBLISHED_GG.as_dict()) == {"p", "q", "v", "log_likelihood", "n"}


# --- the model against a simulation -----------------------------------------------------------

TRUE = BgNbdFit(r=0.5, alpha=5.0, a=0.8, b=2.5, log_likelihood=math.nan, n=0)


def simulate_bgnbd(n: int, horizon: float, seed: int) -> dict[str, np.ndarray]:
    """BG/NBD customers born at 0, observed to T ~ U(26, 52), then for ``horizon`` more."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(TRUE.r, 1 / TRUE.alpha, n)
    drop = rng.beta(TRUE.a, TRUE.b, n)
    age = rng.uniform(26, 52, n)
    x, t_x, future = np.zeros(n), np.zeros(n), np.zeros(n)
    alive_at_t = np.ones(n, dtype=bool)
    now = np.zeros(n)
    live = np.arange(n)
    while live.size:
        now[live] += rng.exponential(1 / lam[live])
        live = live[now[live] <= age[live] + horizon]
        past = now[live] <= age[live]
        x[live[past]] += 1
        t_x[live[past]] = now[live[past]]
        future[live[~past]] += 1
        dropped = rng.random(live.size) < drop[live]  # drop-out right after a purchase
        alive_at_t[live[dropped & past]] = False
        live = live[~dropped]
    return {"x": x, "t_x": t_x, "T": age, "future": future, "alive": alive_at_t}


@pytest.fixture(scope="module")
def simulated() -> dict[str, np.ndarray]:
    return simulate_bgnbd(20_000, horizon=39, seed=20240601)


def test_fit_on_simulated_data_beats_the_true_parameters(simulated):
    x, t_x, age = simulated["x"], simulated["t_x"], simulated["T"]
    fit = fit_bgnbd(x, t_x, age)
    true_ll = bgnbd_log_likelihood(TRUE, x, t_x, age).sum()
    assert fit.log_likelihood >= true_ll  # the maximum is at least as likely as the truth
    assert fit.log_likelihood - true_ll < 10  # ... and near it: 4 parameters, chi2(4) / 2
    assert (fit.r, fit.alpha) == approx((TRUE.r, TRUE.alpha), rel=0.15)


def test_p_alive_is_calibrated_on_simulated_data(simulated):
    alive = p_alive(TRUE, simulated["x"], simulated["t_x"], simulated["T"])
    assert alive.mean() == approx(simulated["alive"].mean(), abs=0.01)
    repeat = simulated["x"] > 0
    assert alive[repeat].mean() == approx(simulated["alive"][repeat].mean(), abs=0.015)


def test_expected_purchases_forecast_the_simulated_holdout(simulated):
    forecast = expected_purchases(39, TRUE, simulated["x"], simulated["t_x"], simulated["T"])
    assert forecast.sum() == approx(simulated["future"].sum(), rel=0.05)
    busy = simulated["x"] >= 5  # the conditional part: frequent buyers buy more
    assert forecast[busy].sum() == approx(simulated["future"][busy].sum(), rel=0.08)


def test_expected_purchases_new_matches_simulated_newcomers():
    sim = simulate_bgnbd(20_000, horizon=0, seed=7)
    # Each simulated customer is a newcomer observed for T: E[X(T)] averaged over their T.
    assert expected_purchases_new(sim["T"], TRUE).mean() == approx(sim["x"].mean(), rel=0.05)


# --- properties -------------------------------------------------------------------------------


def test_p_alive_is_one_without_repeat_purchases(cdnow_fit):
    assert p_alive(cdnow_fit, [0, 0], [0, 0], [10.0, 300.0]).tolist() == [1.0, 1.0]


def test_expected_purchases_new_starts_at_zero_and_grows(cdnow_fit):
    values = expected_purchases_new(np.array([0, 1, 13, 39, 78, 520]), cdnow_fit)
    assert values[0] == 0.0
    assert np.all(np.diff(values) > 0)


def test_p_alive_falls_with_time_since_the_last_purchase(cdnow_fit):
    alive = p_alive(cdnow_fit, [3, 3, 3], [10, 10, 10], [12.0, 30.0, 60.0])
    assert alive[0] > alive[1] > alive[2]


histories = st.integers(0, 500).flatmap(
    lambda x: st.tuples(
        st.just(float(x)),
        st.floats(0.01, 1.0),  # recency as a share of T
        st.floats(0.1, 400.0),
    )
)
params = st.tuples(
    st.floats(0.05, 5.0), st.floats(0.1, 50.0), st.floats(0.1, 5.0), st.floats(0.1, 10.0)
)


def _arrays(rows):
    x = np.array([row[0] for row in rows])
    age = np.array([row[2] for row in rows])
    t_x = np.where(x > 0, np.array([row[1] for row in rows]) * age, 0.0)
    return x, t_x, age


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(histories, min_size=1, max_size=20), params, st.floats(0.0, 200.0))
def test_model_outputs_are_valid_everywhere(rows, fit, t):
    x, t_x, age = _arrays(rows)
    alive = p_alive(fit, x, t_x, age)
    assert np.all((alive >= 0) & (alive <= 1))
    now = expected_purchases(t, fit, x, t_x, age)
    later = expected_purchases(t + 10.0, fit, x, t_x, age)
    assert np.all(np.isfinite(now)) and np.all(now >= 0)
    assert np.all(later >= now - 1e-9 * (1 + now))  # monotone in t


@settings(max_examples=100, deadline=None)
@given(
    st.lists(histories, min_size=1, max_size=20),
    params,
    st.tuples(st.floats(0.5, 20.0), st.floats(1.1, 20.0), st.floats(0.1, 1e5)),
    st.floats(0.0, 0.5),
    st.integers(1, 36),
)
def test_clv_is_finite_and_non_negative(rows, fit, gg, rate, months):
    x, t_x, age = _arrays(rows)
    spend = np.linspace(1.0, 500.0, x.size)
    values = clv.clv(
        BgNbdFit(*fit, 0.0, 0), GammaGammaFit(*gg, 0.0, 0), x, t_x, age, spend,
        months=months, discount_rate_monthly=rate,
    )  # fmt: skip
    assert np.all(np.isfinite(values)) and np.all(values >= 0)


# --- accuracy against an independent reference ---------------------------------------------

# (r, alpha, a, b): the fits where one evaluation or another of eq. (10) used to fail.
REFERENCE_FITS = {
    "cdnow": (0.243, 4.414, 0.793, 2.426),
    "a = 1": (0.5, 5.0, 1.0, 2.0),
    "a near 1": (0.5, 5.0, 1.0003, 2.0),
    "r - a integer": (1.0, 0.1, 5.0, 0.1),
    "c = 0 at x = 0": (0.5, 5.0, 0.5, 0.5),
    "tiny": (0.05, 0.1, 0.1, 0.1),
    "large b": (0.3, 1.0, 0.8, 500.0),
    "huge b": (1.2, 30.0, 3.0, 1e4),
    "huge a and b (demo)": (0.65, 3.2, 94817.3, 10104432.7),
    "large a, small b": (0.5, 2.0, 300.0, 0.5),
}
FREQUENCIES = [0, 1, 2, 5, 20, 60, 150, 300, 500]


def _reference_grid(ages, horizons):
    x, age, t = (a.ravel() for a in np.meshgrid(FREQUENCIES, ages, horizons, indexing="ij"))
    return x.astype(float), np.where(x > 0, age / 2, 0.0), age.astype(float), t.astype(float)


def _check_against_oracle(fit, x, t_x, age, t):
    got = np.concatenate([
        expected_purchases(step, BgNbdFit(*fit, 0.0, 0), x[t == step], t_x[t == step],
                           age[t == step])
        for step in np.unique(t)
    ])  # fmt: skip
    order = np.concatenate([np.flatnonzero(t == step) for step in np.unique(t)])
    want = [bgnbd_oracle.expected_purchases(fit, *row) for row in zip(x, t_x, age, t, strict=True)]
    np.testing.assert_allclose(got, np.array(want)[order], rtol=1e-8, atol=0)


@pytest.mark.parametrize("fit", REFERENCE_FITS.values(), ids=REFERENCE_FITS.keys())
def test_expected_purchases_match_the_reference_in_weeks(fit):
    _check_against_oracle(fit, *_reference_grid([0.1, 2.0, 30.0, 200.0, 520.0], [1, 13, 52]))


def test_expected_purchases_match_the_reference_in_days():
    fit = (0.243, 4.414 * 7, 0.793, 2.426)  # CDNOW's fit in days
    _check_against_oracle(fit, *_reference_grid([1.0, 30.0, 365.0, 3650.0], [30, 91, 365]))


# FHL eq. (10) without P(alive), evaluated with mpmath at 40 digits (hyp2f1 of the plain form,
# or quadrature over the drop-out Beta for the demo's a and b).
MPMATH_VALUES = [
    ((0.243, 4.414, 0.793, 2.426, 300, 0.1, 365), 2168.8925051933150265),
    ((0.243, 4.414, 0.793, 2.426, 2, 38.86, 39), 1.6873993058053130407),
    ((1.0, 0.1, 5.0, 0.1, 100, 0.1, 10), 26.02499565642151234),
    ((0.5, 5.0, 1.5, 2.0, 500, 1, 210), 837.17450883640730915),
    ((0.05, 0.1, 0.1, 0.1, 0, 1, 52), 1.0009911599180220099),
    ((2.0, 0.5, 0.3, 8.0, 60, 0.1, 365), 7982.9792157208251589),
    ((0.5, 5.0, 1.0, 2.0, 30, 10, 13), 19.263852737406687579),
    ((0.65, 3.2, 94817.3, 10104432.7, 20, 52, 13), 4.7498464341650833988),
    ((0.65, 3.2, 94817.3, 10104432.7, 300, 0.1, 365), 107.57168334980376734),
]


@pytest.mark.parametrize(("case", "value"), MPMATH_VALUES)
def test_purchases_if_alive_match_mpmath(case, value):
    r, alpha, a, b, x, age, t = case
    assert purchases_if_alive(t, r, alpha, a, b, x, age) == approx(value, rel=1e-10)
    assert bgnbd_oracle.purchases_if_alive(*case) == approx(value, rel=1e-11)


def test_mpmath_agrees_with_the_reference_values():
    mp = pytest.importorskip("mpmath")  # not a dependency: runs where it is installed
    mp.mp.dps = 40
    for case, value in MPMATH_VALUES[:6]:
        r, alpha, a, b, x, age, t = map(mp.mpf, case)
        n, beta, c, z = r + x, b + x, a + b + x - 1, t / (alpha + age + t)
        exact = c / (a - 1) * (1 - (1 - z) ** n * mp.hyp2f1(n, beta, c, z))
        assert float(exact) == approx(value, rel=1e-15)


def test_the_demo_fit_gives_finite_values_that_rise_with_frequency():
    fit = BgNbdFit(0.65, 3.2, 94817.3, 10104432.7, 0.0, 0)  # almost nobody drops out
    x = np.array([0.0, 1, 2, 5, 20, 60, 150, 300, 500])
    age = np.full(x.size, 52.0)
    t_x = np.where(x > 0, age, 0.0)  # each just bought: all but surely active
    expected = expected_purchases(13, fit, x, t_x, age)
    assert np.isfinite(expected).all() and (np.diff(expected) > 0).all()
    values = clv.clv(fit, PUBLISHED_GG, x, t_x, age, np.full(x.size, 30.0))
    assert np.isfinite(values).all() and (np.diff(values) > 0).all()
    # Drop-out after a purchase is rare (a / (a + b) ~ 0.9 %): with few purchases ahead, active
    # customers buy at the NBD rate (r + x) / (alpha + T), so E ~ P(alive) (r + x) t /
    # (alpha + T), a little less.
    x, t_x, age = x[:5], np.array([0.0, 10, 20, 30, 50]), np.array([20.0, 30, 40, 50, 52])
    expected = expected_purchases(13, fit, x, t_x, age)
    nbd = p_alive(fit, x, t_x, age) * (fit.r + x) * 13 / (fit.alpha + age)
    assert ((expected <= nbd) & (expected >= 0.97 * nbd)).all()


# --- clv --------------------------------------------------------------------------------------


def test_clv_is_discounted_monthly_spend(cdnow_fit, cdnow_gg):
    x, t_x, age, m = [2.0, 0.0], [30.43, 0.0], [38.86, 38.86], [22.35, 0.0]
    spend = conditional_expected_average_profit(cdnow_gg, x, m)
    month = clv.DAYS_PER_MONTH / 7  # weeks
    one = expected_purchases(month, cdnow_fit, x, t_x, age)
    two = expected_purchases(2 * month, cdnow_fit, x, t_x, age)
    plain = clv.clv(cdnow_fit, cdnow_gg, x, t_x, age, m, months=2, discount_rate_monthly=0)
    assert plain == approx(spend * two)
    discounted = clv.clv(cdnow_fit, cdnow_gg, x, t_x, age, m, months=2, discount_rate_monthly=0.1)
    assert discounted == approx(spend * (one / 1.1 + (two - one) / 1.1**2))


def test_clv_time_unit_days(cdnow, cdnow_gg):
    # The same customers measured in days, with a model fitted in days, give the same CLV.
    x, t_x, age, m = (cdnow[k][:50] for k in ("frequency", "recency", "T", "monetary_value"))
    weeks = fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    days = fit_bgnbd(cdnow["frequency"], cdnow["recency"] * 7, cdnow["T"] * 7)
    by_week = clv.clv(weeks, cdnow_gg, x, t_x, age, m)
    by_day = clv.clv(days, cdnow_gg, x, t_x * 7, age * 7, m, time_unit_days=1)
    assert by_day == approx(by_week, rel=1e-3)


def test_clv_of_the_cdnow_cohort(cdnow, cdnow_fit, cdnow_gg):
    values = clv.clv(
        cdnow_fit, cdnow_gg, cdnow["frequency"], cdnow["recency"], cdnow["T"],
        cdnow["monetary_value"],
    )  # fmt: skip
    assert values.shape == (2357,)
    assert np.all(values >= 0)
    never = cdnow["frequency"] == 0
    assert values[~never].mean() > values[never].mean()  # repeat buyers are worth more


def test_empty_customers_give_empty_results(cdnow_fit, cdnow_gg):
    assert p_alive(cdnow_fit, [], [], []).shape == (0,)
    assert expected_purchases(10, cdnow_fit, [], [], []).shape == (0,)
    assert clv.clv(cdnow_fit, cdnow_gg, [], [], [], []).shape == (0,)


# --- invalid input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "message"),
    [
        ([-1], [0], [5], "frequency must be finite and >= 0"),
        ([1.5], [2], [5], "not whole"),
        ([1], [-2], [5], "recency must be finite and >= 0"),
        ([1], [6], [5], "recency must not exceed T"),
        ([1], [0], [5], "frequency > 0 needs recency > 0"),
        ([0], [2], [5], "frequency 0 needs recency 0"),
        ([1], [2], [math.nan], "T must be finite"),
        ([1], [2], [math.inf], "T must be finite"),
        ([1, 2], [2], [5], "same length"),
        ([[1]], [[2]], [[5]], "one-dimensional"),
        (["a"], [2], [5], "frequency must be numbers"),
    ],
)
def test_invalid_histories_raise(cdnow_fit, frequency, recency, T, message):
    with pytest.raises(ValueError, match=message):
        p_alive(cdnow_fit, frequency, recency, T)
    with pytest.raises(ValueError, match=message):
        fit_bgnbd(frequency, recency, T)


def test_fit_bgnbd_needs_repeat_purchases():
    with pytest.raises(ValueError, match="no customer has a repeat purchase"):
        fit_bgnbd([0, 0], [0, 0], [5, 6])
    with pytest.raises(ValueError, match="no customer has a repeat purchase"):
        fit_bgnbd([], [], [])


def test_gamma_gamma_input_errors(cdnow_gg):
    with pytest.raises(ValueError, match="have frequency 0"):
        fit_gamma_gamma([0, 2], [0.0, 10.0])
    with pytest.raises(ValueError, match="monetary_value must be > 0"):
        fit_gamma_gamma([1, 2], [0.0, 10.0])
    with pytest.raises(ValueError, match="monetary_value must be finite and >= 0"):
        conditional_expected_average_profit(cdnow_gg, [1], [-3.0])
    with pytest.raises(ValueError, match="no customers"):
        fit_gamma_gamma([], [])
    with pytest.raises(ValueError, match="q must exceed 1"):
        conditional_expected_average_profit((6.0, 0.9, 15.0), [1], [3.0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"months": 0}, "months must be an integer >= 1"),
        ({"months": 1.5}, "months must be an integer >= 1"),
        ({"months": True}, "months must be an integer >= 1"),
        ({"discount_rate_monthly": -0.1}, "discount_rate_monthly must be in"),
        ({"discount_rate_monthly": 1.0}, "discount_rate_monthly must be in"),
        ({"time_unit_days": 0}, "time_unit_days must be a number > 0"),
    ],
)
def test_clv_parameter_errors(cdnow_fit, cdnow_gg, kwargs, message):
    with pytest.raises(ValueError, match=message):
        clv.clv(cdnow_fit, cdnow_gg, [1], [2], [5], [10.0], **kwargs)


def test_bad_model_parameters_and_periods(cdnow_fit):
    with pytest.raises(ValueError, match="BG/NBD parameters must be finite and > 0"):
        p_alive((0.2, -1.0, 0.8, 2.4), [1], [2], [5])
    with pytest.raises(ValueError, match=r"BG/NBD parameters are \(r, alpha, a, b\)"):
        p_alive((0.2, 4.0, 0.8), [1], [2], [5])
    with pytest.raises(ValueError, match="Gamma-Gamma parameters"):
        conditional_expected_average_profit((6.0, 3.0), [1], [3.0])
    with pytest.raises(ValueError, match="t must be finite and >= 0"):
        expected_purchases(-1, cdnow_fit, [1], [2], [5])
    with pytest.raises(ValueError, match="t must be finite and >= 0"):
        expected_purchases_new(math.nan, cdnow_fit)
