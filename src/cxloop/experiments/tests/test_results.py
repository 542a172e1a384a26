"""Results on known data match insights.abtest; the verdict refuses too-small samples."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest

from cxloop.customers.models import Customer
from cxloop.experiments import services
from cxloop.experiments.models import Assignment
from cxloop.insights import abtest
from cxloop.surveys.models import Invitation, Response, Survey, SurveyVersion

from .conftest import NOW, assign_all, make_cases, started

_nonce = itertools.count(1)
DEFINITION = {
    "format": "cxloop.survey/1", "title": "售后满意度", "language": "zh-hans",
    "pages": [{"key": "p1", "questions": [
        {"key": "overall", "type": "rating", "text": "满意度", "scale": 5, "role": "csat"},
        {"key": "effort", "type": "effort", "text": "容易程度", "scale": 7, "role": "ces"},
    ]}],
}  # fmt: skip


@pytest.fixture
def survey(db) -> Survey:
    survey = Survey.objects.create(key="after-case", title="售后", status=Survey.Status.ACTIVE)
    version = SurveyVersion.objects.create(survey=survey, number=1, definition=DEFINITION)
    survey.current_version = version
    survey.save(update_fields=["current_version"])
    return survey


def answer(survey, case, *, csat=None, ces=None, cycle=1, excluded=False) -> Response:
    invitation = Invitation.objects.create(
        survey=survey, dedupe_key=f"case-survey:{case.pk}:{cycle}", nonce=f"n{next(_nonce)}"
    )
    return Response.objects.create(
        survey=survey, version=survey.current_version, invitation=invitation, csat=csat,
        ces=ces, submitted_at=NOW, excluded=excluded, respondent_key=f"r{invitation.pk}",
    )  # fmt: skip


def scored(survey, experiment, variant: str, top: int, n: int) -> list:
    cases = make_cases(n, resolved_at=NOW - dt.timedelta(days=1))
    assign_all(experiment, cases, variant)
    for i, case in enumerate(cases):
        answer(survey, case, csat=(5 if i % 2 else 4) if i < top else (i % 3) + 1)
    return cases


def test_csat_top_two_matches_abtest_on_56_of_70_vs_48_of_80(owner, survey):
    experiment = started(owner, metric="csat_top2")
    a_cases = scored(survey, experiment, "A", 56, 70)
    scored(survey, experiment, "B", 48, 80)
    # Noise the result must ignore: excluded answers, later cycles, unanswered cases.
    noise = make_cases(3, resolved_at=NOW)
    assign_all(experiment, noise, "B")
    answer(survey, noise[0], csat=5, excluded=True)
    answer(survey, noise[1], csat=5, cycle=2)
    answer(survey, a_cases[0], csat=1, cycle=2)

    result = services.results(experiment=experiment)
    expected = abtest.compare_proportions(56, 70, 48, 80)
    assert [(r.successes, r.n) for r in result.rows] == [(56, 70), (48, 80)]
    assert result.test.p_value == pytest.approx(expected.p_value)
    assert result.ci == pytest.approx((expected.ci_low * 100, expected.ci_high * 100))
    assert result.effect_size == pytest.approx(expected.cohens_h)
    assert result.verdict == expected.verdict == abtest.A_BETTER
    gain = f"{100 * (56 / 70 - 48 / 80):.1f}"
    assert result.sentence.startswith(f"A (标准话术) is better by {gain} points (95 % CI ")
    assert result.rows[0].low < 80 < result.rows[0].high


def test_too_small_verdict_says_what_is_needed(owner, survey):
    experiment = started(owner, metric="csat_top2")
    scored(survey, experiment, "A", 8, 10)
    scored(survey, experiment, "B", 5, 10)
    result = services.results(experiment=experiment)
    expected = abtest.compare_proportions(8, 10, 5, 10)
    assert result.verdict == abtest.TOO_SMALL
    assert result.needed_n == expected.needed_n >= abtest.MIN_N
    assert result.sentence == (
        f"Too few cases to call: need about {expected.needed_n} per variant, have 10 and 10"
    )


def test_before_any_data_the_needed_size_comes_from_the_smallest_effect(owner):
    experiment = started(owner, metric="resolved_first_contact", min_effect=5)
    result = services.results(experiment=experiment)
    assert result.test is None and result.verdict == abtest.TOO_SMALL
    assert result.needed_n == abtest.required_sample_size(0.05, baseline=0.5)
    assert "have 0 and 0" in result.sentence


def test_first_contact_and_reopened_rates_read_the_case_columns(owner):
    fcr = started(owner, metric="resolved_first_contact")
    reopened = started(owner, name="Reopen", metric="reopened")
    resolved = NOW - dt.timedelta(days=1)
    groups = [
        ("A", make_cases(40, resolved_at=resolved, agent_response_count=1)),  # FCR
        ("A", make_cases(10, resolved_at=resolved, agent_response_count=2)),  # not FCR
        ("A", make_cases(5, resolved_at=resolved, agent_response_count=1, reopen_count=1)),
        ("A", make_cases(7)),  # never resolved: not counted
        ("B", make_cases(30, resolved_at=resolved, agent_response_count=1)),
        ("B", make_cases(20, reopen_count=1, status="assigned")),  # reopened, open again
    ]
    for variant, cases in groups:
        assign_all(fcr, cases, variant)
        assign_all(reopened, cases, variant)
    rows = services.results(experiment=fcr).rows
    assert [(r.successes, r.n) for r in rows] == [(40, 55), (30, 50)]
    result = services.results(experiment=reopened)
    assert [(r.successes, r.n) for r in result.rows] == [(5, 55), (20, 50)]
    assert result.verdict == abtest.compare_proportions(
        5, 55, 20, 50, higher_is_better=False).verdict == abtest.A_BETTER  # fmt: skip


def test_handling_minutes_mean_and_sd_match_welch(owner):
    experiment = started(owner, metric="handling_minutes")
    rng = np.random.default_rng(3)
    values = {"A": rng.integers(30, 300, 45), "B": rng.integers(20, 200, 40)}
    for variant, minutes in values.items():
        for m in minutes:
            cases = make_cases(
                1, resolved_at=NOW - dt.timedelta(days=3) + dt.timedelta(minutes=int(m))
            )
            assign_all(experiment, cases, variant)
    result = services.results(experiment=experiment)
    expected = abtest.compare_means(values["A"], values["B"], higher_is_better=False)
    a, b = result.rows
    assert (a.n, b.n) == (45, 40)
    assert a.value == pytest.approx(expected.mean_a, abs=1e-3)
    assert b.sd == pytest.approx(expected.sd_b, abs=1e-3)
    assert result.test.p_value == pytest.approx(expected.p_value, rel=1e-4)
    assert result.verdict == expected.verdict


def test_ces_mean_reads_the_survey_answer(owner, survey):
    experiment = started(owner, metric="ces_mean")
    for variant, scores in (("A", [3, 4, 5] * 12), ("B", [5, 6, 7] * 12)):
        cases = make_cases(len(scores), resolved_at=NOW)
        assign_all(experiment, cases, variant)
        for case, score in zip(cases, scores, strict=True):
            answer(survey, case, ces=score)
    result = services.results(experiment=experiment)
    assert [r.value for r in result.rows] == pytest.approx([4.0, 6.0])
    assert result.verdict == abtest.B_BETTER
    assert result.sentence.startswith("B (共情话术) is better by 2.00 (95 % CI")


def test_customer_experiment_counts_cases_opened_after_the_assignment(owner):
    experiment = started(owner, unit="customer", metric="resolved_first_contact")
    customer = Customer.objects.create(external_id="C-9")
    services.assign(experiment=experiment, customer=customer, now=NOW - dt.timedelta(days=5))
    make_cases(1, customer=customer, created_at=NOW - dt.timedelta(days=9), resolved_at=NOW,
               agent_response_count=1)  # before: not counted  # fmt: skip
    make_cases(2, customer=customer, resolved_at=NOW, agent_response_count=1)
    variant = Assignment.objects.get(experiment=experiment).variant
    rows = {r.variant: r for r in services.results(experiment=experiment).rows}
    assert (rows[variant].successes, rows[variant].n) == (2, 2)
