"""Tests for cxloop.insights.abtest: known results (SciPy, Newcombe, G*Power) and the verdict."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from cxloop.insights.abtest import (
    A_BETTER,
    B_BETTER,
    NO_DIFFERENCE,
    TOO_SMALL,
    MeanSummary,
    compare_means,
    compare_proportions,
    required_sample_size,
)

# --- proportions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x_a", "n_a", "x_b", "n_b", "low", "high"),
    [  # Newcombe (1998), Statistics in Medicine 17:873-890, table II, method 10 (B - A)
        (48, 80, 56, 70, 0.0524, 0.3339),
        (3, 10, 9, 10, 0.1705, 0.8090),
        (0, 29, 5, 56, -0.0381, 0.1926),
        (0, 20, 0, 10, -0.1611, 0.2775),
    ],
)
def test_newcombe_published_intervals(x_a, n_a, x_b, n_b, low, high):
    result = compare_proportions(x_a, n_a, x_b, n_b, min_n=1, min_events=0)
    assert result.difference == pytest.approx(x_b / n_b - x_a / n_a)
    assert result.ci_low == pytest.approx(low, abs=6e-5)
    assert result.ci_high == pytest.approx(high, abs=6e-5)


def test_z_test_matches_scipy_chi_square_without_correction():
    result = compare_proportions(420, 1000, 465, 1000)
    table = [[420, 580], [465, 535]]
    chi2 = sps.chi2_contingency(table, correction=False)
    assert result.test == "z"
    assert result.p_value == pytest.approx(chi2.pvalue, rel=1e-9)


def test_small_expected_counts_use_fishers_exact_test():
    result = compare_proportions(1, 40, 8, 40, min_events=0)
    assert result.test == "fisher"
    expected = sps.fisher_exact([[1, 39], [8, 32]]).pvalue
    assert result.p_value == pytest.approx(expected, rel=1e-12)


def test_lift_and_cohens_h():
    result = compare_proportions(500, 1000, 600, 1000)
    assert result.relative_lift == pytest.approx(0.2)
    assert result.cohens_h == pytest.approx(2 * math.asin(math.sqrt(0.6)) - math.pi / 2)
    assert result.cohens_h == pytest.approx(0.2014, abs=1e-4)  # Cohen (1988) table 6.2.1
    assert compare_proportions(0, 100, 10, 100).relative_lift is None


def test_b_better_text_with_the_numbers():
    result = compare_proportions(500, 1000, 562, 1000)
    assert result.verdict == B_BETTER
    low, high = 100 * result.ci_low, 100 * result.ci_high
    assert result.text == (
        f"B is better by 6.2 points (95 % CI {low:.1f}\u2013{high:.1f}, p = {result.p_value:.3f})"
    )
    assert 0 < result.ci_low < 0.062 < result.ci_high


def test_a_better_and_lower_is_better():
    assert compare_proportions(600, 1000, 500, 1000).verdict == A_BETTER
    # Repeat-contact rate: B lower is better.
    result = compare_proportions(200, 1000, 150, 1000, higher_is_better=False)
    assert result.verdict == B_BETTER
    assert result.text.startswith("B is better by 5.0 points")


def test_no_difference_reports_the_interval():
    result = compare_proportions(500, 1000, 510, 1000)
    assert result.verdict == NO_DIFFERENCE
    assert result.text.startswith("No clear difference: B \u2212 A = 1.0 points (95 % CI \u2212")
    assert "p = 0.65" in result.text


def test_too_small_against_a_minimum_effect():
    # 10 points from a 50 % baseline need about 388 per variant (Fleiss, power 0.8).
    result = compare_proportions(60, 120, 75, 115, min_effect=0.10)
    assert result.verdict == TOO_SMALL
    assert result.needed_n == 388
    assert result.text == "Too few cases to call: need about 388 per variant, have 120 and 115"
    enough = compare_proportions(194, 388, 233, 388, min_effect=0.10)
    assert enough.verdict == B_BETTER


def test_too_small_floor_even_for_a_huge_effect():
    result = compare_proportions(1, 10, 9, 10)
    assert result.verdict == TOO_SMALL
    assert result.p_value < 0.01  # significant, still refused
    assert "need about 30 per variant, have 10 and 10" in result.text


def test_too_small_when_there_are_hardly_any_events():
    result = compare_proportions(0, 500, 2, 500)
    assert result.verdict == TOO_SMALL
    assert "5 successes and 5 failures" in result.text and "have 2 and 998" in result.text


def test_no_winner_when_p_and_interval_disagree():
    # Search a band of borderline cases: a winner always has both p < alpha and CI excluding 0.
    for x_b in range(540, 560):
        result = compare_proportions(500, 1000, x_b, 1000)
        if result.verdict == B_BETTER:
            assert result.p_value < 0.05 and result.ci_low > 0
        else:
            assert result.p_value >= 0.05 or result.ci_low <= 0


@pytest.mark.parametrize(
    "args",
    [(11, 10, 1, 10), (-1, 10, 1, 10), (1, 0, 1, 10), (1.5, 10, 1, 10), (True, 10, 1, 10)],
)
def test_bad_counts_are_refused(args):
    with pytest.raises(ValueError):
        compare_proportions(*args)


def test_bad_alpha_is_refused():
    with pytest.raises(ValueError, match="alpha"):
        compare_proportions(1, 10, 2, 10, alpha=1.5)


counts = st.integers(1, 2000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@settings(max_examples=200, deadline=None)
@given(counts, counts)
def test_proportion_invariants(a, b):
    result = compare_proportions(a[0], a[1], b[0], b[1])
    assert -1 <= result.ci_low <= result.difference <= result.ci_high <= 1
    assert 0 <= result.p_value <= 1
    if min(a[1], b[1]) < 30:
        assert result.verdict == TOO_SMALL
    if result.verdict in (A_BETTER, B_BETTER):
        assert result.p_value < 0.05 and not result.ci_low <= 0 <= result.ci_high


# --- sample size ------------------------------------------------------------------------------


@pytest.mark.parametrize(("effect", "n"), [(0.2, 394), (0.5, 64), (0.8, 26)])
def test_sample_size_for_means_matches_gpower(effect, n):
    # G*Power, two-tailed t-test, alpha 0.05, power 0.8: 394, 64, 26 per group.
    assert required_sample_size(effect, sd=1.0) == n
    assert required_sample_size(effect * 12, sd=12.0) == n


def test_sample_size_for_proportions_by_hand():
    z_a, z_b = 1.959963985, 0.841621234
    by_hand = (z_a * math.sqrt(2 * 0.55 * 0.45) + z_b * math.sqrt(0.25 + 0.24)) ** 2 / 0.01
    assert by_hand == pytest.approx(387.34, abs=0.01)
    assert required_sample_size(0.10, baseline=0.5) == 388
    assert required_sample_size(-0.10, baseline=0.6) == 388  # symmetric
    assert required_sample_size(0.05, baseline=0.10, power=0.9) > required_sample_size(
        0.05, baseline=0.10
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"difference": 0.1},
        {"difference": 0.1, "baseline": 0.5, "sd": 1.0},
        {"difference": 0.0, "sd": 1.0},
        {"difference": 0.6, "baseline": 0.5},
        {"difference": 1.0, "sd": -1.0},
        {"difference": 1.0, "sd": 1.0, "power": 1.0},
    ],
)
def test_sample_size_bad_input(kwargs):
    with pytest.raises(ValueError):
        required_sample_size(**kwargs)


# --- means ------------------------------------------------------------------------------------


def sample(mean, sd, n, seed):
    return np.random.default_rng(seed).normal(mean, sd, n)


def test_welch_matches_scipy():
    a, b = sample(300, 60, 80, 1), sample(280, 90, 60, 2)
    result = compare_means(a, b, higher_is_better=False, unit=" s")
    reference = sps.ttest_ind(b, a, equal_var=False)
    assert result.t == pytest.approx(reference.statistic)
    assert result.p_value == pytest.approx(reference.pvalue)
    assert result.df == pytest.approx(reference.df)
    ci = reference.confidence_interval(0.95)
    assert (result.ci_low, result.ci_high) == pytest.approx((ci.low, ci.high))


def test_summary_statistics_give_the_same_answer():
    a, b = sample(5.0, 1.2, 200, 3), sample(5.4, 1.1, 210, 4)
    raw = compare_means(a, b)
    summary = compare_means(
        MeanSummary(a.mean(), a.std(ddof=1), a.size), MeanSummary(b.mean(), b.std(ddof=1), b.size)
    )
    assert summary == raw


def test_cohens_d_and_hedges_g_by_hand():
    a = MeanSummary(10.0, 2.0, 20)
    b = MeanSummary(11.0, 2.0, 20)
    result = compare_means(a, b, min_n=2)
    assert result.cohens_d == pytest.approx(0.5)
    # Hedges' g: the common approximation J = 1 - 3 / (4 df - 1) is within 1e-4 of the exact one.
    assert result.hedges_g == pytest.approx(0.5 * (1 - 3 / (4 * 38 - 1)), abs=1e-4)
    assert result.hedges_g < result.cohens_d


def test_handling_time_lower_is_better_text():
    a, b = MeanSummary(300.0, 60.0, 400), MeanSummary(288.0, 60.0, 400)
    result = compare_means(a, b, higher_is_better=False, unit=" s")
    assert result.verdict == B_BETTER
    assert result.text.startswith("B is better by 12.0 s (95 % CI ")
    assert result.difference == pytest.approx(-12.0)


def test_means_no_difference_and_a_better():
    a, b = MeanSummary(5.0, 1.0, 500), MeanSummary(5.05, 1.0, 500)
    assert compare_means(a, b).verdict == NO_DIFFERENCE
    assert compare_means(MeanSummary(5.5, 1.0, 500), a).verdict == A_BETTER


def test_means_refuse_small_samples_with_the_size_needed():
    a, b = MeanSummary(5.0, 1.0, 20), MeanSummary(6.0, 1.0, 20)
    result = compare_means(a, b)
    assert result.verdict == TOO_SMALL and result.p_value < 0.01
    assert result.text == "Too few cases to call: need about 30 per variant, have 20 and 20"
    needs = compare_means(MeanSummary(5.0, 1.0, 100), MeanSummary(5.3, 1.0, 90), min_effect=0.2)
    assert needs.verdict == TOO_SMALL and needs.needed_n == 394
    assert "need about 394 per variant, have 100 and 90" in needs.text


def test_a_negligible_difference_falls_back_to_the_floor():
    result = compare_means(MeanSummary(0.0, 1.0, 10), MeanSummary(1e-300, 1.0, 10))
    assert result.verdict == TOO_SMALL and result.needed_n == 30
    with pytest.raises(ValueError, match="too small to detect"):
        required_sample_size(1e-300, sd=1.0)


def test_constant_groups():
    same = compare_means([3.0] * 40, [3.0] * 40)
    assert same.p_value == 1.0 and same.verdict == NO_DIFFERENCE
    apart = compare_means([3.0] * 40, [4.0] * 40)
    assert apart.p_value == 0.0 and apart.verdict == B_BETTER


@pytest.mark.parametrize(
    ("a", "b"),
    [([1.0], [1.0, 2.0]), ([1.0, float("nan")], [1.0, 2.0]), ("ab", [1.0, 2.0]), ([], [1.0])],
)
def test_means_bad_input(a, b):
    with pytest.raises(ValueError):
        compare_means(a, b)


@settings(max_examples=100, deadline=None)
@given(
    st.floats(-100, 100), st.floats(0.1, 50), st.integers(2, 500),
    st.floats(-100, 100), st.floats(0.1, 50), st.integers(2, 500),
)  # fmt: skip
def test_mean_invariants(m1, s1, n1, m2, s2, n2):
    result = compare_means(MeanSummary(m1, s1, n1), MeanSummary(m2, s2, n2))
    assert result.ci_low <= result.difference <= result.ci_high
    assert 0 <= result.p_value <= 1
    if min(n1, n2) < 30:
        assert result.verdict == TOO_SMALL
