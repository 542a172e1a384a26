"""Tests for cxloop.insights.rfm: scores, tiers, VIP, stages and tier moves."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxloop.insights import rfm
from cxloop.insights.rfm import STAGES, TIERS, RfmConfig, assign_tiers, score_rfm, tier_moves

NAN = math.nan


def scores_of(spend, quantiles=5):
    """M scores of customers who each ordered once, yesterday, spending ``spend``."""
    n = len(spend)
    return score_rfm([1] * n, [1] * n, spend, RfmConfig(quantiles=quantiles)).monetary.tolist()


# --- scores -----------------------------------------------------------------------------------


def test_five_distinct_values_give_one_to_five():
    # score = 1 + floor(5 * worse / 5) with worse = 0..4
    assert scores_of([50, 10, 40, 20, 30]) == [5, 1, 4, 2, 3]


def test_ten_distinct_values_give_two_per_quintile():
    # worse = 0..9 -> 1 + floor(5 * worse / 10) = 1 + worse // 2
    spend = [100, 10, 90, 20, 80, 30, 70, 40, 60, 50]
    assert scores_of(spend) == [5, 1, 5, 1, 4, 2, 4, 2, 3, 3]


def test_quantile_boundaries_with_eleven_customers():
    # worse = 0..10, n = 11: 1 + floor(5 w / 11) -> w = 0,1,2 -> 1; 3,4 -> 2; 5,6 -> 3;
    # 7,8 -> 4 (35/11 = 3.18, 40/11 = 3.6); 9,10 -> 5 (45/11 = 4.09)
    assert scores_of(list(range(11))) == [1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_ties_share_the_lowest_score_of_their_positions():
    # the three 5s beat one customer: 1 + floor(5 * 1 / 5) = 2; 9 beats four: 5
    assert scores_of([5, 5, 5, 1, 9]) == [2, 2, 2, 1, 5]
    # the same values with float input and a histogram-unfriendly range give the same scores
    assert scores_of([5e12, 5e12, 5e12, 1.5, 9e12]) == [2, 2, 2, 1, 5]


def test_all_equal_input_scores_one():
    assert scores_of([700] * 8) == [1] * 8
    tiers = assign_tiers([3] * 8, [2] * 8, [700] * 8, [400] * 8, [700] * 8)
    assert tiers.tier.tolist() == ["basic"] * 8  # one tie group, wider than any tier share


def test_recency_is_better_when_smaller_and_no_order_is_worst():
    # recency [0, 10, none, 10, 400]: strictly worse counts 4, 2, 0, 2, 1 -> R = 5, 3, 1, 3, 2
    # orders [1, 1, 0, 2, 1]: worse counts 1, 1, 0, 4, 1 -> F = 2, 2, 1, 5, 2
    scores = score_rfm([0, 10, NAN, 10, 400], [1, 1, 0, 2, 1], [10, 10, 0, 20, 5])
    assert scores.recency.tolist() == [5, 3, 1, 3, 2]
    assert scores.frequency.tolist() == [2, 2, 1, 5, 2]
    assert scores.monetary.tolist() == [3, 3, 1, 5, 2]
    assert scores.total.tolist() == [10, 8, 3, 13, 6]


def test_quantile_count_is_configurable():
    assert scores_of(list(range(8)), quantiles=4) == [1, 1, 2, 2, 3, 3, 4, 4]
    assert scores_of(list(range(3)), quantiles=10) == [1, 4, 7]  # 1 + floor(10 w / 3)


def test_histogram_and_sort_paths_agree():
    rng = np.random.default_rng(3)
    whole = rng.integers(0, 50, 1000).astype(float)
    assert np.array_equal(rfm._worse(whole), rfm._worse(whole + 0.5 * (whole > 1e9) + 1e-3))
    spread = whole * 1e9  # range far above 4 n: the sort path
    assert np.array_equal(rfm._worse(whole), rfm._worse(spread))


def test_empty_input():
    scores = score_rfm([], [], [])
    assert scores.recency.shape == scores.frequency.shape == scores.monetary.shape == (0,)
    tiers = assign_tiers([], [], [], [], [])
    assert tiers.tier.shape == tiers.stage.shape == tiers.vip.shape == (0,)
    assert tiers.counts()["tier"] == dict.fromkeys(TIERS, 0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=60), st.integers(2, 10))
def test_ties_never_promote_and_order_does_not_matter(values, quantiles):
    n = len(values)
    scores = np.array(scores_of(values, quantiles))
    assert scores.min() >= 1 and scores.max() <= quantiles
    for k in range(1, quantiles):  # at most n - ceil(k n / q) customers score above k
        assert (scores > k).sum() <= n - math.ceil(k * n / quantiles)
    arr = np.array(values)
    assert all(scores[arr == v].min() == scores[arr == v].max() for v in set(values))
    assert np.all(np.diff(scores[np.argsort(arr, kind="stable")]) >= 0)  # monotone in value
    flipped = np.array(scores_of(values[::-1], quantiles))
    assert flipped.tolist() == scores[::-1].tolist()


# --- tiers, VIP, stages: a hand-computed book of ten customers ---------------------------------

#            recency  orders  spend    registered  yearly
BOOK = [
    (5, 10, 900_000, 800, 600_000),  # c0
    (20, 8, 500_000, 700, 500_000),  # c1
    (30, 6, 300_000, 600, 300_000),  # c2
    (100, 5, 250_000, 500, 100_000),  # c3
    (60, 4, 200_000, 400, 200_000),  # c4
    (150, 3, 100_000, 400, 0),  # c5
    (200, 2, 80_000, 300, 0),  # c6
    (400, 1, 5_000, 1000, 0),  # c7
    (300, 1, 3_000, 1000, 0),  # c8
    (NAN, 0, 0, 30, 0),  # c9
]


def book(config=None, changes=None):
    """Tiers of BOOK; ``changes`` maps (customer, field) to a new value."""
    columns = [list(column) for column in zip(*BOOK, strict=True)]
    for (index, field), value in (changes or {}).items():
        columns[field][index] = value
    return assign_tiers(*columns, config=config)


def test_book_scores():
    # R: worse counts by recency c9 0, c7 1, c8 2, c6 3, c5 4, c3 5, c4 6, c2 7, c1 8, c0 9
    #    -> 1 + w // 2.  F: orders 0 < 1 = 1 < 2 < ... -> worse 9,8,7,6,5,4,3,1,1,0.
    # M: spend is distinct and in customer order -> worse 9..0.
    scores = book().scores
    assert scores.recency.tolist() == [5, 5, 4, 3, 4, 3, 2, 1, 2, 1]
    assert scores.frequency.tolist() == [5, 5, 4, 4, 3, 3, 2, 1, 1, 1]
    assert scores.monetary.tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert scores.total.tolist() == [15, 15, 12, 11, 10, 9, 6, 4, 4, 3]


def test_book_tiers():
    # Ranking: c0 (15, 900k) > c1 (15, 500k) > c2 > c3 > c4 > c5 > c6 > c7 (4, 5k) > c8 > c9.
    # high_value: top floor(0.1 * 10) = 1 -> c0; potential: top 4 -> c1, c2, c3.
    # Long inactive (> 180 days, ordered): c6, c7, c8. From the bottom: c9 is no candidate,
    # c8 is the 1st (<= floor(0.1 * 10) = 1) -> churn_warning; c7 would be the 2nd -> basic.
    tiers = book()
    assert tiers.tier.tolist() == [
        "high_value", "potential", "potential", "potential", "basic",
        "basic", "basic", "basic", "churn_warning", "basic",
    ]  # fmt: skip
    assert tiers.tier_code.tolist() == [3, 2, 2, 2, 1, 1, 1, 1, 0, 1]
    assert tiers.counts()["tier"] == {
        "churn_warning": 1, "basic": 5, "potential": 3, "high_value": 1,
    }  # fmt: skip


def test_book_vip_and_stages():
    tiers = book()
    # VIP: yearly >= 500,000 fen; c1 sits exactly on it.
    assert tiers.vip.tolist() == [True, True] + [False] * 8
    # c9: no order, registered 30 days ago -> new. c0..c5 ordered within 180 days -> active
    # (c0 is high value but ordered 5 days ago: not lapsed). c6 (200), c7, c8 -> inactive.
    assert tiers.stage.tolist() == ["active"] * 6 + ["inactive"] * 3 + ["new"]
    assert tiers.counts()["vip"] == {"vip": 2, "other": 8}
    assert tiers.counts()["stage"]["inactive"] == 3


def test_new_stage_boundary_is_under_90_days():
    assert book(changes={(9, 3): 89}).stage[9] == "new"
    assert book(changes={(9, 3): 90}).stage[9] == "never_ordered"


def test_active_stage_boundary_is_180_days():
    # c5 at 180 days is still active, at 181 inactive (c5's scores do not change: 181 < 200).
    assert book(changes={(5, 0): 180}).stage[5] == "active"
    assert book(changes={(5, 0): 181}).stage[5] == "inactive"


def test_lapsed_is_high_value_without_a_purchase_for_more_than_90_days():
    # "High value" for lapsed ranks on F and M only: c0 (F 5, M 5, most spend) stays on top.
    assert book(changes={(0, 0): 90}).stage[0] == "active"
    # At 91 days c0's R drops to 4 (six are older: c9, c7, c8, c6, c5, c3 -> 1 + 30 // 10), its
    # total to 14 < c1's 15: c1 takes the one high_value place, c0 is potential - and lapsed.
    lapsed = book(changes={(0, 0): 91})
    assert lapsed.scores.recency[0] == 4
    assert lapsed.tier[:2].tolist() == ["potential", "high_value"]
    assert lapsed.stage[:2].tolist() == ["lapsed", "active"]
    assert book(changes={(0, 0): 500}).stage[0] == "lapsed"  # lapsed wins over inactive
    assert book(RfmConfig(lapsed_days=120), changes={(0, 0): 91}).stage[0] == "active"


def test_lapsed_ranking_is_configurable():
    # With the tier's own weights, "high value" for lapsed is the high_value tier: c0 at 91 days
    # is only potential, so it is not lapsed but active.
    same = RfmConfig(lapsed_value_weights=(1, 1, 1))
    assert book(same, changes={(0, 0): 91}).stage[0] == "active"
    # c1 (spend 500k) lapsed while c0 stays recent: c1 is second on F and M, lapsed only if
    # the high-value share holds two customers.
    assert book(changes={(1, 0): 100}).stage[1] == "active"
    assert book(RfmConfig(high_value_share=0.2), changes={(1, 0): 100}).stage[1] == "lapsed"


def test_churn_inactivity_threshold_is_configurable():
    # > 400 days: nobody (c7 is exactly 400). > 399: c7 is the only candidate.
    assert "churn_warning" not in book(RfmConfig(churn_inactive_days=400)).tier.tolist()
    tiers = book(RfmConfig(churn_inactive_days=399)).tier
    assert np.flatnonzero(tiers == "churn_warning").tolist() == [7]


def test_churn_share_is_configurable():
    # floor(0.3 * 10) = 3: all three long-inactive customers fit.
    tiers = book(RfmConfig(churn_warning_share=0.3)).tier
    assert np.flatnonzero(tiers == "churn_warning").tolist() == [6, 7, 8]
    assert "churn_warning" not in book(RfmConfig(churn_warning_share=0.05)).tier.tolist()


def test_tier_shares_are_configurable():
    # high_value 20 % -> c0, c1; potential 0.2 -> top 4 -> c2, c3.
    tiers = book(RfmConfig(high_value_share=0.2, potential_share=0.2)).tier
    assert tiers[:5].tolist() == ["high_value"] * 2 + ["potential"] * 2 + ["basic"]


def test_long_inactive_customers_keep_a_top_tier():
    # c0 inactive for 400 days still ranks high on F and M: keeps its tier, stage lapsed.
    tiers = book(RfmConfig(value_weights=(0, 1, 1)), changes={(0, 0): 400})
    assert (tiers.tier[0], tiers.stage[0]) == ("high_value", "lapsed")


def test_a_tie_group_straddling_a_boundary_goes_to_the_lower_tier():
    # c0 made equal to c1 on every key: the pair needs 2 high-value places, there is 1.
    tiers = book(changes={(0, 0): 20, (0, 1): 8, (0, 2): 500_000})
    assert tiers.tier[:2].tolist() == ["potential", "potential"]
    assert "high_value" not in tiers.tier.tolist()
    wider = book(RfmConfig(high_value_share=0.2), changes={(0, 0): 20, (0, 1): 8, (0, 2): 500_000})
    assert wider.tier[:2].tolist() == ["high_value", "high_value"]


def test_vip_threshold_is_configurable():
    tiers = book(RfmConfig(vip_yearly_spend_fen=200_000))
    assert np.flatnonzero(tiers.vip).tolist() == [0, 1, 2, 4]


def test_packed_key_and_lexsort_rankings_agree(monkeypatch):
    rng = np.random.default_rng(11)
    n = 5000
    orders = rng.poisson(2, n)
    recency = np.where(orders > 0, rng.integers(0, 500, n), NAN)
    spend = orders * rng.integers(0, 3, n) * 1000  # many ties
    columns = (recency, orders, spend, rng.integers(0, 900, n), spend)
    packed = assign_tiers(*columns)
    monkeypatch.setattr(rfm, "_KEY_LIMIT", 0)
    assert np.array_equal(packed.tier_code, assign_tiers(*columns).tier_code)


customers = st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 400), st.integers(0, 5), st.integers(0, 400)),
    min_size=1,
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(customers, st.sampled_from([0.0, 0.1, 0.25]), st.sampled_from([0.1, 0.3]))
def test_tier_invariants(rows, high, churn):
    orders = np.array([row[0] for row in rows])
    recency = np.where(orders > 0, np.array([row[1] for row in rows], dtype=float), NAN)
    spend = orders * np.array([row[2] for row in rows]) * 10_000
    registered = np.array([row[3] for row in rows])
    config = RfmConfig(high_value_share=high, churn_warning_share=churn)
    tiers = assign_tiers(recency, orders, spend, registered, spend, config)
    n = len(rows)
    counts = tiers.counts()["tier"]
    assert sum(counts.values()) == n
    assert counts["high_value"] <= math.floor(high * n + 1e-9)
    assert counts["high_value"] + counts["potential"] <= math.floor((high + 0.3) * n + 1e-9)
    assert counts["churn_warning"] <= math.floor(churn * n + 1e-9)
    churned = tiers.tier == "churn_warning"
    assert np.all(recency[churned] > 180)
    assert set(tiers.stage.tolist()) <= set(STAGES)
    lapsed = tiers.stage == "lapsed"
    assert lapsed.sum() <= math.floor(high * n + 1e-9) and np.all(recency[lapsed] > 90)
    assert np.all((tiers.stage == "new") == ((orders == 0) & (registered < 90)))
    # identical customers share a tier, and the input order does not matter
    keys = list(zip(orders.tolist(), recency.tolist(), spend.tolist(), strict=True))
    for key in set(keys):
        same = [tiers.tier[i] for i, k in enumerate(keys) if k == key]
        assert len(set(same)) == 1
    reverse = assign_tiers(recency[::-1], orders[::-1], spend[::-1], registered[::-1], spend[::-1],
                           config)  # fmt: skip
    assert reverse.tier.tolist() == tiers.tier[::-1].tolist()


# --- input and config errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recency", "orders", "spend", "message"),
    [
        ([1], [0], [0], "orders is 0 but recency_days is given"),
        ([NAN], [2], [10], "recency_days is NaN"),
        ([1], [1.5], [10], "orders must be whole numbers"),
        ([-1], [1], [10], "recency_days must be finite and >= 0"),
        ([math.inf], [1], [10], "recency_days must be finite and >= 0"),
        ([1], [1], [-10], "spend_fen must be finite and >= 0"),
        ([1], [1], [NAN], "spend_fen must be finite and >= 0"),
        ([1, 2], [1], [10], "same length"),
        ([[1]], [[1]], [[10]], "one-dimensional"),
        (["x"], [1], [10], "recency_days must be numbers"),
    ],
)
def test_invalid_input_raises(recency, orders, spend, message):
    with pytest.raises(ValueError, match=message):
        score_rfm(recency, orders, spend)
    with pytest.raises(ValueError, match=message):
        assign_tiers(recency, orders, spend, [10] * len(orders), [0] * len(orders))


def test_invalid_registration_and_yearly_spend():
    with pytest.raises(ValueError, match="registered_days must be finite"):
        assign_tiers([1], [1], [10], [NAN], [0])
    with pytest.raises(ValueError, match="same length"):
        assign_tiers([1], [1], [10], [5, 6], [0])
    with pytest.raises(ValueError, match="yearly_spend_fen must be finite"):
        assign_tiers([1], [1], [10], [5], [-1])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"quantiles": 1}, "quantiles must be between 2 and 100"),
        ({"quantiles": 5.0}, "quantiles must be an integer"),
        ({"quantiles": True}, "quantiles must be an integer"),
        ({"value_weights": (0, 0, 0)}, "value_weights"),
        ({"value_weights": (1, 1)}, "value_weights"),
        ({"value_weights": (1, -1, 1)}, "value_weights"),
        ({"high_value_share": -0.1}, "high_value_share must be a number >= 0"),
        ({"potential_share": 1.5}, "potential_share must be at most 1"),
        ({"potential_share": 0.6, "churn_warning_share": 0.4}, "add up to 1.1"),
        ({"churn_inactive_days": NAN}, "churn_inactive_days must be a number"),
        ({"vip_yearly_spend_fen": "5000"}, "vip_yearly_spend_fen must be a number"),
        ({"lapsed_days": -1}, "lapsed_days must be a number >= 0"),
    ],
)
def test_invalid_config(changes, message):
    with pytest.raises(ValueError, match=message):
        replace(RfmConfig(), **changes)


# --- tier moves -------------------------------------------------------------------------------


def test_tier_moves_hand_computed():
    old = ["basic", "high_value", "churn_warning", "potential", "basic"]
    new = ["potential", "basic", "churn_warning", "potential", "churn_warning"]
    moves = tier_moves(old, new)
    assert (moves.up, moves.down, moves.same) == (1, 2, 2)
    assert moves.matrix["basic"] == {
        "churn_warning": 1, "basic": 0, "potential": 1, "high_value": 0,
    }  # fmt: skip
    assert moves.matrix["high_value"]["basic"] == 1
    codes = [TIERS.index(t) for t in old], [TIERS.index(t) for t in new]
    assert tier_moves(*codes) == moves
    assert tier_moves(np.array(old, dtype=object), np.array(new)) == moves


def test_tier_moves_between_two_runs():
    before = book()
    after = book(changes={(8, 0): 20})  # c8 bought again: its R rises and it leaves churn_warning
    moves = tier_moves(before.tier_code, after.tier_code)
    assert after.tier[8] != "churn_warning"
    assert moves.up >= 1 and moves.up + moves.down + moves.same == 10


def test_tier_moves_errors():
    with pytest.raises(ValueError, match="unknown tier 'gold' in new"):
        tier_moves(["basic"], ["gold"])
    with pytest.raises(ValueError, match="unknown tier 7 in old"):
        tier_moves([7], [1])
    with pytest.raises(ValueError, match="differ in length"):
        tier_moves(["basic"], ["basic", "basic"])
    assert tier_moves([], []).same == 0
