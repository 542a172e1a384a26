"""KANO and key-driver pages: content, filters, bad input, permissions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cxloop.surveys.tests.analysis_helpers import (
    add_driver_responses,
    add_kano_responses,
    driver_rows,
    make_survey,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey():
    survey = make_survey()
    add_kano_responses(survey, region="华东", store="S1", channel="sms")
    add_driver_responses(survey, driver_rows(), region="华南", store="S2", channel="wechat")
    return survey


def url(name, survey):
    return reverse(f"survey_analysis:{name}", args=[survey.pk])


def test_kano_page_table_in_priority_order_and_chart(analyst_client, survey):
    page = analyst_client.get(url("kano", survey))
    assert page.status_code == 200
    html = page.content.decode()
    assert [f.key for f in page.context["features"]] == [
        "kano_delivery",
        "kano_service",
        "kano_returns",
        "kano_wifi",
    ]
    assert 'data-feature="kano_delivery" data-category="M"' in html
    assert "Must-be" in html and "One-dimensional" in html and "0.40" in html and "-0.90" in html
    assert "chart-kano" in html and "plotly.min.js" in html
    for quadrant in ("Attractive", "One-dimensional", "Must-be", "Indifferent"):
        assert f'"text":"{quadrant}"' in html  # the quadrant names on the scatter


def test_kano_page_filters(owner_client, survey):
    page = owner_client.get(url("kano", survey), {"region": "华南"})
    assert page.status_code == 200
    assert all(f.n == 0 for f in page.context["features"])
    assert "chart-kano" not in page.content.decode()
    east = owner_client.get(url("kano", survey), {"region": "华东", "channel": "sms"})
    assert sum(f.n for f in east.context["features"]) == 40


def test_kano_page_in_chinese(owner_client, survey, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    page = owner_client.get(url("kano", survey), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200 and "送货上门安装" in page.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"region": "火星"},  # not a region of the answers
        {"start": "2026-13-01"},
        {"start": "2026-05-02", "end": "2026-05-01"},
        {"start": "0001-01-01"},  # before UTC can say it
        {"end": "9999-12-31"},
    ],
)
def test_kano_bad_filters_are_form_messages(owner_client, survey, params):
    page = owner_client.get(url("kano", survey), params)
    assert page.status_code == 400
    assert 'class="errorlist"' in page.content.decode() and page.context["features"] == []


def test_kano_page_without_kano_questions(owner_client):
    from cxloop.surveys.tests.results_helpers import make_survey as plain_survey

    page = owner_client.get(url("kano", plain_survey()))
    assert page.status_code == 200 and 'data-message="no-kano"' in page.content.decode()


def test_drivers_page_defaults(teammate_client, survey):
    page = teammate_client.get(url("drivers", survey))
    assert page.status_code == 200
    report = page.context["report"]
    assert report.target.key == "nps" and report.n == 375 and report.n_dropped == 10
    html = page.content.decode()
    assert "chart-importance" in html and "chart-ipa" in html
    assert 'data-dimension="price" data-quadrant="possible_overkill"' in html
    for quadrant in ("Fix first", "Keep up", "Low priority", "Possible overkill"):
        assert f'"text":"{quadrant}"' in html


def test_drivers_page_method_target_dimensions_and_filters(owner_client, survey):
    page = owner_client.get(
        url("drivers", survey),
        {"method": "relative_weights", "target": "nps", "dimensions": ["dims.speed", "price"],
         "region": "华南"},
    )  # fmt: skip
    assert page.status_code == 200
    report = page.context["report"]
    assert report.method == "relative_weights" and report.n_dropped == 0
    assert [row.key for row in report.rows] == ["dims.speed", "price"]


def test_drivers_page_too_few_answers(owner_client, survey):
    page = owner_client.get(url("drivers", survey), {"region": "华东"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "needs at least 30 complete answers; 0 so far" in html
    assert "chart-ipa" not in html


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"method": "ols"}, "method"),
        ({"target": "comment"}, "target"),
        ({"dimensions": ["wifi"]}, "dimensions"),
        ({"dimensions": ["nps"]}, "dimensions"),  # the target itself: the analysis refuses
        ({"start": "yesterday"}, "start"),
    ],
)
def test_drivers_bad_choices_are_form_messages(owner_client, survey, params, field):
    page = owner_client.get(url("drivers", survey), params)
    assert page.status_code == 400
    assert page.context["form"].errors[field]
    assert 'class="errorlist"' in page.content.decode()


def test_results_page_links_to_the_analysis(analyst_client, survey):
    html = analyst_client.get(reverse("surveys:view_results", args=[survey.pk])).content.decode()
    assert url("kano", survey) in html and url("drivers", survey) in html


@pytest.mark.parametrize("name", ["kano", "drivers"])
def test_outsider_is_refused(outsider_client, survey, name):
    assert outsider_client.get(url(name, survey)).status_code == 403


@pytest.mark.parametrize("name", ["kano", "drivers"])
def test_anonymous_goes_to_login(client, survey, name):
    page = client.get(url(name, survey))
    assert page.status_code == 302 and "login" in page["Location"]


def test_unknown_survey_is_404(owner_client):
    assert owner_client.get("/surveys/999999/analysis/kano/").status_code == 404
