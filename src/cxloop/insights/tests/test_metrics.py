"""Tests for cxloop.insights.metrics: plain functions, no Django, no database."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cxloop.insights.metrics as metrics
from cxloop.insights import _stats
from cxloop.insights.metrics import ces, crosstab, csat, csi, nps

Z95 = 1.959963984540054  # NormalDist().inv_cdf(0.975)
approx = pytest.approx


def assert_ci_contains(result) -> None:
    assert result.ci_low <= result.value <= result.ci_high


# --- isolation --------------------------------------------------------------------------------


def test_importing_metrics_does_not_import_django():
    src = Path(metrics.__file__).resolve().parents[2]  # .../src, holding the cxloop package
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
    }
    code = "import cxloop.insights.metrics, sys; assert 'django' not in sys.modules, 'django'"
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


# --- hand-computed cases ----------------------------------------------------------------------


def test_nps_hand_computed():
    # 10, 10, 9, 9, 9 -> 5 promoters; 8, 7 -> 2 passives; 6, 5, 0 -> 3 detractors; n = 10.
    # NPS = 100 * (5 - 3) / 10 = 20.
    # var = (p+ + p- - (p+ - p-)^2) / n = (0.5 + 0.3 - 0.2^2) / 10 = 0.076
    # se = 100 * sqrt(0.076) = 27.568098; half = 1.959964 * 27.568098 = 54.032478
    # CI = 20 -+ 54.032478 = (-34.032478, 74.032478)
    result = nps([10, 10, 9, 9, 9, 8, 7, 6, 5, 0])
    assert (result.promoters, result.passives, result.detractors, result.n) == (5, 2, 3, 10)
    assert result.value == 20.0
    assert result.std_error == approx(27.568098, abs=1e-6)
    assert result.ci_low == approx(-34.032478, abs=1e-6)
    assert result.ci_high == approx(74.032478, abs=1e-6)
    assert result.confidence == 0.95


def test_nps_interval_is_clipped_to_the_scale():
    # 9 promoters, 1 detractor: NPS = 80; var = (0.9 + 0.1 - 0.8^2) / 10 = 0.036
    # se = 100 * sqrt(0.036) = 18.973666; half = 37.187702 -> (42.812298, 117.19) -> high 100.
    result = nps([10] * 9 + [0])
    assert result.value == 80.0
    assert result.ci_low == approx(42.812298, abs=1e-6)
    assert result.ci_high == 100.0


def test_csat_hand_computed_wilson():
    # Scores 5,5,5,4,4,4,4 are top-2 boxes (7 of 10); 3, 2, 1 are not. p = 0.7.
    # mean = (3*5 + 4*4 + 3 + 2 + 1) / 10 = 37 / 10 = 3.7
    # Wilson, z^2/n = 3.841459 / 10 = 0.3841459:
    #   centre = (0.7 + 0.3841459 / 2) / 1.3841459 = 0.8920729 / 1.3841459 = 0.6444929
    #   half = 1.959964 / 1.3841459 * sqrt(0.7 * 0.3 / 10 + 0.3841459 / 40)
    #        = 1.4160098 * sqrt(0.021 + 0.0096036) = 1.4160098 * 0.1749389 = 0.2477151
    #   CI = (0.3967778, 0.8922080) -> (39.67778 %, 89.22080 %)
    result = csat([5, 5, 5, 4, 4, 4, 4, 3, 2, 1])
    assert (result.value, result.top_box, result.n, result.mean) == (70.0, 7, 10, approx(3.7))
    assert result.ci_low == approx(39.67778, abs=1e-4)
    assert result.ci_high == approx(89.22087, abs=1e-4)
    # Wald SE (used by crosstab): 100 * sqrt(0.7 * 0.3 / 10) = 14.491377
    assert result.std_error == approx(14.491377, abs=1e-6)


def test_csat_other_scale_and_top():
    # 10-point scale, top 3 = scores 8..10: 8, 9, 10 of [1, 5, 8, 9, 10] -> 3 / 5 = 60 %.
    result = csat([1, 5, 8, 9, 10], scale=10, top=3)
    assert (result.value, result.top_box, result.scale, result.top) == (60.0, 3, 10, 3)


def test_ces_hand_computed_t_interval():
    # 1..7: mean 4; s^2 = (9 + 4 + 1 + 0 + 1 + 4 + 9) / 6 = 28 / 6; se = sqrt(28 / 6 / 7) = 0.816497
    # t(0.975, df 6) = 2.446912; half = 1.997895 -> (2.002105, 5.997895)
    # Above the midpoint 4: 5, 6, 7 -> 3 of 7 = 42.857 %.
    result = ces([1, 2, 3, 4, 5, 6, 7])
    assert result.value == 4.0
    assert result.std_error == approx(0.816497, abs=1e-6)
    assert (result.ci_low, result.ci_high) == (
        approx(2.002105, abs=1e-6),
        approx(5.997895, abs=1e-6),
    )
    assert (result.top_count, result.top_share) == (3, approx(300 / 7))


def test_ces_top_share_generalises_to_other_scales():
    # 5-point scale: above the midpoint 3 are 4 and 5; 10-point: above 5.5 are 6..10.
    assert ces([1, 3, 4, 5], scale=5).top_count == 2
    assert ces([5, 6, 10, 1], scale=10).top_count == 2


def test_csi_hand_computed():
    # a: [5, 5, 3, 3] mean 4 -> (4 - 1) / 4 * 100 = 75; s^2 = 4 / 3, s^2 / n = 1 / 3
    # b: [1, 3] mean 2 -> 25; s^2 = 2, s^2 / n = 1
    # Equal weights: CSI = 50; se = 25 * sqrt(0.25 / 3 + 0.25 * 1) = 25 * sqrt(1 / 3) = 14.433757
    # half = 1.959964 * 14.433757 = 28.289643 -> (21.710357, 78.289643)
    ratings = {"a": [5, 5, 3, 3], "b": [1, 3]}
    result = csi(ratings)
    assert result.value == 50.0
    assert result.n == 2  # the smallest dimension
    assert (result.ci_low, result.ci_high) == (approx(21.710357), approx(78.289643))
    a, b = result.dimensions
    assert (a.name, a.n, a.mean, a.score, a.weight) == ("a", 4, 4.0, 75.0, 0.5)
    assert (b.name, b.n, b.mean, b.score, b.weight) == ("b", 2, 2.0, 25.0, 0.5)
    # Weights 3:1 -> 0.75 / 0.25: CSI = 56.25 + 6.25 = 62.5
    # se = 25 * sqrt(0.75^2 / 3 + 0.25^2 * 1) = 25 * sqrt(0.25) = 12.5
    weighted = csi(ratings, weights={"a": 3, "b": 1})
    assert (weighted.value, weighted.std_error) == (62.5, 12.5)
    assert [d.weight for d in weighted.dimensions] == [0.75, 0.25]


def test_csi_zero_weight_dimension_is_left_out():
    result = csi({"a": [5], "b": [1, 1, 1]}, weights={"a": 0, "b": 1})
    assert (result.value, result.n) == (0.0, 3)


@pytest.mark.parametrize(
    "result",
    [
        nps([7]),
        nps([10] * 50),
        nps([0, 0, 0]),
        csat([5]),
        csat([1, 1]),
        csat([5] * 40),
        ces([3]),
        ces([6] * 20),
        csi({"a": [4]}),
        csi({"a": [5, 5], "b": [5]}),
        csi({"a": [1] * 9}),
    ],
)
def test_degenerate_inputs_have_intervals_containing_the_value(result):
    assert_ci_contains(result)
    assert math.isfinite(result.ci_low) and math.isfinite(result.ci_high)


def test_single_answer_ces_interval_is_the_value():
    result = ces([3])
    assert (result.ci_low, result.value, result.ci_high, result.std_error) == (3.0, 3.0, 3.0, 0.0)


def test_lower_confidence_gives_a_narrower_interval():
    scores = [0, 3, 7, 8, 9, 10, 10, 6]
    wide, narrow = nps(scores), nps(scores, confidence=0.8)
    assert narrow.ci_high - narrow.ci_low < wide.ci_high - wide.ci_low
    assert narrow.confidence == 0.8


@pytest.mark.parametrize(
    ("df", "expected"),
    [(1, 12.706205), (2, 4.302653), (3, 3.182446), (5, 2.570582), (10, 2.228139),
     (30, 2.042272), (100, 1.983972), (101, 1.983731), (1000, 1.962339)],
)  # fmt: skip
def test_t_quantile_matches_tables(df, expected):
    assert _stats.t_quantile(0.95, df) == approx(expected, abs=1e-6)


# --- input forms ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scores",
    [
        [0, 5, 9, 10],
        (0, 5, 9, 10),
        np.array([0, 5, 9, 10], dtype=np.int8),
        np.array([0, 5, 9, 10], dtype=np.uint64),
        np.array([0.0, 5.0, 9.0, 10.0]),
        [0, 5.0, 9, np.int64(10)],
        (s for s in [0, 5, 9, 10]),
    ],
)
def test_accepts_lists_tuples_arrays_and_integral_floats(scores):
    assert nps(scores) == nps([0, 5, 9, 10])


def test_as_dict_is_json_ready():
    for result in (nps([9, 3]), csat([5, 4, 1]), ces([2, 7]), csi({"a": [1, 5], "b": [3]})):
        data = json.loads(json.dumps(result.as_dict()))
        assert data["metric"] == result.metric
        assert data["value"] == result.value and data["n"] == result.n
    assert csi({"a": [1, 5]}).as_dict()["dimensions"][0]["name"] == "a"


def test_results_are_frozen():
    with pytest.raises(AttributeError):
        nps([10]).value = 0  # type: ignore[misc]


# --- hypothesis invariants --------------------------------------------------------------------

nps_scores = st.lists(st.integers(0, 10), min_size=1, max_size=300)


@settings(deadline=None)
@given(nps_scores)
def test_nps_is_bounded_and_its_interval_contains_it(scores):
    result = nps(scores)
    assert -100 <= result.ci_low <= result.value <= result.ci_high <= 100
    assert result.promoters + result.passives + result.detractors == result.n == len(scores)


@settings(deadline=None)
@given(st.data())
def test_metrics_are_permutation_invariant(data):
    scores = data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=100))
    shuffled = data.draw(st.permutations(scores))
    assert nps(shuffled) == nps(scores)
    assert csat(shuffled) == csat(scores)
    assert ces(shuffled, scale=5) == ces(scores, scale=5)
    assert csi({"x": shuffled, "y": scores[::-1]}) == csi({"x": scores, "y": scores})


@st.composite
def scale_top_scores(draw):
    scale = draw(st.integers(2, 11))
    top = draw(st.integers(1, scale - 1))
    return scale, top, draw(st.lists(st.integers(1, scale), min_size=1, max_size=200))


@settings(deadline=None)
@given(scale_top_scores())
def test_csat_is_a_share_and_its_interval_contains_it(case):
    scale, top, scores = case
    result = csat(scores, scale=scale, top=top)
    assert 0 <= result.ci_low <= result.value <= result.ci_high <= 100
    assert result.top_box == sum(s > scale - top for s in scores)
    assert result.mean == approx(np.mean(scores))


@settings(deadline=None)
@given(scale_top_scores())
def test_ces_is_the_mean_and_its_interval_contains_it(case):
    scale, _, scores = case
    result = ces(scores, scale=scale)
    assert 1 <= result.ci_low <= result.value <= result.ci_high <= scale
    assert result.value == approx(np.mean(scores))
    assert 0 <= result.top_share <= 100


csi_ratings = st.dictionaries(
    st.text(min_size=1, max_size=4),
    st.lists(st.integers(1, 5), min_size=1, max_size=60),
    min_size=1,
    max_size=4,
)


@settings(deadline=None)
@given(csi_ratings)
def test_csi_is_bounded_and_its_interval_contains_it(ratings):
    result = csi(ratings)
    assert 0 <= result.ci_low <= result.value <= result.ci_high <= 100
    assert sum(d.weight for d in result.dimensions) == approx(1.0)


@settings(deadline=None)
@given(csi_ratings, st.data(), st.floats(1e-3, 1e3))
def test_csi_weights_are_normalised(ratings, data, factor):
    raw = {name: data.draw(st.floats(0.01, 100)) for name in ratings}
    result = csi(ratings, weights=raw)
    scaled = csi(ratings, weights={name: w * factor for name, w in raw.items()})
    assert scaled.value == approx(result.value, rel=1e-9, abs=1e-9)
    assert scaled.ci_high == approx(result.ci_high, rel=1e-9, abs=1e-9)
    assert 0 <= result.ci_low <= result.value <= result.ci_high <= 100


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: nps([]), "no NPS scores given"),
        (lambda: nps(np.array([], dtype=int)), "no NPS scores given"),
        (lambda: nps([3, 11]), r"NPS score 11 at index 1 is out of range; .*0 to 10"),
        (lambda: nps([-1]), r"-1 at index 0 is out of range"),
        (lambda: nps([2, 3.5]), r"3\.5 at index 1 is not a whole number; .*0 to 10"),
        (lambda: nps([1, float("nan")]), r"index 1 is missing"),
        (lambda: nps([1, None]), r"index 1 is missing"),
        (lambda: nps([float("inf")]), r"inf at index 0 is out of range"),
        (lambda: nps(["9"]), "got text"),
        (lambda: nps([True, False]), "got booleans"),
        (lambda: nps([[1, 2]]), "one-dimensional"),
        (lambda: nps(7), "sequence"),
        (lambda: csat([0, 5]), r"CSAT score 0 at index 0 is out of range; .*1 to 5"),
        (lambda: csat([6]), r"6 at index 0 .*1 to 5"),
        (lambda: csat([1], scale=1), "scale must be an integer >= 2"),
        (lambda: csat([1], scale=5.0), "scale must be an integer"),
        (lambda: csat([1], top=5), "top must be smaller than scale"),
        (lambda: csat([1], top=0), "top must be an integer >= 1"),
        (lambda: ces([8]), r"CES score 8 at index 0 .*1 to 7"),
        (lambda: ces([]), "no CES scores given"),
        (lambda: ces([2], confidence=1.0), "confidence"),
        (lambda: nps([2], confidence=float("nan")), "confidence"),
        (lambda: csi({}), "ratings is empty"),
        (lambda: csi({"a": []}), "no CSI 'a' ratings given"),
        (lambda: csi({"a": [6]}), r"CSI 'a' rating 6 at index 0 is out of range; .*1 to 5"),
        (lambda: csi({"a": [2.5]}), "not a whole number"),
        (lambda: csi({"a": [3]}, weights={"b": 1}), r"unknown dimension\(s\) \['b'\]"),
        (lambda: csi({"a": [3], "b": [2]}, weights={"a": 1}), r"no weight for \['b'\]"),
        (lambda: csi({"a": [3]}, weights={"a": -1}), "weight for 'a' must be finite and >= 0"),
        (lambda: csi({"a": [3]}, weights={"a": float("nan")}), "must be finite"),
        (lambda: csi({"a": [3], "b": [2]}, weights={"a": 0, "b": 0}), "all zero"),
        (lambda: csi({"a": [3]}, weights={"a": "1"}), "must be a number"),
    ],
)
def test_invalid_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_csi_needs_a_mapping():
    with pytest.raises(TypeError):
        csi([[1, 2]])  # type: ignore[arg-type]


# --- crosstab ---------------------------------------------------------------------------------


def region_dataset() -> dict[str, np.ndarray]:
    """Regions A, B, C: 200 promoters, 120 passives, 80 detractors (NPS 30); D the reverse
    (NPS -30); E: 10 detractors only (NPS -100, but fewer than min_n answers)."""
    blocks = {"A": (200, 120, 80), "B": (200, 120, 80), "C": (200, 120, 80), "D": (80, 120, 200)}
    blocks["E"] = (0, 0, 10)
    region = np.concatenate([[name] * sum(counts) for name, counts in blocks.items()])
    score = np.concatenate([np.repeat([10, 8, 3], counts) for counts in blocks.values()])
    channel = np.tile(["email", "web"], len(score) // 2)
    return {"region": region, "score": score, "channel": channel}


def test_crosstab_flags_the_clearly_worse_region():
    table = crosstab(region_dataset(), nps, "region")
    assert [row.key for row in table.rows] == [("A",), ("B",), ("C",), ("D",), ("E",)]
    assert table.overall == nps(region_dataset()["score"])
    worse = table.row("D")
    # D: NPS -30 (n 400); rest: 600 promoters, 250 detractors of 1210 -> NPS 28.93.
    assert worse.result.value == -30.0 and worse.result.n == 400
    assert worse.diff == approx(-30.0 - table.overall.value)
    assert worse.z < -10 and worse.p_value < 1e-20 and worse.significant


def test_crosstab_never_flags_a_group_below_min_n():
    small = crosstab(region_dataset(), "nps", "region").row("E")
    assert small.result.n == 10 and small.result.value == -100.0
    assert small.p_value < 0.05  # it would be significant with more answers
    assert not small.significant
    assert crosstab(region_dataset(), "nps", "region", min_n=10).row("E").significant


def test_crosstab_by_two_keys():
    data = region_dataset()
    table = crosstab(data, nps, ("region", "channel"))
    assert table.group_by == ("region", "channel")
    assert len(table.rows) == 10
    assert sum(row.result.n for row in table.rows) == len(data["score"])
    assert table.row("D", "web").significant and table.row("D", "email").significant
    assert not table.row("E", "web").significant
    mask = (data["region"] == "B") & (data["channel"] == "web")
    assert table.row("B", "web").result == nps(data["score"][mask])


def test_crosstab_accepts_rows_as_well_as_columns():
    data = region_dataset()
    rows = [
        {"region": r, "channel": c, "score": int(s)}
        for r, c, s in zip(data["region"], data["channel"], data["score"], strict=True)
    ]
    by_rows = crosstab(rows, csat, "channel", scale=10, top=3)
    by_columns = crosstab(data, csat, "channel", scale=10, top=3)
    assert by_rows == by_columns
    json.dumps(by_rows.as_dict())


@settings(deadline=None, max_examples=50)
@given(
    st.lists(st.tuples(st.sampled_from("xyz"), st.integers(0, 2), st.integers(1, 5)), min_size=1),
    st.sampled_from(["nps", "csat", "ces"]),
)
def test_crosstab_groups_equal_the_metric_on_each_subset(records, name):
    group, sub, score = (np.array(column) for column in zip(*records, strict=True))
    function = {"nps": nps, "csat": csat, "ces": ces}[name]
    table = crosstab({"g": group, "s": sub, "score": score}, name, ("g", "s"), min_n=1)
    assert table.overall == function(score)
    for row in table.rows:
        mask = (group == row.key[0]) & (sub == row.key[1])
        assert row.result == function(score[mask])
        if row.p_value is not None:
            assert 0 <= row.p_value <= 1
            assert row.significant == (row.p_value < 0.05 and mask.sum() < len(score))


def test_crosstab_csi_reads_one_field_per_dimension_and_skips_missing():
    records = [
        {"team": "a", "price": 5, "service": 4},
        {"team": "a", "price": None, "service": 2},
        {"team": "a", "service": 3},
        {"team": "b", "price": 1, "service": float("nan")},
        {"team": "b", "price": 2, "service": 5},
    ]
    weights = {"price": 1, "service": 2}
    table = crosstab(records, csi, "team", weights=weights, min_n=1)
    assert table.overall == csi({"price": [5, 1, 2], "service": [4, 2, 3, 5]}, weights)
    assert table.row("a").result == csi({"price": [5], "service": [4, 2, 3]}, weights)
    assert table.row("b").result == csi({"price": [1, 2], "service": [5]}, weights)
    explicit = crosstab(records, csi, "team", dimensions=("service", "price"), min_n=1)
    assert [d.name for d in explicit.overall.dimensions] == ["service", "price"]


def test_crosstab_csi_group_without_ratings_of_a_dimension_has_no_result():
    records = {
        "team": np.array(["a", "a", "b"]),
        "price": np.array([4.0, 5.0, np.nan]),
        "service": np.array([3, 4, 5]),
    }
    row = crosstab(records, "csi", "team", dimensions=["price", "service"]).row("b")
    assert (row.result, row.diff, row.z, row.significant) == (None, None, None, False)


def test_crosstab_csi_dimension_without_any_rating_is_an_error():
    records = {"team": ["a", "b"], "price": [None, None], "service": [3, 4]}
    with pytest.raises(ValueError, match="no CSI 'price' ratings in any record"):
        crosstab(records, csi, "team", dimensions=["price", "service"])


def test_crosstab_object_keys_with_none_form_their_own_group():
    table = crosstab({"k": [None, "x", "x", None], "score": [10, 0, 0, 9]}, nps, "k")
    assert [row.key for row in table.rows] == [(None,), ("x",)]
    assert table.row(None).result.value == 100.0


def test_crosstab_integer_keys_with_gaps():
    table = crosstab({"k": np.array([7, -3, 7, 1000]), "score": [1, 2, 3, 4]}, ces, "k")
    assert [row.key for row in table.rows] == [(-3,), (7,), (1000,)]
    assert table.row(7).result.value == 2.0
    single = crosstab({"k": [1, 1], "score": [3, 4]}, ces, "k").row(1)
    assert (single.z, single.p_value, single.significant) == (None, None, False)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"metric": "mean"}, ValueError, "metric must be one of"),
        ({"group_by": ("a", "b", "c")}, ValueError, "group_by"),
        ({"group_by": 3}, ValueError, "group_by must be a field name"),
        ({"group_by": "missing"}, ValueError, "no column 'missing'"),
        ({"score": "nope"}, ValueError, "no column 'nope'"),
        ({"min_n": -1}, ValueError, "min_n"),
        ({"alpha": 0}, ValueError, "alpha"),
        ({"top": 2}, TypeError, r"nps\(\) takes no argument"),
        ({"dimensions": ["x"]}, ValueError, "only applies to csi"),
        ({"metric": "csi"}, ValueError, "needs dimensions"),
        ({"records": {"region": ["a"], "score": [1, 2]}}, ValueError, "has 2 values"),
        ({"records": []}, ValueError, "records is empty"),
        ({"records": [{"region": "a"}]}, ValueError, "record 0 has no field 'score'"),
        ({"records": {"region": ["a"], "score": [12]}}, ValueError, "12 at index 0"),
    ],
)
def test_crosstab_rejects_bad_arguments(kwargs, error, message):
    arguments = {"records": {"region": ["a", "b"], "score": [1, 2]}, "metric": "nps"}
    arguments |= {"group_by": "region", **kwargs}
    with pytest.raises(error, match=message):
        crosstab(arguments.pop("records"), arguments.pop("metric"), **arguments)
