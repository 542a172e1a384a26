"""Tests for cxloop.insights.drivers: relative weights, Shapley regression and IPA quadrants."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxloop.insights.drivers import (
    FIX_FIRST,
    KEEP_UP,
    LOW_PRIORITY,
    POSSIBLE_OVERKILL,
    importance_performance,
    relative_weights,
    shapley,
)

METHODS = [relative_weights, shapley]


def orthogonal_data(n: int, betas: list[float], scales: list[float], seed: int = 1):
    """Predictors with sample correlation exactly 0 and noise exactly orthogonal to them."""
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=(n, len(betas) + 1))
    q, _ = np.linalg.qr(raw - raw.mean(axis=0))  # orthonormal, centred columns
    x = q[:, :-1] * np.sqrt(n) * np.array(scales)
    noise = q[:, -1] * np.sqrt(n) * 2.0
    return x, x @ np.array(betas) + noise + 10


def correlated_data(n: int = 4000, seed: int = 7):
    rng = np.random.default_rng(seed)
    cov = [[1.0, 0.6, 0.3, 0.1], [0.6, 1.0, 0.4, 0.2], [0.3, 0.4, 1.0, 0.5], [0.1, 0.2, 0.5, 1.0]]
    x = rng.multivariate_normal(np.zeros(4), cov, size=n)
    y = x @ np.array([0.5, 0.3, 0.2, 0.4]) + rng.normal(size=n)
    return x, y


@pytest.mark.parametrize("method", METHODS)
def test_uncorrelated_predictors_get_beta_squared_times_variance(method):
    betas, scales = [3.0, -2.0, 1.0], [1.0, 2.0, 0.5]
    x, y = orthogonal_data(500, betas, scales)
    result = method(x, y, names=["speed", "attitude", "price"])
    expected = np.array(betas) ** 2 * np.array(scales) ** 2 / y.var()
    got = [result.raw[name] for name in ("speed", "attitude", "price")]
    assert got == pytest.approx(expected.tolist(), rel=1e-9)
    assert sum(got) == pytest.approx(result.r_squared, rel=1e-12)
    assert result.ranking() == ["attitude", "speed", "price"]  # 16 > 9 > 0.25 (times 1/var y)


@pytest.mark.parametrize("method", METHODS)
def test_known_weights_recovered_from_noisy_independent_data(method):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(20_000, 3))
    y = x @ np.array([3.0, 2.0, 1.0]) + rng.normal(scale=2.0, size=20_000)
    result = method(x, y)
    shares = np.array([result.rescaled[f"x{j}"] for j in (1, 2, 3)])
    assert shares == pytest.approx(100 * np.array([9, 4, 1]) / 14, abs=1.0)
    assert result.r_squared == pytest.approx(14 / 18, abs=0.01)


def test_correlated_predictors_both_methods_agree_and_sum_to_r_squared():
    x, y = correlated_data()
    rw, sh = relative_weights(x, y), shapley(x, y)
    assert rw.r_squared == pytest.approx(sh.r_squared)
    for result in (rw, sh):
        assert sum(result.raw.values()) == pytest.approx(result.r_squared, rel=1e-9)
        assert sum(result.rescaled.values()) == pytest.approx(100)
        assert all(v >= 0 for v in result.raw.values())
    for name in rw.names:
        assert rw.rescaled[name] == pytest.approx(sh.rescaled[name], abs=2.5)  # points of %
    assert rw.ranking() == sh.ranking()
    # A raw correlation would over-credit x2 (correlated with x1): the methods split it.
    assert sh.correlation["x2"] ** 2 > sh.raw["x2"]


def test_two_predictors_hand_checked():
    rng = np.random.default_rng(11)
    a = rng.normal(size=300)
    b = 0.7 * a + rng.normal(size=300)
    y = a + 0.5 * b + rng.normal(size=300)
    r = np.corrcoef([a, b, y])
    r1, r2, r12 = r[0, 2], r[1, 2], r[0, 1]
    r2_full = (r1**2 + r2**2 - 2 * r1 * r2 * r12) / (1 - r12**2)
    result = shapley({"a": a, "b": b}, y)
    # Two orders of entry: a first (gets r1^2) or second (gets R^2 - r2^2); averaged.
    assert result.raw["a"] == pytest.approx(0.5 * (r1**2 + r2_full - r2**2))
    assert result.raw["b"] == pytest.approx(0.5 * (r2**2 + r2_full - r1**2))
    assert result.r_squared == pytest.approx(r2_full)
    assert result.beta["a"] == pytest.approx((r1 - r12 * r2) / (1 - r12**2))


def test_relative_weights_match_an_independent_svd_computation():
    x, y = correlated_data(n=500, seed=5)
    z = (x - x.mean(0)) / x.std(0)
    zy = (y - y.mean()) / y.std()
    u, _, vt = np.linalg.svd(z, full_matrices=False)
    orthogonal = u @ vt * math.sqrt(len(z))  # Johnson's closest orthonormal counterparts
    beta = np.linalg.lstsq(orthogonal, zy, rcond=None)[0]
    lam = np.linalg.lstsq(orthogonal, z, rcond=None)[0]  # the X's regressed on Z
    expected = (lam**2).T @ beta**2
    result = relative_weights(x, y)
    assert [result.raw[f"x{j + 1}"] for j in range(4)] == pytest.approx(expected.tolist())


def test_shapley_matches_brute_force_over_orders():
    x, y = correlated_data(n=300, seed=2)

    def r2(cols):
        if not cols:
            return 0.0
        design = np.column_stack([np.ones(len(y)), x[:, cols]])
        fitted = design @ np.linalg.lstsq(design, y, rcond=None)[0]
        return 1 - ((y - fitted) ** 2).sum() / ((y - y.mean()) ** 2).sum()

    totals = np.zeros(4)
    orders = list(itertools.permutations(range(4)))
    for order in orders:
        for k, j in enumerate(order):
            totals[j] += r2(list(order[: k + 1])) - r2(list(order[:k]))
    result = shapley(x, y)
    assert [result.raw[f"x{j + 1}"] for j in range(4)] == pytest.approx(totals / len(orders))


@pytest.mark.parametrize("method", METHODS)
def test_missing_values_are_dropped_listwise_and_counted(method):
    x, y = correlated_data(n=400)
    clean = method(x, y)
    x_holes, y_holes = x.copy(), y.copy()
    extra = np.full((3, 4), np.nan)
    x_holes = np.vstack([x_holes, extra, [[1, np.nan, 2, 3]]])
    y_holes = np.concatenate([y_holes, [1.0, 2.0, 3.0, 4.0]])
    y_holes[0] = np.nan
    result = method(x_holes, y_holes)
    assert (result.n, result.n_dropped) == (399, 5)
    reference = method(x[1:], y[1:])
    assert result.raw == pytest.approx(reference.raw)
    assert clean.n == 400 and clean.n_dropped == 0


def test_mapping_input_keeps_names_and_order():
    x, y = correlated_data(n=200)
    columns = {"speed": x[:, 0], "resolution": x[:, 1], "attitude": x[:, 2]}
    result = shapley(columns, y)
    assert result.names == ("speed", "resolution", "attitude")
    assert list(result.rescaled) == ["speed", "resolution", "attitude"]


@pytest.mark.parametrize("method", METHODS)
def test_bad_input_gives_clear_errors(method):
    x, y = correlated_data(n=50)
    with pytest.raises(ValueError, match="too few complete rows"):
        method(x[:5], y[:5])
    flat = x.copy()
    flat[:, 2] = 4.0
    with pytest.raises(ValueError, match=r"constant column\(s\) \['x3'\]"):
        method(flat, y)
    with pytest.raises(ValueError, match="constant"):
        method(x, np.full(50, 3.0))
    twin = np.column_stack([x, 2 * x[:, 0] + 1])
    with pytest.raises(ValueError, match="collinear"):
        method(twin, y)
    with pytest.raises(ValueError, match="one value per row"):
        method(x, y[:-1])
    with pytest.raises(ValueError, match="differ in length"):
        method({"a": x[:, 0], "b": x[:-1, 1]}, y)
    with pytest.raises(ValueError, match="names"):
        method(x, y, names=["a", "b"])
    with pytest.raises(ValueError, match="at least one"):
        method({}, y)


def test_shapley_refuses_too_many_predictors():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 16))
    with pytest.raises(ValueError, match="relative_weights"):
        shapley(x, rng.normal(size=100))
    assert len(relative_weights(x, rng.normal(size=100)).raw) == 16


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.1, 100), st.floats(-50, 50))
def test_importance_ignores_units_of_a_predictor(seed, factor, shift):
    x, y = correlated_data(n=120, seed=seed)
    scaled = x.copy()
    scaled[:, 1] = scaled[:, 1] * factor + shift
    for method in METHODS:
        assert method(scaled, y).raw == pytest.approx(method(x, y).raw, rel=1e-6, abs=1e-9)


# --- importance-performance -------------------------------------------------------------------


def test_quadrants_with_mean_splits():
    importance = {"speed": 30.0, "resolution": 40.0, "attitude": 10.0, "decor": 20.0}
    performance = {"speed": 3.1, "resolution": 4.5, "attitude": 4.6, "decor": 3.0}
    result = importance_performance(importance, performance)
    assert result.importance_split == pytest.approx(25.0)
    assert result.performance_split == pytest.approx(3.8)
    assert result.quadrants == {
        "speed": FIX_FIRST,
        "resolution": KEEP_UP,
        "attitude": POSSIBLE_OVERKILL,
        "decor": LOW_PRIORITY,
    }
    assert result.in_quadrant(FIX_FIRST) == ["speed"]
    with pytest.raises(ValueError):
        result.in_quadrant("urgent")


def test_quadrants_with_given_splits_and_ties_counting_high():
    result = importance_performance(
        {"a": 0.2, "b": 0.5}, {"a": 3.0, "b": 2.0}, importance_split=0.5, performance_split=3.0
    )
    assert result.quadrants == {"a": POSSIBLE_OVERKILL, "b": FIX_FIRST}


def test_importance_performance_takes_a_driver_result():
    x, y = correlated_data(n=300)
    drivers = shapley(x, y)
    performance = {"x1": 4.0, "x2": 3.0, "x3": 4.2, "x4": 3.2}
    result = importance_performance(drivers.rescaled, performance)
    assert set(result.quadrants) == set(drivers.names)


def test_importance_performance_bad_input():
    with pytest.raises(ValueError, match="same dimensions"):
        importance_performance({"a": 1.0}, {"b": 2.0})
    with pytest.raises(ValueError, match="finite"):
        importance_performance({"a": float("nan")}, {"a": 2.0})
    with pytest.raises(ValueError, match="at least one"):
        importance_performance({}, {})
    with pytest.raises(TypeError):
        importance_performance([1.0], [2.0])
