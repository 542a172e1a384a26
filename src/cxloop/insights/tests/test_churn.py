"""Tests for cxloop.insights.churn and churn_features: plain functions, no Django, no database."""

from __future__ import annotations

import json
import math
import os
import string
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit
from sklearn.metrics import roc_auc_score

import cxloop.insights.churn as churn
from cxloop.insights.churn import ChurnModel, auc_interval, explain, score, train
from cxloop.insights.churn_features import (
    FEATURES,
    REASONS,
    History,
    build_features,
    feature_keys,
    label_churn,
)

DAYS = 720  # simulated days 0..719; "today" is the last
GROUP_OF_VARIANT = {"complaints_reopened": "complaints", "no_recent_orders": "order_frequency"}
approx = pytest.approx


# --- synthetic populations -----------------------------------------------------------------------


def _events(rng, begin, end, rate):
    """A Poisson process of ``rate`` per day on [begin, end) for each customer: (who, day, k)."""
    length = np.clip(end - begin, 0, None)
    counts = rng.poisson(rate * length)
    who = np.repeat(np.arange(begin.size), counts)
    day = np.repeat(begin, counts) + rng.random(counts.sum()) * np.repeat(length, counts)
    return who, np.floor(day).astype(np.int64)


def simulate(n: int, seed: int, signal: bool = True) -> History:
    """Customers ordering at their own rate from a start day.

    With ``signal``, 60 % leave at a random day; in the 150 days before, they order at a
    quarter of their rate, complain ten times as often (mostly unresolved, often reopened) and
    score surveys low. Without it everybody orders at one constant rate all along and complains
    and answers at random, so the past says nothing about the future.
    """
    rng = np.random.default_rng(seed)
    start = rng.integers(0, 200, n).astype(float)
    if signal:
        rate = rng.gamma(2.0, 1 / 60, n)
        leave = np.where(rng.random(n) < 0.6, rng.uniform(start + 60, DAYS + 200), np.inf)
        decline = np.maximum(leave - 150, start)
    else:
        rate = np.full(n, 1 / 70)
        leave = decline = np.full(n, np.inf)
    turn, end = np.minimum(decline, DAYS), np.minimum(leave, DAYS)
    good, bad = _events(rng, start, turn, rate), _events(rng, turn, end, rate / 4)
    customer, day = (np.concatenate([g, b]) for g, b in zip(good, bad, strict=True))
    late_order = np.repeat([False, True], [good[0].size, bad[0].size])
    calm, angry = _events(rng, start, turn, 1 / 500), _events(rng, turn, end, 1 / 50)
    c_customer, c_day = (np.concatenate([g, b]) for g, b in zip(calm, angry, strict=True))
    late = np.repeat([False, True], [calm[0].size, angry[0].size])
    asked = rng.random(customer.size) < 0.25  # a survey after a quarter of the orders
    low = late_order[asked] & (rng.random(asked.sum()) < 0.7)
    scores = np.where(low, rng.integers(0, 7, asked.sum()), rng.integers(7, 11, asked.sum()))
    return History(
        n, customer, day, rng.integers(1_000, 50_000, customer.size),
        c_customer, c_day, rng.random(late.size) < np.where(late, 0.4, 0.85),
        rng.random(late.size) < np.where(late, 0.3, 0.05),
        customer[asked], day[asked], scores,
    )  # fmt: skip


def demo_like(seed: int = 20261122) -> History:
    """The shape of the console demo: 2,000 customers, 20,000 orders spread over one year,
    40 % of the regulars buying once (see cxloop.customers.demo)."""
    rng = np.random.default_rng(seed)
    n, orders = 2_000, 20_000
    weights = np.where(rng.random(n) >= 0.4, rng.lognormal(0, 0.5, n), 0)
    customer = np.concatenate([np.arange(n), rng.choice(n, orders - n, p=weights / weights.sum())])
    return History(n, customer, rng.integers(0, 364, orders), rng.integers(990, 100_000, orders))


