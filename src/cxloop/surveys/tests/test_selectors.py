"""Survey metrics by group against hand-computed numbers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from cxloop.insights.metrics import csat as csat_metric
from cxloop.insights.metrics import nps as nps_metric
from cxloop.surveys import selectors
from cxloop.surveys.models import Invitation
from cxloop.surveys.tests.results_helpers import (
    add_multiple_choice,
    local,
    make_response,
    make_survey,
    with_answer,
)

pytestmark = pytest.mark.django_db
approx = pytest.approx


def by_group(table):
    return {row.group: row for row in table.rows}


def test_nps_by_region_hand_computed():
    survey = make_survey()
    for score in (10, 9, 9, 8, 3):  # 3 promoters, 1 passive, 1 detractor -> NPS 40
        make_response(survey, nps=score, region="华东")
    for score in (0, 5, 7, 9):  # 1 promoter, 2 detractors -> 100 * (1 - 2) / 4 = -25
        make_response(survey, nps=score, region="华南")
    table = selectors.metric_table(metric="nps", survey=survey, group_by="region")
    rows = by_group(table)
    assert rows["华东"].value == 40.0 and rows["华东"].n == 5
    assert rows["华南"].value == -25.0 and rows["华南"].n == 4
    # Overall: 4 promoters, 3 detractors of 9 -> 11.11
    assert table.overall.value == approx(11.11) and table.overall.n == 9
    reference = nps_metric([10, 9, 9, 8, 3])
    assert rows["华东"].ci_low == approx(round(reference.ci_low, 2))
    assert not rows["华东"].significant  # far below the minimum group size


def test_excluded_and_partial_responses_are_not_counted():
    survey = make_survey()
    make_response(survey, nps=10, region="华东")
    make_response(survey, nps=0, region="华东", excluded=True)
    partial = make_response(survey, nps=0, region="华东")
    partial.submitted_at = None
    partial.save()
    table = selectors.metric_table(metric="nps", survey=survey)
    assert (table.overall.value, table.overall.n) == (100.0, 1)
    everything = selectors.metric_table(metric="nps", survey=survey, include_excluded=True)
    assert (everything.overall.value, everything.overall.n) == (0.0, 2)


def test_other_surveys_are_not_counted():
    survey, other = make_survey("a"), make_survey("b")
    make_response(survey, csat=5)
    make_response(other, csat=1)
    assert selectors.metric_table(metric="csat", survey=survey).overall.value == 100.0


def test_csat_top_two_box_and_ces_mean():
    survey = make_survey()
    for score in (5, 4, 4, 3, 1):  # top-2 boxes: 3 of 5 -> 60 %
        make_response(survey, csat=score, ces=score + 2, channel="app")
    table = selectors.metric_table(metric="csat", survey=survey, group_by="channel")
    row = by_group(table)["app"]
    reference = csat_metric([5, 4, 4, 3, 1])
    assert row.value == 60.0 and row.n == 5
    assert (row.ci_low, row.ci_high) == (
        approx(round(reference.ci_low, 2)),
        approx(round(reference.ci_high, 2)),
    )
    ces = selectors.metric_table(metric="ces", survey=survey).overall
    assert ces.value == approx((7 + 6 + 6 + 5 + 3) / 5)


def test_csi_mean_of_the_column():
    survey = make_survey()
    make_response(survey, dims={"efficiency": 5, "attitude": 5})  # 100
    make_response(survey, dims={"efficiency": 3, "attitude": 4})  # 62.5
    make_response(survey, dims={"efficiency": 1, "attitude": 2})  # 12.5
    table = selectors.metric_table(metric="csi", survey=survey)
    assert table.overall.value == approx(58.33) and table.overall.n == 3


def test_trend_by_month_uses_local_time():
    survey = make_survey()
    # 2025-03-31 23:30 UTC is already April 1st in Shanghai.
    make_response(survey, nps=10, submitted_at=dt.datetime(2025, 3, 31, 23, 30, tzinfo=dt.UTC))
    make_response(survey, nps=0, submitted_at=local(2025, 3, 15))
    make_response(survey, nps=10, submitted_at=local(2025, 3, 16))
    table = selectors.metric_table(metric="nps", survey=survey, period="month")
    assert [(r.period, r.value, r.n) for r in table.rows] == [
        (dt.date(2025, 3, 1), 0.0, 2),
        (dt.date(2025, 4, 1), 100.0, 1),
    ]


def test_trend_by_week_starts_on_monday():
    survey = make_survey()
    make_response(survey, nps=9, submitted_at=local(2025, 6, 1))  # a Sunday
    make_response(survey, nps=9, submitted_at=local(2025, 6, 2, 0))  # Monday 00:00 local
    table = selectors.metric_table(metric="nps", survey=survey, period="week")
    assert [r.period for r in table.rows] == [dt.date(2025, 5, 26), dt.date(2025, 6, 2)]


def test_period_and_group_together_test_groups_within_each_period():
    survey = make_survey()
    for _ in range(40):
        make_response(survey, nps=10, region="华东", submitted_at=local(2025, 5, 3))
        make_response(survey, nps=2, region="华南", submitted_at=local(2025, 5, 4))
        make_response(survey, nps=9, region="华东", submitted_at=local(2025, 6, 3))
        make_response(survey, nps=9, region="华南", submitted_at=local(2025, 6, 4))
    table = selectors.metric_table(metric="nps", survey=survey, group_by="region", period="month")
    rows = {(r.period.month, r.group): r for r in table.rows}
    assert rows[(5, "华南")].value == -100.0 and rows[(5, "华南")].significant
    assert rows[(5, "华南")].p_value < 0.05
    assert not rows[(6, "华南")].significant  # equal in June


def test_date_window():
    survey = make_survey()
    make_response(survey, nps=10, submitted_at=local(2025, 1, 10))
    make_response(survey, nps=0, submitted_at=local(2025, 2, 10))
    table = selectors.metric_table(
        metric="nps", survey=survey, start=local(2025, 2, 1, 0), end=local(2025, 3, 1, 0)
    )
    assert (table.overall.value, table.overall.n) == (-100.0, 1)


def test_empty_survey_has_no_value():
    table = selectors.metric_table(metric="nps", survey=make_survey(), group_by="region")
    assert table.overall.value is None and table.overall.n == 0 and table.rows == []


def test_unknown_metric_is_refused():
    with pytest.raises(ValueError):
        selectors.metric_table(metric="nope")
    with pytest.raises(ValueError):
        selectors.metric_table(metric="nps", group_by="phone")


def test_response_figures_and_rate():
    survey = make_survey()
    make_response(survey, nps=10)
    make_response(survey, nps=1, excluded=True)
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    for index in range(4):
        Invitation.objects.create(
            survey=survey, nonce=f"n{index}", sent_at=now, answered_at=now if index == 0 else None
        )
    Invitation.objects.create(survey=survey, nonce="unsent")
    figures = selectors.response_figures(survey=survey)
    assert (figures.submitted, figures.excluded) == (1, 1)
    assert (figures.invitations_sent, figures.invitations_answered) == (4, 1)
    assert figures.response_rate == 25.0


def test_dimension_scores_and_distribution():
    survey = make_survey()
    make_response(survey, nps=9, csat=5, reason="物流", dims={"efficiency": 4, "attitude": 5})
    make_response(survey, nps=9, csat=2, reason="物流", dims={"efficiency": 2, "attitude": 5})
    make_response(survey, nps=3, reason="价格", dims={"efficiency": 3})
    dims = {d.key: d for d in selectors.dimension_scores(survey=survey)}
    assert (dims["efficiency"].mean, dims["efficiency"].n) == (3.0, 3)
    assert (dims["attitude"].mean, dims["attitude"].n) == (5.0, 2)
    found = {d.key: dict(d.counts) for d in selectors.distributions(survey=survey)}
    assert found["nps"]["9"] == 2 and found["nps"]["3"] == 1 and found["nps"]["10"] == 0
    assert found["overall"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
    assert found["reason"] == {"物流": 2, "价格": 1}


def test_multiple_choice_distribution_hand_computed():
    survey = add_multiple_choice(make_survey())
    with_answer(make_response(survey, nps=9), "issues", ["speed", "packing"])
    with_answer(make_response(survey, nps=3), "issues", ["speed"])
    with_answer(make_response(survey, nps=2), "issues", ["speed", "price", "speed"])  # once
    with_answer(make_response(survey, nps=8), "issues", [])  # saw it, chose nothing
    make_response(survey, nps=10)  # question hidden: not a respondent
    with_answer(make_response(survey, nps=1, excluded=True), "issues", ["packing", "price"])
    draft = with_answer(make_response(survey, nps=1), "issues", ["packing"])
    draft.submitted_at = None
    draft.save(update_fields=["submitted_at"])
    other = add_multiple_choice(make_survey("other"))
    with_answer(make_response(other, nps=5), "issues", ["price"])

    found = {d.key: d for d in selectors.distributions(survey=survey)}
    issues = found["issues"]
    assert issues.type == "multiple" and issues.text == "哪些方面需要改进？"
    # Most chosen first; packing and price tie at 1 and keep the option order.
    assert issues.counts == [("speed", 3), ("packing", 1), ("price", 1)]
    assert issues.respondents == 4
    assert [issues.share(n) for _value, n in issues.counts] == [75.0, 25.0, 25.0]
    assert issues.option_labels == {"speed": "配送速度", "packing": "包装", "price": "Price"}
    with translation.override("zh-hans"):  # labels in the reader's language
        issues = {d.key: d for d in selectors.distributions(survey=survey)}["issues"]
    assert issues.option_labels["price"] == "价格"
    assert found["reason"].counts == [("物流", 0), ("价格", 0)]  # other types unchanged


def test_multiple_choice_skips_non_list_answers_and_unknown_options():
    survey = add_multiple_choice(make_survey())
    with_answer(make_response(survey, nps=9), "issues", "speed")  # a bad import, not a list
    with_answer(make_response(survey, nps=9), "issues", ["speed", "gone"])  # option removed
    issues = {d.key: d for d in selectors.distributions(survey=survey)}["issues"]
    assert issues.respondents == 1
    assert issues.counts == [("speed", 1), ("gone", 1), ("packing", 0), ("price", 0)]


def test_multiple_choice_without_answers():
    survey = add_multiple_choice(make_survey())
    issues = {d.key: d for d in selectors.distributions(survey=survey)}["issues"]
    assert issues.respondents == 0 and issues.share(0) == 0.0
    assert issues.counts == [("speed", 0), ("packing", 0), ("price", 0)]


def test_comments_filters():
    survey = make_survey()
    make_response(survey, nps=2, comment="物流太慢", region="华南", submitted_at=local(2025, 3, 1))
    make_response(survey, nps=10, comment="客服很好", region="华东", submitted_at=local(2025, 4, 1))
    make_response(survey, nps=10, comment="", region="华东")
    make_response(survey, nps=10, region="华东")
    make_response(survey, nps=1, comment="被排除", excluded=True)
    texts = lambda qs: [r.answers["comment"] for r in qs]  # noqa: E731
    assert texts(selectors.comments(survey=survey)) == ["客服很好", "物流太慢"]
    assert texts(selectors.comments(survey=survey, band="detractor")) == ["物流太慢"]
    assert texts(selectors.comments(survey=survey, region="华东")) == ["客服很好"]
    assert texts(selectors.comments(survey=survey, start=local(2025, 3, 15))) == ["客服很好"]


def test_flagged_responses():
    survey = make_survey()
    make_response(survey, nps=10)
    flagged = make_response(survey, nps=10, excluded=True, flags=["speeder"])
    assert list(selectors.flagged_responses(survey=survey)) == [flagged]
