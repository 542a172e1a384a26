"""Results pages: figures, cross-tab marks, comments filters, flagged/restore, permissions."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from cxloop.core.models import AuditLog
from cxloop.surveys.tests.results_helpers import (
    add_multiple_choice,
    local,
    make_response,
    make_survey,
    with_answer,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey():
    survey = make_survey()
    for _ in range(40):
        make_response(survey, nps=10, csat=5, region="华东", dims={"efficiency": 5, "attitude": 4})
        make_response(survey, nps=2, csat=2, region="华南", dims={"efficiency": 2, "attitude": 3})
    make_response(
        survey, nps=1, comment="物流太慢了", region="华南", submitted_at=local(2025, 3, 2)
    )
    make_response(
        survey, nps=10, comment="客服态度很好", region="华东", submitted_at=local(2025, 4, 2)
    )
    make_response(survey, nps=0, excluded=True, flags=[{"code": "speeder", "reason": "Too fast"}])
    return survey


def url(name, survey, *args):
    return reverse(f"surveys:{name}", args=[survey.pk, *args])


def test_results_page_shows_figures_and_marks(owner_client, survey):
    response = owner_client.get(url("view_results", survey))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-figure="responses">82<' in html
    assert "1 flagged and left out" in html
    assert 'data-mark="down"' in html and 'data-mark="up"' in html
    assert "chart-trend" in html and "chart-dimensions" in html and "chart-distribution-0" in html
    assert "plotly.min.js" in html


def test_results_page_shows_multiple_choice_shares(owner_client):
    survey = add_multiple_choice(make_survey())
    with_answer(make_response(survey, nps=9), "issues", ["speed", "packing"])
    with_answer(make_response(survey, nps=3), "issues", ["speed"])
    with_answer(make_response(survey, nps=1, excluded=True), "issues", ["price"])
    response = owner_client.get(url("view_results", survey))
    assert response.status_code == 200
    shown = {d.key: d for d, _chart in response.context["distributions"]}
    assert shown["issues"].counts == [("speed", 2), ("packing", 1), ("price", 0)]
    html = response.content.decode()
    assert "issues: 哪些方面需要改进？" in html
    assert "2 respondents; more than one answer allowed" in html
    # The chart: option labels, shares of the 2 respondents, most chosen on top (drawn last).
    assert "chart-distribution-2" in html
    labels = json.dumps(["Price", "包装", "配送速度"], separators=(",", ":"))  # as plotly escapes
    assert f'"x":[0.0,50.0,100.0],"y":{labels}' in html


def test_results_page_options(teammate_client, survey):
    page = teammate_client.get(url("view_results", survey), {"metric": "csat", "period": "week"})
    assert page.status_code == 200
    # Unknown choices fall back to the defaults instead of failing.
    assert teammate_client.get(url("view_results", survey), {"by": "phone"}).status_code == 200


def test_comments_filters_and_bad_dates(owner_client, survey):
    page = owner_client.get(url("results_comments", survey)).content.decode()
    assert "物流太慢了" in page and "客服态度很好" in page
    page = owner_client.get(url("results_comments", survey), {"band": "detractor"})
    assert "物流太慢了" in page.content.decode() and "客服态度很好" not in page.content.decode()
    page = owner_client.get(url("results_comments", survey), {"region": "华东"}).content.decode()
    assert "客服态度很好" in page and "物流太慢了" not in page
    page = owner_client.get(url("results_comments", survey), {"start": "2025-04-01"})
    assert "物流太慢了" not in page.content.decode()
    bad = owner_client.get(
        url("results_comments", survey), {"start": "2025-05-01", "end": "2025-01-01"}
    )
    assert bad.status_code == 200 and "Must not be before the start date." in bad.content.decode()
    bad = owner_client.get(url("results_comments", survey), {"start": "soon"})
    assert bad.status_code == 200 and "Enter a valid date." in bad.content.decode()


def test_flagged_list_and_restore(analyst_client, survey):
    page = analyst_client.get(url("results_flagged", survey)).content.decode()
    assert "Too fast" in page and "Restore" in page
    flagged = survey.responses.get(excluded=True)
    response = analyst_client.post(url("clean_responses", survey, flagged.pk))
    assert response.status_code == 302
    flagged.refresh_from_db()
    assert not flagged.excluded and flagged.restored_by.username == "analyst"
    assert AuditLog.objects.filter(action="response.restored").count() == 1
    assert (
        "Restored by analyst" in analyst_client.get(url("results_flagged", survey)).content.decode()
    )


def test_restore_needs_permission_and_post(teammate_client, analyst_client, survey):
    flagged = survey.responses.get(excluded=True)
    assert teammate_client.post(url("clean_responses", survey, flagged.pk)).status_code == 403
    assert analyst_client.get(url("clean_responses", survey, flagged.pk)).status_code == 405
    other = make_survey("other")
    wrong = reverse("surveys:clean_responses", args=[other.pk, flagged.pk])
    assert analyst_client.post(wrong).status_code == 404
    flagged.refresh_from_db()
    assert flagged.excluded


def test_export_download(teammate_client, survey):
    response = teammate_client.get(url("export_responses", survey), {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[0].startswith("response_id,submitted_at")
    assert len(text.splitlines()) == 1 + 83
    xlsx = teammate_client.get(url("export_responses", survey), {"format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx["Content-Type"].endswith("spreadsheetml.sheet")
    assert (
        teammate_client.get(url("export_responses", survey), {"format": "pdf"}).status_code == 404
    )


@pytest.mark.parametrize(
    "name", ["view_results", "results_comments", "results_flagged", "export_responses"]
)
def test_outsider_is_refused(outsider_client, survey, name):
    assert outsider_client.get(url(name, survey)).status_code == 403


def test_unknown_survey_is_404(owner_client):
    assert owner_client.get(reverse("surveys:view_results", args=[999])).status_code == 404


def test_anonymous_is_sent_to_login(client, survey):
    response = client.get(url("view_results", survey))
    assert response.status_code == 302 and "login" in response["Location"]