@pytest.fixture(scope="module")
def signal_history() -> History:
    return simulate(5_000, seed=1)


@pytest.fixture(scope="module")
def signal_model(signal_history) -> ChurnModel:
    return train(signal_history, cutoff_day=DAYS - 1, horizon_days=90)


# --- isolation ---------------------------------------------------------------------------------


def test_importing_churn_does_not_import_django_or_sklearn():
    src = Path(churn.__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
    }
    code = (
        "import cxloop.insights.churn, sys; "
        "assert 'django' not in sys.modules, 'django'; assert 'sklearn' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


# --- features, hand-checked ----------------------------------------------------------------------


def tiny_history() -> History:
    # Customer 0: orders on days 10, 50, 95, 100 (+ one on 130, after the cutoff).
    # Customer 1: two orders on day 60. Customer 2: registered on day 20, never ordered.
    return History(
        n_customers=3,
        order_customer=[0, 0, 0, 0, 0, 1, 1],
        order_day=[10, 50, 95, 100, 130, 60, 60],
        order_amount_fen=[1000, 2000, 3000, 4000, 9000, 500, 700],
        complaint_customer=[0, 0, 0, 0, 2],
        complaint_day=[60, 80, 90, 101, 99],
        complaint_resolved=[False, False, True, False, True],
        complaint_reopened=[False, True, False, True, False],
        survey_customer=[0, 0, 0, 0, 2],
        survey_day=[20, 90, 90, 120, 50],
        survey_score=[9, 5, 3, 10, 8],
        registered_day=[30, 55, 20],
    )


def test_features_hand_checked_on_a_tiny_log():
    # Cutoff 100, window 30: "recent" is days 71..100, "previous" days 41..70.
    f = build_features(tiny_history(), 100, window_days=30, p_alive=[0.9, 0.2, np.nan])
    row = {key: f.column(key)[0] for key in feature_keys()}
    assert (row["orders_recent"], row["orders_previous"], row["orders_total"]) == (2, 1, 4)
    assert row["frequency_trend"] == approx(math.log(3 / 2))
    assert row["days_since_last_order"] == 0
    assert row["mean_gap_days"] == 30  # (100 - 10) / 3
    assert row["overdue_ratio"] == 0
    # Last gap 100 - 95 = 5 against the earlier mean (95 - 10) / 2 = 42.5.
    assert row["last_gap_ratio"] == approx(5 / 42.5)
    assert row["spend_trend"] == approx(math.log(71 / 21))  # 70 yuan recent, 20 before
    # Complaints on days 80 (unresolved, reopened) and 90 (resolved); 60 and 101 are outside.
    assert (row["complaints_recent"], row["unresolved_complaints"]) == (2, 1)
    assert row["reopened_complaints"] == 1
    # Two answers on day 90 (5 and 3): the lower counts; day 120 is after the cutoff.
    assert (row["last_survey_score"], row["low_survey"]) == (3, 1)
    assert row["tenure_days"] == 90  # first order on day 10 precedes registration on day 30
    assert row["p_alive"] == 0.9
    assert f.column("spend_recent_fen")[0] == 7000 and f.column("last_gap_days")[0] == 5


def test_features_same_day_orders_and_customers_without_orders():
    f = build_features(tiny_history(), 100, window_days=30)
    one = {key: f.column(key)[1] for key in feature_keys()}
    assert (one["orders_recent"], one["orders_previous"], one["days_since_last_order"]) == (
        0,
        2,
        40,
    )
    assert one["mean_gap_days"] == 0  # both orders on day 60
    assert one["overdue_ratio"] == 40  # a gap under a day counts as one day
    assert f.column("last_gap_days")[1] == 0 and math.isnan(one["last_gap_ratio"])  # 3+ orders
    assert math.isnan(one["last_survey_score"]) and math.isnan(one["low_survey"])
    assert one["tenure_days"] == 45  # registered on day 55, before the first order
    assert math.isnan(one["p_alive"])
    assert f.has_orders.tolist() == [True, True, False]
    two = {key: f.column(key)[2] for key in feature_keys()}
    assert math.isnan(two["days_since_last_order"]) and two["orders_total"] == 0
    assert (two["tenure_days"], two["last_survey_score"], two["low_survey"]) == (80, 8, 0)
    assert two["complaints_recent"] == 1 and two["unresolved_complaints"] == 0


def test_feature_windows_at_their_boundaries():
    # Cutoff 100, window 30: day 71 is the first recent day, 70 the last previous, 41 its first.
    history = History(1, [0] * 6, [40, 41, 70, 71, 100, 101])
    f = build_features(history, 100, window_days=30)
    assert f.column("orders_recent")[0] == 2  # 71, 100
    assert f.column("orders_previous")[0] == 2  # 41, 70
    assert f.column("orders_total")[0] == 5  # 101 is after the cutoff


def _reference_features(orders, cutoff, window):
    """Per-customer Python loop: the plain definition the vectorised code must match."""
    out = {}
    for c, days in orders.items():
        days = sorted(d for d in days if d <= cutoff)
        if not days:
            continue
        n = len(days)
        gaps = [b - a for a, b in zip(days, days[1:], strict=False)]
        out[c] = {
            "orders_recent": sum(cutoff - window < d for d in days),
            "orders_previous": sum(cutoff - 2 * window < d <= cutoff - window for d in days),
            "orders_total": n,
            "days_since_last_order": cutoff - days[-1],
            "mean_gap_days": sum(gaps) / len(gaps) if gaps else None,
            "last_gap_days": gaps[-1] if gaps else None,
            "earlier_gap_days": sum(gaps[:-1]) / len(gaps[:-1]) if n >= 3 else None,
        }
    return out


@settings(deadline=None, max_examples=60)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 60)), max_size=40),
    st.integers(0, 60),
    st.integers(1, 20),
)
def test_vectorised_features_match_a_per_customer_loop(orders, cutoff, window):
    customers = [c for c, _ in orders]
    history = History(6, np.array(customers, dtype=np.int64), [d for _, d in orders])
    f = build_features(history, cutoff, window_days=window)
    by_customer: dict[int, list[int]] = {}
    for c, d in orders:
        by_customer.setdefault(c, []).append(d)
    expected = _reference_features(by_customer, cutoff, window)
    for c in range(6):
        if c not in expected:
            assert not f.has_orders[c] and math.isnan(f.column("days_since_last_order")[c])
            continue
        for key, value in expected[c].items():
            got = f.column(key)[c]
            assert math.isnan(got) if value is None else got == approx(value), (c, key)


