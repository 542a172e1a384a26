"""Cleaning rules: speeders, straight-lining, contradictions, duplicates — and their effect."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from cxloop.surveys import cleaning, responses
from cxloop.surveys.models import Response
from cxloop.surveys.tests.answer_helpers import (
    HAPPY_PAGES,
    make_customer,
    make_invitation,
    make_survey,
)


def codes(flags):
    return [flag["code"] for flag in flags]


# --- the rules on their own -----------------------------------------------------------------


def test_speeder_default_threshold_comes_from_the_answered_items():
    assert cleaning.speeder_threshold(survey_seconds=None, answered_items=2) == 20  # floor
    assert cleaning.speeder_threshold(survey_seconds=None, answered_items=30) == 90
    assert cleaning.speeder_threshold(survey_seconds=180, answered_items=30) == 180
    flags = cleaning.check_speeder(duration_seconds=89, survey_seconds=None, answered_items=30)
    assert codes(flags) == ["speeder"]
    assert flags[0]["reason"] == "Finished in 89 s, faster than the 90 s threshold."
    assert cleaning.check_speeder(duration_seconds=90, survey_seconds=None, answered_items=30) == []


def test_straight_lining_needs_four_identical_rows():
    same = {"a": 3, "b": 3, "c": 3, "d": 3}
    assert codes(cleaning.check_straight_lining([("dims", same)])) == ["straight_lining"]
    assert cleaning.check_straight_lining([("dims", {**same, "d": 4})]) == []
    assert cleaning.check_straight_lining([("dims", {"a": 3, "b": 3, "c": 3})]) == []


@pytest.mark.parametrize(
    ("scores", "rule"),
    [
        ({"nps": 9, "csat": 1}, "promoter_very_dissatisfied"),
        ({"nps": 10, "csat": 1}, "promoter_very_dissatisfied"),
        ({"nps": 0, "csat": 5}, "detractor_very_satisfied"),
        ({"nps": 2, "csat": 5}, "detractor_very_satisfied"),
    ],
)
def test_contradictions(scores, rule):
    flags = cleaning.check_contradictions(scores)
    assert codes(flags) == ["contradiction"]
    assert flags[0]["params"] == {"rule": rule}


@pytest.mark.parametrize(
    "scores",
    [{"nps": 8, "csat": 1}, {"nps": 3, "csat": 5}, {"nps": 9, "csat": 2}, {}, {"nps": None}],
)
def test_no_contradiction(scores):
    assert cleaning.check_contradictions(scores) == []


def test_describe_flag_speaks_the_readers_language():
    flag = cleaning.check_straight_lining([("dims", dict.fromkeys("abcd", 2))])[0]
    assert flag["reason"] == "Gave every row of dims the same rating."
    assert cleaning.describe_flag({"code": "manual", "reason": "手工排除"}) == "手工排除"
    with translation.override("en"):
        assert cleaning.describe_flag(flag) == flag["reason"]


# --- through a real submit --------------------------------------------------------------------


def _submit(survey, *, pages=None, invitation=None, key="", seconds=600):
    response = responses.start_or_resume(
        survey=survey,
        version=survey.current_version,
        invitation=invitation,
        respondent_key=key,
        language="zh-hans",
        channel="link",
    )
    for page, data in (pages or HAPPY_PAGES).items():
        assert responses.save_page(response=response, page_index=page, data=data).errors == {}
    Response.objects.filter(pk=response.pk).update(
        started_at=timezone.now() - dt.timedelta(seconds=seconds)
    )
    response.refresh_from_db()
    return responses.submit_response(response=response)


@pytest.mark.django_db
def test_clean_response_is_counted():
    response = _submit(make_survey(), invitation=make_invitation(make_survey(key="other")))
    assert response.flags == [] and response.excluded is False


@pytest.mark.django_db
def test_speeder_is_flagged_and_excluded():
    survey = make_survey()
    response = _submit(survey, invitation=make_invitation(survey), seconds=5)
    assert codes(response.flags) == ["speeder"] and response.excluded is True


@pytest.mark.django_db
def test_survey_speeder_threshold_overrides_the_default():
    survey = make_survey(speeder_seconds=900)
    response = _submit(survey, invitation=make_invitation(survey), seconds=600)
    assert codes(response.flags) == ["speeder"]


@pytest.mark.django_db
def test_straight_lined_matrix_is_flagged():
    survey = make_survey()
    pages = dict(HAPPY_PAGES)
    pages[1] = {**pages[1], **{f"q-dims-{r}": "5" for r in ("efficiency", "attitude")}}
    pages[1].update({"q-dims-resolution": "5", "q-dims-environment": "5"})
    response = _submit(survey, pages=pages, invitation=make_invitation(survey))
    assert codes(response.flags) == ["straight_lining"] and response.excluded


@pytest.mark.django_db
def test_contradiction_is_flagged():
    survey = make_survey()
    pages = {**HAPPY_PAGES, 0: {"q-nps": "10", "q-overall": "1"}, 2: {"q-followup": "no"}}
    response = _submit(survey, pages=pages, invitation=make_invitation(survey))
    assert codes(response.flags) == ["contradiction"]
    assert response.csat == 1 and response.nps == 10


@pytest.mark.django_db
def test_same_customer_within_a_day_is_a_duplicate():
    survey = make_survey()
    customer = make_customer()
    first = _submit(survey, invitation=make_invitation(survey, customer))
    second = _submit(survey, invitation=make_invitation(survey, customer))
    assert first.flags == []
    assert codes(second.flags) == ["duplicate"] and second.excluded
    # A day later it is a fresh opinion, not a duplicate.
    Response.objects.filter(pk__in=[first.pk, second.pk]).update(
        submitted_at=timezone.now() - dt.timedelta(hours=25)
    )
    third = _submit(survey, invitation=make_invitation(survey, customer))
    assert third.flags == []


@pytest.mark.django_db
def test_same_respondent_key_on_a_public_link_is_a_duplicate():
    survey = make_survey(public=True)
    first = _submit(survey, key="k" * 64)
    # A second browser tab started before the first submit: a separate response, same key.
    second = Response.objects.create(
        survey=survey,
        version=survey.current_version,
        respondent_key="k" * 64,
        answers=first.answers,
        started_at=timezone.now() - dt.timedelta(minutes=10),
    )
    second = responses.submit_response(response=second)
    assert codes(second.flags) == ["duplicate"]
    other = _submit(survey, key="z" * 64)
    assert other.flags == []
