"""Two proportions: Newcombe's published examples, the verdict and invariants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxloop.insights.uplift import two_proportions, verdict, wilson


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "low", "high"),
    [  # Newcombe (1998), Statistics in Medicine 17:873-890, table II, method 10
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (0, 10, 0, 20, -0.1611, 0.2775),
    ],
)
def test_newcombe_published_intervals(x1, n1, x2, n2, low, high):
    result = two_proportions(x1, n1, x2, n2)
    assert result.difference == pytest.approx(x1 / n1 - x2 / n2)
    assert result.low == pytest.approx(low, abs=6e-5)
    assert result.high == pytest.approx(high, abs=6e-5)


def test_wilson_known_value():
    # 81 of 263 (Wilson 1927 style check, computed by hand): 0.2553 .. 0.3662
    low, high = wilson(81, 263)
    assert low == pytest.approx(0.2553, abs=1e-4)
    assert high == pytest.approx(0.3662, abs=1e-4)


def test_empty_group_has_no_difference():
    result = two_proportions(0, 0, 3, 10)
    assert result.rate_a is None and result.difference is None and result.low is None
    assert verdict(result) == "too_small"


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        two_proportions(11, 10, 1, 10)
    with pytest.raises(ValueError):
        two_proportions(-1, 10, 1, 10)


def test_verdicts():
    assert verdict(two_proportions(60, 100, 30, 100)) == "better"
    assert verdict(two_proportions(30, 100, 60, 100)) == "worse"
    assert verdict(two_proportions(50, 100, 48, 100)) == "no_difference"
    # Big effect but tiny groups: refused.
    assert verdict(two_proportions(9, 10, 1, 10)) == "too_small"
    # Enough customers but hardly any event.
    assert verdict(two_proportions(2, 500, 0, 500)) == "too_small"


counts = st.integers(min_value=1, max_value=400).flatmap(
    lambda n: st.tuples(st.integers(0, n), st.just(n))
)


@given(counts, counts)
def test_interval_contains_difference_and_stays_in_range(a, b):
    result = two_proportions(a[0], a[1], b[0], b[1])
    assert -1.0 <= result.low <= result.difference <= result.high <= 1.0
    swapped = two_proportions(b[0], b[1], a[0], a[1])
    assert swapped.low == pytest.approx(-result.high)
    assert swapped.high == pytest.approx(-result.low)