def test_history_rejects_bad_input():
    with pytest.raises(ValueError, match="order_customer must be customer indexes 0..1"):
        History(2, [0, 2], [1, 2])
    with pytest.raises(ValueError, match="order_day has 1 values, expected 2"):
        History(2, [0, 1], [1])
    with pytest.raises(ValueError, match="order_day must hold whole numbers"):
        History(2, [0, 1], [1.5, 2])
    with pytest.raises(ValueError, match="survey_score must be whole numbers from 0 to 10"):
        History(1, [0], [1], survey_customer=[0], survey_day=[1], survey_score=[11])
    with pytest.raises(ValueError, match="complaint_resolved must be booleans"):
        History(1, [0], [1], complaint_customer=[0], complaint_day=[1], complaint_resolved=[2])
    with pytest.raises(ValueError, match="n_customers"):
        History(0, [], [])
    with pytest.raises(ValueError, match="p_alive must be probabilities"):
        build_features(History(1, [0], [1]), 5, p_alive=[1.5])
    assert History(2, [0.0, 1.0], [3.0, 4.0]).order_day.dtype == np.int64  # integral floats


# --- labels --------------------------------------------------------------------------------------


def test_labels_at_the_horizon_boundaries():
    # Cutoff 100, horizon 30: an order on days 101..130 keeps a customer; 131 is too late.
    customers = [0, 0, 1, 1, 2, 2, 3, 5]
    days = [90, 130, 100, 131, 100, 101, 101, 5]
    churned, eligible = label_churn(customers, days, 6, cutoff_day=100, horizon_days=30)
    assert eligible.tolist() == [True, True, True, False, False, True]
    assert churned.tolist() == [False, True, False, False, False, True]


