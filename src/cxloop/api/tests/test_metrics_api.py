"""GET /api/v1/metrics: numbers by group, bad input, permissions."""

from __future__ import annotations

import pytest

from cxloop.surveys.tests.results_helpers import local, make_response, make_survey

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey():
    survey = make_survey("delivery")
    for score in (10, 9, 9, 8, 3):
        make_response(survey, nps=score, csat=5, region="华东", submitted_at=local(2025, 5, 10))
    for score in (0, 5, 7, 9):
        make_response(survey, nps=score, csat=2, region="华南", submitted_at=local(2025, 6, 10))
    make_response(survey, nps=0, region="华东", excluded=True, submitted_at=local(2025, 5, 11))
    return survey


def test_nps_by_region(owner_api, survey):
    response = owner_api.get(
        "/metrics", {"metric": "nps", "survey": "delivery", "group_by": "region"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    rows = {row["group"]: row for row in body["rows"]}
    assert rows["华东"]["value"] == 40.0 and rows["华东"]["n"] == 5
    assert rows["华南"]["value"] == -25.0
    assert rows["华东"]["ci_low"] < 40 < rows["华东"]["ci_high"]
    assert rows["华东"]["significant"] is False
    assert body["overall"]["n"] == 9


def test_period_and_window(teammate_api, survey):
    params = {"metric": "csat", "survey": "delivery", "period": "month", "from": "2025-05-01"}
    body = teammate_api.get("/metrics", {**params, "to": "2025-05-31"}).json()
    assert [(r["period"], r["value"], r["n"]) for r in body["rows"]] == [("2025-05-01", 100.0, 5)]
    body = teammate_api.get("/metrics", params).json()
    assert [r["period"] for r in body["rows"]] == ["2025-05-01", "2025-06-01"]


def test_include_excluded(owner_api, survey):
    params = {"metric": "nps", "survey": "delivery", "include_excluded": "true"}
    assert owner_api.get("/metrics", params).json()["overall"]["n"] == 10


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "metric"),
        ({"metric": "happiness"}, "metric"),
        ({"metric": "nps", "group_by": "phone"}, "group_by"),
        ({"metric": "nps", "period": "year"}, "period"),
        ({"metric": "nps", "from": "yesterday"}, "from"),
        ({"metric": "nps", "survey": "nope"}, "survey"),
        ({"metric": "nps", "from": "2025-02-01", "to": "2025-01-01"}, "to"),
        ({"metric": "nps", "to": "9999-12-31"}, "to"),
    ],
)
def test_bad_input_is_a_field_error(owner_api, survey, params, field):
    response = owner_api.get("/metrics", params)
    assert response.status_code == 422
    assert field in response.json()["errors"], response.json()


def test_permissions(outsider_api, anonymous_api, analyst_api, survey):
    params = {"metric": "nps"}
    assert outsider_api.get("/metrics", params).status_code == 403
    assert anonymous_api.get("/metrics", params).status_code == 401
    assert analyst_api.get("/metrics", params).status_code == 200
