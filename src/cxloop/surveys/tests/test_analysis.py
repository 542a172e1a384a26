"""surveys.analysis: KANO results and key drivers from responses in the database."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from cxloop.insights import drivers
from cxloop.surveys import analysis
from cxloop.surveys.analysis import AnalysisInputError, Filters, driver_analysis, kano_results
from cxloop.surveys.models import Response
from cxloop.surveys.tests.analysis_helpers import (
    ANSWER,
    PAIR,
    add_driver_responses,
    add_kano_responses,
    driver_rows,
    make_survey,
    response,
)

pytestmark = pytest.mark.django_db
_KEYS = itertools.count(1)


@pytest.fixture
def survey():
    return make_survey()


# --- KANO --------------------------------------------------------------------------------------


def test_kano_categories_coefficients_and_priority(survey):
    add_kano_responses(survey)
    with CaptureQueriesContext(connection) as queries:
        features = kano_results(survey=survey)
    assert len(queries) == 1  # one query for all four KANO questions
    assert [f.key for f in features] == [
        "kano_delivery",  # must-be first
        "kano_service",  # then one-dimensional
        "kano_returns",  # then attractive
        "kano_wifi",  # indifferent last
    ]
    by_key = {f.key: f for f in features}
    delivery = by_key["kano_delivery"]
    assert delivery.category == "M" and delivery.n == 10
    assert delivery.counts == {"A": 1, "O": 3, "M": 6, "I": 0, "R": 0, "Q": 0}
    assert delivery.better == pytest.approx(0.4) and delivery.worse == pytest.approx(-0.9)
    assert delivery.feature == "Home delivery and installation"  # the reader's language
    wifi = by_key["kano_wifi"]
    assert wifi.category == "I" and wifi.better == pytest.approx(2 / 9) and wifi.worse == 0
    service = by_key["kano_service"]
    assert (service.better, service.worse) == (pytest.approx(0.7), pytest.approx(-0.7))
    returns = by_key["kano_returns"]
    assert returns.category == "A" and returns.counts["R"] == 1 and returns.counts["Q"] == 1
    assert returns.better == pytest.approx(0.75) and returns.n == 10
    assert str(returns.category_label) == "Attractive"


def test_kano_counts_cleaned_answers_and_whole_pairs_only(survey):
    add_kano_responses(survey)
    must_be = {"functional": "expect", "dysfunctional": "dislike"}
    Response.objects.bulk_create(
        [
            response(survey, {"kano_wifi": must_be}, excluded=True),  # flagged: left out
            response(survey, {"kano_wifi": {"functional": "like"}}),  # half a pair
            response(survey, {"kano_wifi": {"functional": "love", "dysfunctional": "like"}}),
            response(survey, {"kano_wifi": "like"}),  # not a pair at all
        ]
    )
    partial = response(survey, {"kano_wifi": must_be})
    partial.submitted_at = None  # not submitted yet
    partial.save()
    wifi = next(f for f in kano_results(survey=survey) if f.key == "kano_wifi")
    assert wifi.n == 10 and wifi.counts["M"] == 0


def test_kano_filters_and_unanswered_features(survey):
    add_kano_responses(survey, region="华东")
    Response.objects.bulk_create(
        response(
            survey,
            {"kano_wifi": {"functional": "expect", "dysfunctional": "dislike"}},
            region="华南",
            store="S1",
            channel="sms",
        )  # fmt: skip
        for _ in range(3)
    )
    south = kano_results(survey=survey, filters=Filters(region="华南"))
    assert [f.key for f in south][0] == "kano_wifi" and south[0].category == "M"
    assert south[0].n == 3 and all(f.n == 0 and f.category == "" for f in south[1:])
    assert kano_results(survey=survey, filters=Filters(store="S1", channel="email"))[0].n == 0
    assert sum(f.n for f in kano_results(survey=survey, filters=Filters(region="华东"))) == 40


def test_kano_period_filter_takes_local_days(survey):
    add_kano_responses(survey, submitted_at=dt.datetime(2026, 3, 1, 15, tzinfo=dt.UTC))  # 23:00
    inside = Filters.from_days(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 1))
    after = Filters.from_days(start=dt.date(2026, 3, 2))
    assert sum(f.n for f in kano_results(survey=survey, filters=inside)) == 40
    assert sum(f.n for f in kano_results(survey=survey, filters=after)) == 0


def test_kano_survey_without_kano_questions():
    from cxloop.surveys.tests.results_helpers import make_survey as plain_survey

    assert kano_results(survey=plain_survey()) == []


@settings(max_examples=25, deadline=None)
@given(pairs=st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5)), min_size=1, max_size=30))
def test_kano_matches_the_library_on_any_answers(pairs):
    """Whatever the answers, the database path gives exactly what insights.kano gives."""
    from cxloop.insights import kano

    survey = make_survey(key=f"kano-{next(_KEYS)}")  # hypothesis reuses the test's database
    Response.objects.bulk_create(
        response(survey, {"kano_wifi": {"functional": ANSWER[f], "dysfunctional": ANSWER[d]}})
        for f, d in pairs
    )
    wifi = next(f for f in kano_results(survey=survey) if f.key == "kano_wifi")
    expected = kano.evaluate(pairs)
    assert (wifi.counts, wifi.category, wifi.n) == (expected.counts, expected.category, expected.n)
    assert wifi.better == expected.better and wifi.worse == expected.worse


def test_pair_table_of_the_helpers_is_right():
    from cxloop.insights.kano import classify

    assert all(classify(*pair) == category for category, pair in PAIR.items())


# --- key drivers -------------------------------------------------------------------------------


def test_drivers_recover_known_weights(survey):
    add_driver_responses(survey, driver_rows())
    with CaptureQueriesContext(connection) as queries:
        report = driver_analysis(survey=survey)
    assert len(queries) == 1
    assert report.target.key == "nps" and report.message == ""
    # Defaults: the matrix rows and the role-less rating; "overall" (csat) is an outcome too.
    assert [d.key for d in report.dimensions] == ["dims.speed", "dims.attitude", "price"]
    rows = {row.key: row for row in report.rows}
    # Uncorrelated by design: speed and attitude carry equal weight, price none.
    assert rows["dims.speed"].importance == pytest.approx(50, abs=1e-6)
    assert rows["dims.attitude"].importance == pytest.approx(50, abs=1e-6)
    assert rows["price"].importance == pytest.approx(0, abs=1e-6)
    # R² = var(speed + attitude) / var(speed + attitude + e) = 4 / (4 + 2/3)
    assert report.r_squared == pytest.approx(4 / (4 + 2 / 3))
    assert report.n == 375 and report.n_dropped == 0
    assert rows["price"].mean == pytest.approx(3) and rows["price"].performance == pytest.approx(50)
    assert rows["dims.speed"].quadrant == drivers.KEEP_UP
    assert rows["price"].quadrant == drivers.POSSIBLE_OVERKILL
    assert report.rows[-1].key == "price"


def test_relative_weights_and_fix_first_order(survey):
    """Speed matters most and performs worst: fix first, listed first; both methods agree."""
    rows = driver_rows()
    for row in rows:
        if row["dims"]["speed"] == 5:  # fewer top marks for speed: lower performance
            row["dims"]["speed"] = 4
    rows = [{**r, "nps": min(10, r["nps"] + (r["dims"]["speed"] >= 4))} for r in rows]
    add_driver_responses(survey, rows)
    shapley = driver_analysis(survey=survey, method="shapley")
    weights = driver_analysis(survey=survey, method="relative_weights")
    assert shapley.rows[0].key == "dims.speed" and shapley.rows[0].quadrant == drivers.FIX_FIRST
    for a, b in zip(shapley.rows, weights.rows, strict=True):
        assert a.key == b.key and a.importance == pytest.approx(b.importance, abs=2.5)
    assert sum(row.importance for row in weights.rows) == pytest.approx(100)
    assert sum(row.share for row in weights.rows) == pytest.approx(weights.r_squared)


def test_drivers_listwise_deletion_and_off_scale_answers(survey):
    rows = driver_rows(noise=False)
    rows += [{"nps": 9, "dims": {"speed": 5}, "price": 4}] * 4  # attitude missing
    rows += [{"nps": 9, "dims": {"speed": 5, "attitude": 9}, "price": 4}]  # off the 1–5 scale
    rows += [{"nps": "9", "dims": {"speed": 5, "attitude": 4}, "price": None}]
    add_driver_responses(survey, rows)
    report = driver_analysis(survey=survey)
    assert report.n == 125 and report.n_dropped == 6


def test_drivers_chosen_target_and_dimensions(survey):
    rows = [{**r, "overall": min(5, r["dims"]["speed"])} for r in driver_rows(noise=False)]
    add_driver_responses(survey, rows)
    report = driver_analysis(
        survey=survey, target_key="overall", dimension_keys=["dims.speed", "price", "dims.speed"]
    )
    assert report.target.key == "overall"
    importance = {row.key: row.importance for row in report.rows}
    assert importance == {"dims.speed": pytest.approx(100), "price": pytest.approx(0, abs=1e-6)}
    assert report.r_squared == pytest.approx(1)


def test_too_few_complete_answers_says_how_many(survey):
    add_driver_responses(survey, driver_rows(noise=False)[:12])
    add_driver_responses(survey, [{"nps": 5}] * 3)
    report = driver_analysis(survey=survey)
    assert report.rows == [] and report.n == 12 and report.n_dropped == 3
    assert report.message == "Key-driver analysis needs at least 30 complete answers; 12 so far."


def test_constant_dimension_is_named(survey):
    add_driver_responses(survey, driver_rows(noise=False))
    report = driver_analysis(survey=survey, dimension_keys=["dims.speed", "overall"])
    assert report.rows == [] and "总体满意度" in report.message


def test_collinear_dimensions_explained(survey):
    add_driver_responses(
        survey, [{**r, "price": r["dims"]["speed"]} for r in driver_rows(noise=False)]
    )
    report = driver_analysis(survey=survey, dimension_keys=["dims.speed", "price"])
    assert report.rows == [] and "lockstep" in report.message


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"method": "ols"}, "method"),
        ({"target_key": "comment"}, "target"),
        ({"target_key": "dims.speed"}, "target"),  # a matrix row is a dimension, not an outcome
        ({"target_key": "nope"}, "target"),
        ({"dimension_keys": ["dims.speed", "wifi"]}, "dimensions"),
        ({"dimension_keys": ["nps"]}, "dimensions"),  # only the target itself
    ],
)
def test_bad_choices_are_reported_per_field(survey, arguments, field):
    with pytest.raises(AnalysisInputError) as caught:
        driver_analysis(survey=survey, **arguments)
    assert list(caught.value.errors) == [field] and caught.value.errors[field][0]


def test_too_many_dimensions_for_shapley(survey, monkeypatch):
    monkeypatch.setattr(drivers, "MAX_SHAPLEY_PREDICTORS", 2)
    with pytest.raises(AnalysisInputError) as caught:
        driver_analysis(survey=survey)
    assert "relative weights" in caught.value.errors["method"][0]
    assert driver_analysis(survey=survey, method="relative_weights").n == 0


def test_survey_without_a_score_to_explain():
    from cxloop.surveys.models import Survey

    survey = Survey.objects.create(key="empty", title="Empty", draft={"title": "x", "pages": []})
    with pytest.raises(AnalysisInputError) as caught:
        driver_analysis(survey=survey)
    assert "target" in caught.value.errors


def test_scale_items_rescale_nps_and_ratings(survey):
    items = {item.key: item for item in analysis.scale_items(survey)}
    assert items["nps"].rescale(5) == 50 and items["price"].rescale(5) == 100
    assert items["dims.speed"].label == "Speed" and items["dims.speed"].high == 5
    assert np.isclose(items["overall"].rescale(2), 25)