# --- training on a known signal -------------------------------------------------------------------


def test_known_signal_is_found_with_time_based_validation(signal_model):
    m = signal_model
    assert m.enough_data and m.signal and m.usable and m.reason_if_not == ""
    assert (m.train_cutoff_day, m.valid_cutoff_day, m.fitted_cutoff_day) == (539, 629, 629)
    assert m.auc > 0.75 and m.auc_ci_low > 0.5
    assert m.auc_ci_low < m.auc < m.auc_ci_high
    assert m.brier < m.brier_reference  # better than predicting the base rate for everyone
    assert 0.2 < m.base_rate_valid < 0.7 and m.n_valid > 3_000
    coefficient = dict(zip(m.features, m.coefficients, strict=True))
    # The simulated leavers complain without resolution and score surveys low.
    assert coefficient["unresolved_complaints"] > 0 and coefficient["low_survey"] > 0
    assert coefficient["p_alive"] == 0  # not given: left out, not guessed


def test_calibration_is_roughly_monotone_and_close(signal_model):
    bins = signal_model.calibration
    assert len(bins) == 10 and sum(b.n for b in bins) == signal_model.n_valid
    observed = [b.observed_rate for b in bins]
    assert all(
        later >= earlier - 0.05 for earlier, later in zip(observed, observed[1:], strict=False)
    )
    assert observed[-1] - observed[0] > 0.6
    for b in bins:
        assert b.predicted_low <= b.mean_predicted <= b.predicted_high
        assert b.observed_low <= b.observed_rate <= b.observed_high
        assert abs(b.mean_predicted - b.observed_rate) < 0.1


def test_without_refit_the_stored_model_is_the_validated_one(signal_history, signal_model):
    m = train(signal_history, cutoff_day=DAYS - 1, refit=False)
    assert m.fitted_cutoff_day == m.train_cutoff_day == 539
    assert m.auc == signal_model.auc  # the same validation either way
    assert m.coefficients != signal_model.coefficients


def test_min_auc_refuses_a_weak_signal(signal_history):
    m = train(signal_history, cutoff_day=DAYS - 1, min_auc=0.99)
    assert m.enough_data and not m.signal and not m.usable
    assert m.reason_code == "weak_signal" and "below 0.99" in m.reason_if_not


def test_p_alive_column_is_used_when_given(signal_history):
    # A stand-in for BG/NBD: "alive" falls with the days since the last order.
    def p_alive(day):
        since = build_features(signal_history, day).column("days_since_last_order")
        return np.exp(-np.nan_to_num(since, nan=1e9) / 60)

    m = train(signal_history, cutoff_day=DAYS - 1, p_alive=p_alive)
    assert dict(zip(m.features, m.coefficients, strict=True))["p_alive"] != 0
    assert m.signal


# --- no signal: no false confidence ---------------------------------------------------------------


@pytest.mark.parametrize(("n", "seed"), [(5_000, 2), (600, 3)])
def test_no_signal_gives_no_confidence(n, seed):
    m = train(simulate(n, seed, signal=False), cutoff_day=DAYS - 1)
    assert m.enough_data  # enough data, just nothing to learn
    assert m.auc_ci_low <= 0.5 <= m.auc_ci_high
    assert not m.signal and not m.usable
    assert m.reason_code == "no_signal"
    assert m.reason_if_not.startswith("no reliable signal: the validation AUC of ")
    assert "(95 % interval" in m.reason_if_not
    assert ChurnModel.from_dict(json.loads(json.dumps(m.as_dict(), allow_nan=False))) == m
    # Predictions hug the base rate: no decile strays far from it.
    assert all(abs(b.observed_rate - m.base_rate_valid) < 0.12 for b in m.calibration)


