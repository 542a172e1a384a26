"""Counts-based metrics agree with the raw-score metrics, and hand-computed means."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cxloop.insights import counts
from cxloop.insights.metrics import ces, crosstab, csat, nps

approx = pytest.approx


def test_importing_counts_does_not_import_django():
    src = Path(counts.__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
    }
    code = "import cxloop.insights.counts, sys; assert 'django' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


def test_nps_from_category_counts_hand_computed():
    # 3 promoters, 1 passive, 1 detractor: NPS = 100 * (3 - 1) / 5 = 40.
    histograms = counts.nps_histograms(promoters=[3, 5], passives=[1, 2], detractors=[1, 3])
    first, second = counts.from_histograms("nps", histograms)
    assert first.value == 40.0 and first.n == 5
    assert (first.promoters, first.passives, first.detractors) == (3, 1, 1)
    reference = nps([10, 9, 9, 8, 6])
    assert (first.ci_low, first.ci_high) == (approx(reference.ci_low), approx(reference.ci_high))
    assert second.value == approx(100 * (5 - 3) / 10)


def test_csat_and_ces_histograms_match_raw_scores():
    scores = [5, 5, 4, 4, 4, 3, 2, 1, 5, 4]
    (result,) = counts.from_histograms("csat", [np.bincount(scores, minlength=6)[1:]], scale=5)
    assert result == csat(scores)
    effort = [1, 2, 2, 5, 6, 7, 7, 3]
    (result,) = counts.from_histograms("ces", [np.bincount(effort, minlength=8)[1:]], scale=7)
    assert result == ces(effort)


def test_empty_group_gives_nan():
    (result,) = counts.from_histograms("csat", [[0, 0, 0, 0, 0]])
    assert math.isnan(result.value) and result.n == 0


def test_bad_histograms_are_refused():
    with pytest.raises(ValueError, match="shape"):
        counts.from_histograms("csat", [[1, 2, 3]], scale=5)
    with pytest.raises(ValueError, match="negative"):
        counts.from_histograms("nps", [[-1] + [0] * 10])
    with pytest.raises(ValueError, match="metric"):
        counts.from_histograms("csi", [[1]])


def test_crosstab_from_histograms_matches_raw_crosstab():
    rng = np.random.default_rng(7)
    region = rng.choice(["east", "north", "south"], 600)
    score = rng.integers(0, 11, 600)
    score[region == "south"] = np.minimum(score[region == "south"], 7)  # clearly worse
    raw = crosstab({"region": region, "score": score}, "nps", "region")
    keys = sorted(set(region.tolist()))
    hist = [np.bincount(score[region == key], minlength=11) for key in keys]
    table = counts.crosstab_from_histograms("nps", keys, hist, group_by=("region",))
    assert table.overall == raw.overall
    for key in keys:
        mine, theirs = table.row(key), raw.row(key)
        assert mine.result == theirs.result
        assert mine.p_value == approx(theirs.p_value)
        assert mine.significant == theirs.significant
    assert table.row("south").significant and table.row("south").diff < 0


def test_means_from_moments_hand_computed():
    # Values 70, 80, 90: mean 80, sample sd 10, se 10 / sqrt(3) = 5.773503;
    # t(0.975, df 2) = 4.302653 -> half 24.841377 -> (55.158623, 104.84) clipped to 100.
    (result,) = counts.means_from_moments([3], [240.0], [19400.0], lower=0, upper=100)
    assert result.value == approx(80.0) and result.n == 3
    assert result.std_error == approx(5.773503, abs=1e-6)
    assert result.ci_low == approx(55.158623, abs=1e-5)
    assert result.ci_high == 100.0


def test_single_value_mean_has_a_point_interval():
    (result,) = counts.means_from_moments([1], [42.0], [1764.0], lower=0, upper=100)
    assert (result.value, result.ci_low, result.ci_high) == (42.0, 42.0, 42.0)


def test_crosstab_from_moments_marks_the_different_group():
    rng = np.random.default_rng(3)
    groups = {
        "a": rng.normal(70, 10, 200),
        "b": rng.normal(70, 10, 200),
        "c": rng.normal(50, 10, 200),
    }
    keys = list(groups)
    n = [len(v) for v in groups.values()]
    total = [v.sum() for v in groups.values()]
    squares = [(v**2).sum() for v in groups.values()]
    table = counts.crosstab_from_moments(keys, n, total, squares, lower=-1e9, upper=1e9)
    everything = np.concatenate(list(groups.values()))
    assert table.overall.value == approx(everything.mean())
    assert table.overall.std_error == approx(everything.std(ddof=1) / math.sqrt(600))
    assert table.row("c").significant and table.row("c").diff < 0
    assert table.row("a").diff > 0  # a is tested against b and c together


def test_moments_validation():
    with pytest.raises(ValueError, match="lower < upper"):
        counts.means_from_moments([1], [1.0], [1.0], lower=5, upper=5)
    with pytest.raises(ValueError, match="one value per group"):
        counts.means_from_moments([1, 2], [1.0], [1.0], lower=0, upper=10)
    with pytest.raises(ValueError, match="keys"):
        counts.crosstab_from_moments(["a"], [1, 2], [1.0, 2.0], [1.0, 4.0], lower=0, upper=10)
