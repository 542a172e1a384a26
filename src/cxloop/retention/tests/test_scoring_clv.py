"""The overflow-free BG/NBD form agrees with insights.clv and stays finite where it is not."""

from __future__ import annotations

import numpy as np
import pytest

from cxloop.insights import clv
from cxloop.retention import clv_stable

X = np.array([0.0, 1, 2, 5, 20])
T_X = np.array([0.0, 10, 20, 30, 50])
AGE = np.array([20.0, 30, 40, 50, 52])
M = np.array([0.0, 9_000, 12_000, 30_000, 50_000])
GG = clv.GammaGammaFit(p=6.25, q=3.74, v=15.44, log_likelihood=0, n=1)


@pytest.mark.parametrize(
    "params", [(0.243, 4.414, 0.793, 2.426), (1.2, 9.6, 0.3, 4.0), (0.7, 3.0, 2.5, 40.0)]
)
def test_same_values_as_the_insights_module(params):
    fit = clv.BgNbdFit(*params, log_likelihood=0, n=1)
    expected = clv.expected_purchases(13, fit, X, T_X, AGE)
    np.testing.assert_allclose(clv_stable.expected_purchases(13, fit, X, T_X, AGE), expected,
                               rtol=1e-8)  # fmt: skip
    value = clv.clv(fit, GG, X, T_X, AGE, M, 12, 0.01)
    np.testing.assert_allclose(
        clv_stable.lifetime_value(fit, GG, X, T_X, AGE, M, 12, 0.01), value, rtol=1e-8
    )


def test_finite_where_the_transformed_form_overflows():
    fit = clv.BgNbdFit(0.65, 3.2, 94_817.3, 10_104_432.7, log_likelihood=0, n=1)  # the demo's
    with np.errstate(invalid="ignore", over="ignore"):
        assert not np.isfinite(clv.expected_purchases(13, fit, X, T_X, AGE)).any()
    stable = clv_stable.expected_purchases(13, fit, X, T_X, AGE)
    assert np.isfinite(stable).all() and (np.diff(stable) > 0).all()
    # Drop-out after a purchase is rare (a / (a + b) ~ 0.9 %): alive customers buy at the NBD
    # rate (r + x) / (alpha + T), so E ~ P(alive) (r + x) t / (alpha + T), a little less.
    nbd = clv.p_alive(fit, X, T_X, AGE) * (fit.r + X) * 13 / (fit.alpha + AGE)
    assert ((stable <= nbd) & (stable >= 0.97 * nbd)).all()
    assert np.isfinite(clv_stable.lifetime_value(fit, GG, X, T_X, AGE, M, 12, 0.01)).all()