# --- too little data ------------------------------------------------------------------------------


def test_too_few_customers_is_refused_with_the_numbers():
    m = train(simulate(150, seed=4), cutoff_day=DAYS - 1)
    assert not m.enough_data and not m.signal and not m.usable
    assert m.reason_code == "too_little_data_training"
    p = m.reason_params
    assert (p["min_customers"], p["min_churners"]) == (200, 30)
    assert p["customers"] < 200
    assert m.reason_if_not.startswith("needs at least 200 customers with 2+ orders, 30 churners")
    assert f"the training period has {p['customers']} customers with 2+ orders" in m.reason_if_not
    assert m.coefficients == () and m.auc is None and m.calibration == ()
    with pytest.raises(ValueError, match="this churn model was not trained: needs at least"):
        score(m, build_features(simulate(150, seed=4), DAYS - 1))


def test_too_short_history_is_refused():
    # 200 days of orders; two 90-day horizons and a 90-day window need 270.
    history = History(1_000, np.arange(1_000) % 1_000, np.arange(1_000) % 200)
    m = train(history, cutoff_day=199)
    assert (m.enough_data, m.reason_code) == (False, "history_too_short")
    assert m.reason_params["needed_days"] == 270 and m.reason_params["found_days"] == 199
    assert "needs at least 270 days of order history" in m.reason_if_not
    assert m.reason_if_not.endswith("found 199")


def test_demo_shaped_data_trains():
    m = train(demo_like(), cutoff_day=363)
    assert m.enough_data and m.n_train > 1_000
    # The demo's one-time buyers never return: a real, strong signal.
    assert m.signal and m.auc > 0.8


def test_train_rejects_bad_parameters(signal_history):
    with pytest.raises(ValueError, match="horizon_days"):
        train(signal_history, cutoff_day=700, horizon_days=0)
    with pytest.raises(ValueError, match="min_auc"):
        train(signal_history, cutoff_day=700, min_auc=0.4)
    with pytest.raises(ValueError, match="regularisation"):
        train(signal_history, cutoff_day=700, regularisation=0)
    with pytest.raises(ValueError, match="confidence"):
        train(signal_history, cutoff_day=700, confidence=1.5)


# --- scoring, reasons, serialisation --------------------------------------------------------------


def test_risk_is_the_documented_logistic_formula(signal_model, signal_history):
    # Anyone holding the JSON (e.g. a SQL view) can score: transform, standardise, dot, sigmoid.
    features = build_features(signal_history, DAYS - 1)
    risk, _ = score(signal_model, features, top=0)
    data = signal_model.as_dict()
    transform = {"identity": lambda x: x, "sqrt": np.sqrt, "log1p": np.log1p}
    for i in np.flatnonzero(~np.isnan(risk))[:50]:
        logit = data["intercept"]
        for key, t, mean, scale, coef in zip(
            data["features"], data["transforms"], data["means"], data["scales"],
            data["coefficients"], strict=True,
        ):  # fmt: skip
            z = (transform[t](features.column(key)[i]) - mean) / scale
            logit += 0.0 if math.isnan(z) else coef * z
        assert risk[i] == approx(expit(logit), rel=1e-9)


def test_inactive_customers_are_not_scored(signal_model, signal_history):
    features = build_features(signal_history, DAYS - 1)
    risk, top = score(signal_model, features)
    since = features.column("days_since_last_order")
    inactive = ~(since < 365)
    assert inactive.any() and np.isnan(risk[inactive]).all()
    assert all(top[i] == [] for i in np.flatnonzero(inactive))
    assert ((risk[~inactive] > 0) & (risk[~inactive] < 1)).all()
    assert explain(signal_model, features, np.flatnonzero(inactive)[:3]) == [[]] * 3
    assert explain(signal_model, features, []) == []
    with pytest.raises(ValueError, match="customer indexes must be 0..4999"):
        explain(signal_model, features, [5_000])


