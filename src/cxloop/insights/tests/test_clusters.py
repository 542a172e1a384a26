"""Low-score clusters: planted over-representation is found, noise is not, words keep negation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from cxloop.insights.clusters import (
    Tally,
    _benjamini_hochberg,
    over_represented,
    tally,
    word_tally,
    words,
)

TERMS = ("logistics", "attitude", "price", "resolution")


def _base(texts=10_000, rate=0.10, low=1_500) -> Tally:
    return Tally(texts=texts, low_texts=low, hits={term: int(texts * rate) for term in TERMS})


def test_planted_cluster_is_found_with_its_lift():
    base = _base()
    places = {
        "East": Tally(texts=800, low_texts=100, low_hits={"logistics": 40, "price": 11}),
        "West": Tally(texts=800, low_texts=100, low_hits={"logistics": 9, "price": 12}),
    }
    findings = over_represented(places, base)
    assert [(f.place, f.term) for f in findings] == [("East", "logistics")]
    found = findings[0]
    assert found.low_hits == 40 and found.low_texts == 100 and found.share == 0.4
    assert found.base_rate == pytest.approx(1000.5 / 10_001)
    assert found.lift == pytest.approx(0.4 / found.base_rate)  # "4.0x the base rate"
    exact = stats.binomtest(40, 100, found.base_rate, alternative="greater")
    assert found.p_value == pytest.approx(exact.pvalue)
    assert found.q_value <= 0.05


def test_noise_at_the_base_rate_gives_no_findings():
    rng = np.random.default_rng(7)
    base = _base()
    places = {}
    for i in range(200):
        low_texts = int(rng.integers(20, 300))
        hits = {term: int(rng.binomial(low_texts, 0.10)) for term in TERMS}
        places[f"store {i}"] = Tally(texts=low_texts * 3, low_texts=low_texts, low_hits=hits)
    assert over_represented(places, base) == []


def test_without_the_correction_noise_would_pass():
    # Why the false-discovery adjustment is there: the smallest raw p of 800 noise cells is tiny.
    rng = np.random.default_rng(7)
    hits = rng.binomial(100, 0.10, size=800)
    assert stats.binom.sf(hits - 1, 100, 0.10).min() < 0.01


def test_thresholds_min_hits_and_min_lift():
    base = _base()
    few = {"East": Tally(texts=20, low_texts=5, low_hits={"logistics": 4})}
    assert over_represented(few, base, min_hits=5) == []
    assert [f.term for f in over_represented(few, base, min_hits=4)] == ["logistics"]
    strong = {"East": Tally(texts=900, low_texts=900, low_hits={"logistics": 120})}
    assert over_represented(strong, base, min_lift=1.5) == []  # 1.33x: significant, not big
    assert over_represented(strong, base, min_lift=1.2)[0].lift == pytest.approx(1.333, abs=0.01)


def test_strongest_first_and_places_without_low_texts_skipped():
    base = _base()
    places = {
        "A": Tally(texts=500, low_texts=100, low_hits={"logistics": 30, "price": 50}),
        "B": Tally(texts=500, low_texts=0),
    }
    assert [f.term for f in over_represented(places, base)] == ["price", "logistics"]
    assert over_represented({"B": Tally(texts=10, low_texts=0)}, base) == []


def test_benjamini_hochberg_by_hand():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted: 0.005, 0.01, 0.03, 0.04 -> x4/1, x4/2, x4/3, x4/4 = 0.02, 0.02, 0.04, 0.04
    np.testing.assert_allclose(_benjamini_hochberg(p), [0.02, 0.04, 0.04, 0.02])


def test_tally_counts_each_term_once_per_text():
    result = tally([["快递", "快递", "太慢"], ["快递"], ["价格"]], [True, False, True])
    assert result.texts == 3 and result.low_texts == 2
    assert result.hits == {"快递": 2, "太慢": 1, "价格": 1}
    assert result.low_hits == {"快递": 1, "太慢": 1, "价格": 1}


@pytest.mark.parametrize(
    "bad",
    [
        dict(texts=5, low_texts=6),
        dict(texts=-1, low_texts=0),
        dict(texts=5, low_texts=2, low_hits={"x": 3}),
        dict(texts=5, low_texts=2, hits={"x": -1}),
    ],
)
def test_bad_tallies_are_refused(bad):
    with pytest.raises(ValueError):
        Tally(**bad)


def test_bad_thresholds_are_refused():
    with pytest.raises(ValueError, match="min_hits"):
        over_represented({}, _base(), min_hits=0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("快递太慢了，不满意", ["快递", "太慢", "不满意"]),
        ("客服态度不是很好，没有回复", ["客服", "态度", "不是很好", "没有回复"]),
        ("不太满意", ["不太满意"]),
        ("很满意", ["满意"]),
        ("物流太慢", ["物流", "太慢"]),
        ("物流太慢，服務態度差", ["物流", "太慢", "服务态度", "差"]),  # Traditional -> Simplified
        (
            "The courier was not friendly and the delivery was late",
            ["courier", "not friendly", "delivery", "late"],
        ),
        ("", []),
        ("   ", []),
    ],
)
def test_words(text, expected):
    assert words(text) == expected


def test_word_tally_finds_the_planted_word():
    low = ["快递太慢了"] * 30 + ["价格还行"] * 10
    others = ["价格还行"] * 300 + ["快递太慢了"] * 20 + ["服务很好"] * 300
    base = word_tally(low + others, [True] * 40 + [False] * 620)
    judged = {"": word_tally(low, [True] * 40)}
    terms = [f.term for f in over_represented(judged, base)]
    assert "快递" in terms and "太慢" in terms and "价格" not in terms
