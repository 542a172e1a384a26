"""Tests for cxloop.insights.kano: the evaluation table, Better/Worse and the priority order."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxloop.insights import kano
from cxloop.insights.kano import classify, evaluate, evaluate_many, priority_order

# The standard table written out independently of the module (Berger et al. 1993, table 2):
# functional answer down, dysfunctional answer across, 1 like .. 5 dislike.
EXPECTED_TABLE = """
Q A A A O
R I I I M
R I I I M
R I I I M
R R R R Q
"""
CELLS = [
    (f, d, category)
    for f, row in enumerate(EXPECTED_TABLE.split("\n")[1:6], start=1)
    for d, category in enumerate(row.split(), start=1)
]
# One answer pair per category, for building examples.
PAIR = {"A": (1, 3), "O": (1, 5), "M": (2, 5), "I": (3, 3), "R": (5, 1), "Q": (1, 1)}


def pairs_for(**counts: int) -> list[tuple[int, int]]:
    return [PAIR[category] for category, k in counts.items() for _ in range(k)]


def test_importing_kano_does_not_import_django():
    src = Path(kano.__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(src)}
    code = "import cxloop.insights.kano, sys; assert 'django' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


@pytest.mark.parametrize(("functional", "dysfunctional", "category"), CELLS)
def test_all_25_cells_of_the_evaluation_table(functional, dysfunctional, category):
    assert classify(functional, dysfunctional) == category


def test_table_has_25_cells_with_the_known_category_totals():
    counts = {c: sum(1 for *_, k in CELLS if k == c) for c in kano.CATEGORIES}
    assert len(CELLS) == 25
    assert counts == {"A": 3, "O": 1, "M": 3, "I": 9, "R": 7, "Q": 2}


def test_the_textbook_cases():
    assert classify(1, 5) == "O"  # like it present, dislike it absent
    assert classify(1, 4) == "A"  # like it present, can live without
    assert classify(2, 5) == "M"  # expect it, dislike it absent
    assert classify(3, 3) == "I"
    assert classify(5, 1) == "R"
    assert classify(1, 1) == "Q"  # likes it present and absent: contradictory


@pytest.mark.parametrize("bad", [0, 6, 2.5, None, "3", True, float("nan")])
def test_invalid_answers_name_the_value(bad):
    with pytest.raises(ValueError, match="functional answer") as error:
        classify(bad, 3)
    assert repr(bad) in str(error.value)
    with pytest.raises(ValueError, match="dysfunctional answer"):
        classify(3, bad)
    with pytest.raises(ValueError, match=repr(bad).replace("(", r"\(").replace(".", r"\.")):
        evaluate([(1, 5), (3, bad)])


def test_worked_example_counts_category_better_and_worse():
    # 100 respondents: A 10, O 25, M 40, I 20, R 3, Q 2.
    result = evaluate(pairs_for(A=10, O=25, M=40, I=20, R=3, Q=2))
    assert result.counts == {"A": 10, "O": 25, "M": 40, "I": 20, "R": 3, "Q": 2}
    assert result.n == 100
    assert result.category == "M" and result.category_name == "must-be"
    assert result.better == pytest.approx(35 / 95)  # (A + O) / (A + O + M + I) = 0.368
    assert result.worse == pytest.approx(-65 / 95)  # -(O + M) / (A + O + M + I) = -0.684
    assert result.total_strength == pytest.approx(0.75)
    assert result.category_strength == pytest.approx(0.40 - 0.25)


def test_float_answers_and_numpy_arrays_are_accepted():
    arr = np.array([[1.0, 5.0], [2.0, 5.0], [2.0, 5.0]])
    result = evaluate(arr)
    assert result.counts["M"] == 2 and result.counts["O"] == 1 and result.category == "M"


@pytest.mark.parametrize(
    ("counts", "winner"),
    [
        ({"M": 5, "O": 5, "A": 5, "I": 5}, "M"),
        ({"O": 4, "A": 4, "I": 4}, "O"),
        ({"A": 3, "I": 3}, "A"),
        ({"I": 2, "R": 2, "Q": 2}, "I"),
        ({"R": 2, "Q": 2}, "R"),
        ({"M": 1, "I": 6, "A": 5}, "I"),  # a clear majority is not overridden by the rule
    ],
)
def test_ties_follow_m_o_a_i(counts, winner):
    assert evaluate(pairs_for(**counts)).category == winner


def test_only_reverse_and_questionable_leave_the_coefficients_undefined():
    result = evaluate(pairs_for(R=4, Q=1))
    assert result.better is None and result.worse is None
    assert result.category == "R" and result.total_strength == 0


@pytest.mark.parametrize(
    "bad", [[], [(1, 2, 3)], [1, 2], "12", {"a": (1, 2)}, [(1, 2), (3,)]], ids=repr
)
def test_malformed_pairs_are_refused(bad):
    with pytest.raises(ValueError):
        evaluate(bad)


def test_evaluate_many_names_the_bad_feature():
    with pytest.raises(ValueError, match="'delivery'"):
        evaluate_many({"wifi": [(1, 5)], "delivery": [(1, 7)]})
    with pytest.raises(TypeError):
        evaluate_many([(1, 5)])


def test_priority_order_must_be_then_one_dimensional_then_attractive():
    results = evaluate_many(
        {
            "free wifi": pairs_for(A=6, I=4),  # attractive, better 0.6
            "gift wrap": pairs_for(A=5, I=5),  # attractive, better 0.5
            "clean store": pairs_for(M=6, I=4),  # must-be, worse -0.6
            "fast refund": pairs_for(M=8, I=2),  # must-be, worse -0.8
            "price": pairs_for(O=6, I=4),  # one-dimensional
            "music": pairs_for(I=9, A=1),  # indifferent
            "ads": pairs_for(R=5, I=1),  # reverse
        }
    )
    assert priority_order(results) == [
        "fast refund",
        "clean store",
        "price",
        "free wifi",
        "gift wrap",
        "music",
        "ads",
    ]
    assert priority_order({}) == []


@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5)), min_size=1, max_size=60))
def test_invariants(pairs):
    result = evaluate(pairs)
    assert sum(result.counts.values()) == result.n == len(pairs)
    assert result.counts[result.category] == max(result.counts.values())
    if result.better is not None:
        assert 0 <= result.better <= 1 and -1 <= result.worse <= 0
    assert all(result.counts[classify(f, d)] > 0 for f, d in pairs)