def test_top_reasons_are_positive_sorted_and_at_most_three(signal_model, signal_history):
    features = build_features(signal_history, DAYS - 1)
    risk, top = score(signal_model, features)
    keys = set(feature_keys())
    scored = np.flatnonzero(~np.isnan(risk))
    assert any(len(top[i]) == 3 for i in scored)
    for i in scored[:500]:
        contributions = [c for _, c in top[i]]
        assert len(top[i]) <= 3 and all(c > 0 for c in contributions)
        assert contributions == sorted(contributions, reverse=True)
        assert {k for k, _ in top[i]} <= keys
    _, one = score(signal_model, features, top=1)
    assert all(one[i] == top[i][:1] for i in scored[:500])


def test_reasons_only_tell_values_on_the_risky_side(signal_model, signal_history):
    # "no order for 2 days" must never be a reason, even where correlated features leave
    # days_since_last_order a negative coefficient.
    features = build_features(signal_history, DAYS - 1)
    _, top = score(signal_model, features)
    model = signal_model.as_dict()
    transform = {"identity": lambda x: x, "sqrt": np.sqrt, "log1p": np.log1p}
    told = 0
    for i in range(2_000):
        for key, _ in top[i]:
            j = model["features"].index(key)
            value = transform[model["transforms"][j]](features.column(key)[i])
            risky = FEATURES[feature_keys().index(key)].risky
            assert (value - model["means"][j]) * risky > 0, (i, key)
            told += 1
    assert told > 1_000
    history, _, steady = _customers_for_reasons()
    assert explain(signal_model, build_features(history, DAYS - 1), steady) == [[]]


def _customers_for_reasons() -> tuple[History, int, int]:
    """Customer 0 used to order every two weeks, ordered once in the last 90 days, complained
    twice (one unresolved) and scored 3/10; customer 1 orders every week, happily."""
    steady = list(range(DAYS - 360, DAYS, 7))
    falling = [*range(DAYS - 180, DAYS - 90, 15), DAYS - 60]
    history = History(
        2, [0] * len(falling) + [1] * len(steady), falling + steady,
        complaint_customer=[0, 0], complaint_day=[DAYS - 50, DAYS - 20],
        complaint_resolved=[True, False], survey_customer=[0, 1],
        survey_day=[DAYS - 20, DAYS - 5], survey_score=[3, 10],
    )  # fmt: skip
    return history, 0, 1


def test_reasons_name_the_right_features_in_words(signal_model):
    history, falling, steady = _customers_for_reasons()
    features = build_features(history, DAYS - 1)
    risk, _ = score(signal_model, features)
    assert risk[falling] > 0.5 > risk[steady]
    reasons = explain(signal_model, features, falling)[0]
    texts = [r.text for r in reasons]
    assert len(reasons) == 3
    assert "last survey score 3/10" in texts
    assert "2 complaints in the last 90 days, 1 unresolved" in texts
    for reason in reasons:
        assert reason.contribution > 0 and reason.features
        group = GROUP_OF_VARIANT.get(reason.key, reason.key)
        assert {FEATURES[feature_keys().index(k)].reason for k in reason.features} == {group}
    contributions = [r.contribution for r in reasons]
    assert contributions == sorted(contributions, reverse=True)
    happy = explain(signal_model, features, steady)[0]
    assert not {r.key for r in happy} & {"complaints", "complaints_reopened", "survey"}


def test_reason_templates_give_translatable_key_and_params(signal_model):
    history, falling, _ = _customers_for_reasons()
    features = build_features(history, DAYS - 1)
    for reason in explain(signal_model, features, [falling])[0]:
        template = REASONS[reason.key]
        names = {
            name
            for text in (template.singular, template.plural)
            for _, name, _, _ in string.Formatter().parse(text)
            if name
        }
        assert set(reason.params) == names  # exactly what the msgid needs, nothing else
        assert template.render(reason.params) == reason.text
        json.dumps(reason.as_dict(), allow_nan=False)


