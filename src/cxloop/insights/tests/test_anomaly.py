"""Tests for cxloop.insights.anomaly: detection, false alarms, small samples, no storms."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cxloop.insights import anomaly
from cxloop.insights.anomaly import Alert, Point, open_alerts, scan

DAYS = 365


def complaint_rates(stores: int, seed: int, base: float = 0.05, cases: float = 120.0):
    """Binomial daily complaint rates per store and the cases behind them."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(cases, (stores, DAYS)).astype(float)
    rate = rng.uniform(0.6, 1.4, (stores, 1)) * base
    events = rng.binomial(counts.astype(int), np.broadcast_to(rate, counts.shape))
    return events, counts, rate[:, 0], rng


def test_importing_anomaly_does_not_import_django():
    src = Path(anomaly.__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(src)}
    code = "import cxloop.insights.anomaly, sys; assert 'django' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


def test_injected_jump_found_within_days_with_place_and_size():
    events, counts, rate, rng = complaint_rates(200, seed=4)
    store = 42
    events[store, 200:] = rng.binomial(counts[store, 200:].astype(int), 2 * rate[store])
    result = scan(events / counts, counts, kind="rate")
    found = [a for a in result.alerts if a.series == store and a.day >= 200]
    assert found, "the doubled complaint rate was not found"
    alert = found[0]
    assert 200 <= alert.day <= 204
    assert alert.direction == "up" and alert.z > 3 and alert.p_value < 0.003
    assert alert.expected == pytest.approx(rate[store], rel=0.25)
    assert 0.4 < alert.relative_jump < 2.5  # doubling is +100 %, one day's value is noisy
    assert alert.jump == pytest.approx(alert.value - alert.expected)
    # Other stores stay mostly quiet in the same days.
    others = [a for a in result.alerts if a.series != store and 200 <= a.day <= 204]
    assert len(others) <= 3


@pytest.mark.parametrize("kind", ["rate", "mean", "mean without counts"])
def test_pure_noise_false_alarm_rate_near_nominal(kind):
    rng = np.random.default_rng(8)
    shape = (800, DAYS)
    counts = rng.poisson(80, shape).astype(float)
    if kind == "rate":
        values = rng.binomial(counts.astype(int), 0.1) / counts
        result = scan(values, counts, kind="rate")
    elif kind == "mean":  # e.g. a daily mean CSAT of `counts` answers
        values = rng.normal(4.2, 0.9 / np.sqrt(counts))
        result = scan(values, counts, kind="mean")
    else:  # e.g. a daily first-response time in minutes
        values = rng.normal(30, 6, shape)
        result = scan(values, kind="mean")
    share = result.out_of_control.sum() / result.judged.sum()
    # Nominal: P(|N(0,1)| > 3) = 0.27 % of judged days; measured 0.15-0.26 % (docs/understand.md).
    assert 0.0005 < share < 0.005
    assert len(result.alerts) / 800 < 1.2  # episodes per series-year


def test_over_dispersed_rates_do_not_flood_alerts():
    # The true daily rate itself wanders (+-30 %): binomial limits alone would cry wolf; the
    # Laney factor widens them.
    rng = np.random.default_rng(21)
    counts = rng.poisson(400, (400, DAYS)).astype(float)
    daily = np.clip(rng.normal(0.1, 0.03, counts.shape), 0.01, 0.5)
    result = scan(rng.binomial(counts.astype(int), daily) / counts, counts, kind="rate")
    assert result.out_of_control.sum() / result.judged.sum() < 0.005


def test_small_sample_days_are_skipped_and_do_not_alert():
    events, counts, _, _ = complaint_rates(20, seed=5)
    counts[3, 150] = 10  # a quiet day: 10 cases, 8 complaints (80 %)
    events[3, 150] = 8
    result = scan(events / counts, counts, kind="rate", min_count=30)
    assert not result.judged[3, 150] and np.isnan(result.z[3, 150])
    assert not any(a.series == 3 and 150 <= a.day <= 152 for a in result.alerts)
    # With no minimum the same day is judged and alerts.
    loose = scan(events / counts, counts, kind="rate", min_count=1)
    assert any(a.series == 3 and a.day == 150 for a in loose.alerts)


def test_missing_days_are_skipped():
    events, counts, _, _ = complaint_rates(5, seed=6)
    values = events / counts
    values[1, 100:110] = np.nan
    result = scan(values, counts)
    assert not result.judged[1, 100:110].any() and result.judged[1, 110:130].any()


def test_one_alert_per_episode_and_recovery_closes_it():
    events, counts, rate, rng = complaint_rates(10, seed=9)
    store = 4
    days = slice(200, 210)  # ten days at triple the rate, then back to normal
    events[store, days] = rng.binomial(counts[store, days].astype(int), 3 * rate[store])
    result = scan(events / counts, counts, kind="rate", recover_days=3)
    episode = [a for a in result.alerts if a.series == store and 195 <= a.day <= 230]
    assert len(episode) == 1
    assert result.out_of_control[store, 200:215].sum() >= 5  # many days out, one alert
    alert = episode[0]
    assert alert.closed_day is not None and 210 < alert.closed_day < 235
    assert alert.in_control_days == 3


def test_a_lasting_change_is_absorbed_into_the_baseline():
    events, counts, rate, rng = complaint_rates(3, seed=10)
    events[0, 150:] = rng.binomial(counts[0, 150:].astype(int), 2 * rate[0])
    result = scan(events / counts, counts)
    first = next(a for a in result.alerts if a.series == 0 and a.day >= 150)
    assert first.closed_day is not None and first.closed_day < 150 + 60
    assert result.expected[0, -1] == pytest.approx(2 * rate[0], rel=0.2)