def test_order_frequency_reason_reads_like_the_plans():
    template = REASONS["order_frequency"]
    params = {"orders_recent": 1, "orders_previous": 6, "window": 90}
    expected = "ordered 1 time in the last 90 days, against 6 in the 90 days before"
    assert template.render(params) == expected
    assert template.render({**params, "orders_recent": 2}).startswith("ordered 2 times")


def test_json_round_trip_gives_identical_scores(signal_model, signal_history):
    text = json.dumps(signal_model.as_dict(), allow_nan=False)
    again = ChurnModel.from_dict(json.loads(text))
    assert again == signal_model
    features = build_features(signal_history, DAYS - 1)
    risk, top = score(signal_model, features)
    risk2, top2 = score(again, features)
    assert np.array_equal(risk, risk2, equal_nan=True) and top == top2


def test_refused_model_round_trips_too():
    m = train(simulate(150, seed=4), cutoff_day=DAYS - 1)
    again = ChurnModel.from_dict(json.loads(json.dumps(m.as_dict(), allow_nan=False)))
    assert again == m and not again.enough_data


def test_from_dict_refuses_foreign_or_stale_models(signal_model):
    data = signal_model.as_dict()
    with pytest.raises(ValueError, match="unknown churn model format"):
        ChurnModel.from_dict({**data, "format": 99})
    with pytest.raises(ValueError, match="lacks"):
        ChurnModel.from_dict({k: v for k, v in data.items() if k != "means"})
    with pytest.raises(ValueError, match="features \\['gone'\\] this version lacks"):
        ChurnModel.from_dict({**data, "features": ["gone", *data["features"][1:]]})
    with pytest.raises(ValueError, match="inconsistent"):
        ChurnModel.from_dict({**data, "means": data["means"][:-1]})


def test_features_must_use_the_models_window(signal_model, signal_history):
    with pytest.raises(ValueError, match="build them with window_days=90"):
        score(signal_model, build_features(signal_history, DAYS - 1, window_days=60))


# --- AUC ------------------------------------------------------------------------------------------


def test_auc_hand_computed_delong():
    # Positives 0.8, 0.6; negatives 0.7, 0.2, 0.1: 5 of 6 pairs ordered right -> AUC 5/6.
    # V10 = (1, 2/3), V01 = (1/2, 1, 1): var = (1/18) / 2 + (1/12) / 3 = 1/18; se = 0.235702
    auc, se, low, high = auc_interval([1, 1, 0, 0, 0], [0.8, 0.6, 0.7, 0.2, 0.1])
    assert auc == approx(5 / 6) and se == approx(math.sqrt(1 / 18))
    assert low == approx(5 / 6 - 1.959964 * math.sqrt(1 / 18), abs=1e-6) and high == 1.0


@settings(deadline=None, max_examples=50)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 5)), min_size=4, max_size=60))
def test_auc_matches_sklearn_and_flips_with_the_scores(pairs):
    labels = np.array([y for y, _ in pairs])
    scores = np.array([s for _, s in pairs], dtype=float)
    if labels.sum() < 2 or (~labels).sum() < 2:
        with pytest.raises(ValueError, match="2\\+ of each class"):
            auc_interval(labels, scores)
        return
    auc, se, low, high = auc_interval(labels, scores)
    assert auc == approx(roc_auc_score(labels, scores))
    assert auc_interval(labels, -scores)[0] == approx(1 - auc)
    assert 0 <= low <= auc <= high <= 1 and se >= 0


# --- speed, small --------------------------------------------------------------------------------


def test_features_are_vectorised():
    # 200,000 orders of 20,000 customers: a per-customer loop would take many seconds.
    rng = np.random.default_rng(5)
    history = History(20_000, rng.integers(0, 20_000, 200_000), rng.integers(0, 720, 200_000))
    started = time.perf_counter()
    features = build_features(history, 719)
    assert time.perf_counter() - started < 2.0
    assert features.values.shape == (20_000, len(FEATURES))