def test_side_up_ignores_drops():
    values = np.random.default_rng(1).normal(30, 3, (1, DAYS))
    values[0, 200:] -= 15
    assert any(a.direction == "down" for a in scan(values, kind="mean").alerts)
    assert not any(a.day >= 200 for a in scan(values, kind="mean", side="up").alerts)


def test_weekly_seasonality_is_expected_not_alerted():
    rng = np.random.default_rng(12)
    pattern = np.array([0, 0, 0, 0, 2, 9, 9])  # weekend rush in first-response minutes
    values = rng.normal(30, 2, (300, DAYS)) + np.tile(pattern, DAYS // 7 + 1)[:DAYS]
    result = scan(values, kind="mean", weekly=True)
    saturday = np.arange(DAYS) % 7 == 5
    judged = result.judged & saturday
    assert np.nanmean(result.expected[judged]) == pytest.approx(39, abs=0.3)
    assert result.out_of_control.sum() / result.judged.sum() < 0.005
    values[7, 250:] += 6  # three SDs of the daily noise
    again = scan(values, kind="mean", weekly=True)
    assert any(a.series == 7 and 250 <= a.day <= 256 for a in again.alerts)


def test_labels_and_per_series_kinds():
    events, counts, _, _ = complaint_rates(2, seed=2)
    csat = np.random.default_rng(2).normal(4.3, 0.1, (1, DAYS))
    values = np.vstack([events / counts, csat])
    all_counts = np.vstack([counts, np.full((1, DAYS), 100.0)])
    labels = [("complaint_rate", "s1"), ("complaint_rate", "s2"), ("csat", "s1")]
    dates = [f"d{d}" for d in range(DAYS)]
    values[2, 300] = 3.0
    result = scan(values, all_counts, kind=["rate", "rate", "mean"], series=labels, days=dates)
    assert any(a.series == ("csat", "s1") and a.day == "d300" for a in result.alerts)


def test_points_replayed_through_open_alerts_give_the_same_episodes():
    events, counts, rate, rng = complaint_rates(60, seed=13)
    events[5, 100:130] = rng.binomial(counts[5, 100:130].astype(int), 2.5 * rate[5])
    result = scan(events / counts, counts)
    still_open, seen = [], []
    for day in range(DAYS):
        update = open_alerts(still_open, result.points(day))
        still_open = update.open
        seen += update.opened
        seen = [next((c for c in update.closed if c.series == a.series and c.day == a.day), a)
                for a in seen]  # fmt: skip
    key = lambda a: (a.series, a.day, a.closed_day)  # noqa: E731
    assert sorted(map(key, seen), key=str) == sorted(map(key, result.alerts), key=str)
    assert {a.series for a in still_open} == {a.series for a in result.open}


def point(series, day, out, z=4.0):
    return Point(series, day, 0.2, 0.1, z, 1e-4, out)


def test_open_alerts_state_machine():
    first = open_alerts([], [point("s1", 1, True), point("s2", 1, False)])
    assert [a.series for a in first.opened] == ["s1"] and first.closed == []
    assert first.opened[0].jump == pytest.approx(0.1) and first.opened[0].relative_jump == 1.0
    # Still out: no second alert for s1 (no storm), and the in-control count stays 0.
    second = open_alerts(first.open, [point("s1", 2, True)])
    assert second.opened == [] and len(second.open) == 1 and second.open[0].day == 1
    # Two days back in, then out again: the count restarts.
    state = second.open
    for day, out in [(3, False), (4, False), (5, True), (6, False), (7, False)]:
        state = open_alerts(state, [point("s1", day, out)]).open
    assert state[0].in_control_days == 2
    done = open_alerts(state, [point("s1", 8, False)])
    assert done.open == [] and done.closed[0].closed_day == 8 and done.closed[0].day == 1
    # After recovery a new jump is a new alert.
    again = open_alerts(done.open, [point("s1", 9, True, z=-5)])
    assert again.opened[0].day == 9 and again.opened[0].direction == "down"


def test_open_alerts_refuses_two_open_alerts_for_one_series():
    alert = Alert.from_point(point("s1", 1, True))
    with pytest.raises(ValueError, match="two open alerts"):
        open_alerts([alert, alert], [])
    with pytest.raises(ValueError):
        open_alerts([], [], recover_days=0)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (([[0.5, 1.5]],), {}, "between 0 and 1"),
        (([[1.0, 2.0]], [[1.0]]), {"kind": "mean"}, "counts must match"),
        (([[1.0, 2.0]], [[1.0, -1.0]]), {"kind": "mean"}, "counts must be"),
        (([[1.0, 2.0]],), {"kind": "median"}, "kind"),
        (([[0.1, 0.2]],), {"lam": 0}, "lam"),
        (([[0.1, 0.2]],), {"side": "left"}, "side"),
        (([[0.1, 0.2]],), {"min_history": 2}, "min_history"),
        (([],), {}, "non-empty"),
        (([[0.1, 0.2]],), {"days": [1]}, "labels"),
    ],
)
def test_bad_input(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        scan(*args, **kwargs)


def test_800_series_by_365_days_scan_fast():
    events, counts, _, _ = complaint_rates(800, seed=1)
    start = time.perf_counter()
    scan(events / counts, counts)
    assert time.perf_counter() - start < 5.0
