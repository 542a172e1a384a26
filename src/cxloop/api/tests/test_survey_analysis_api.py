"""/api/v1/surveys/{key}/kano and /drivers: the numbers, filters, bad input, permissions."""

from __future__ import annotations

import pytest

from cxloop.surveys.tests.analysis_helpers import (
    add_driver_responses,
    add_kano_responses,
    driver_rows,
    make_survey,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey():
    survey = make_survey("store-visit")
    add_kano_responses(survey, region="华东")
    add_driver_responses(survey, driver_rows(), region="华南")
    return survey


def test_kano_numbers_in_priority_order(analyst_api, survey):
    response = analyst_api.get("/surveys/store-visit/kano")
    assert response.status_code == 200
    body = response.json()
    assert body["survey"] == "store-visit"
    features = body["features"]
    assert [f["key"] for f in features] == [
        "kano_delivery",
        "kano_service",
        "kano_returns",
        "kano_wifi",
    ]
    delivery = features[0]
    assert delivery["category"] == "M" and delivery["n"] == 10
    assert delivery["counts"] == {"A": 1, "O": 3, "M": 6, "I": 0, "R": 0, "Q": 0}
    assert delivery["better"] == pytest.approx(0.4) and delivery["worse"] == pytest.approx(-0.9)


def test_kano_filters(owner_api, survey):
    body = owner_api.get("/surveys/store-visit/kano", {"region": "华南"}).json()
    assert all(f["n"] == 0 and f["category"] is None for f in body["features"])
    body = owner_api.get("/surveys/store-visit/kano", {"from": "2000-01-01", "to": "2999-12-31"})
    assert sum(f["n"] for f in body.json()["features"]) == 40


def test_drivers_numbers(teammate_api, survey):
    response = teammate_api.get("/surveys/store-visit/drivers")
    assert response.status_code == 200
    body = response.json()
    assert body["method"] == "shapley" and body["target"] == "nps"
    assert body["dimensions"] == ["dims.speed", "dims.attitude", "price"]
    assert body["n"] == 375 and body["n_dropped"] == 10 and body["message"] is None
    assert body["r_squared"] == pytest.approx(4 / (4 + 2 / 3))
    rows = {row["key"]: row for row in body["rows"]}
    assert rows["dims.speed"]["importance"] == pytest.approx(50, abs=1e-6)
    assert rows["price"]["importance"] == pytest.approx(0, abs=1e-6)
    assert rows["price"]["quadrant"] == "possible_overkill"
    assert rows["price"]["performance"] == pytest.approx(50)


def test_drivers_method_target_dimensions(owner_api, survey):
    params = {"method": "relative_weights", "target": "nps", "dimensions": ["dims.speed", "price"]}
    body = owner_api.get("/surveys/store-visit/drivers", params).json()
    assert body["method"] == "relative_weights" and body["dimensions"] == ["dims.speed", "price"]
    assert sum(row["importance"] for row in body["rows"]) == pytest.approx(100)


def test_drivers_too_few_answers(owner_api, survey):
    body = owner_api.get("/surveys/store-visit/drivers", {"region": "华东"}).json()
    assert body["rows"] == [] and body["n"] == 0 and body["min_n"] == 30
    assert body["message"] == "Key-driver analysis needs at least 30 complete answers; 0 so far."


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("drivers", {"method": "ols"}, "method"),
        ("drivers", {"target": "comment"}, "target"),
        ("drivers", {"target": "dims.speed"}, "target"),
        ("drivers", {"dimensions": ["dims.speed", "nope"]}, "dimensions"),
        ("drivers", {"from": "2026-05-02", "to": "2026-05-01"}, "to"),
        ("drivers", {"to": "9999-12-31"}, "to"),
        ("kano", {"from": "0001-01-01"}, "from"),
        ("kano", {"from": "not a date"}, "from"),
        ("kano", {"region": "华\x00南"}, "region"),
    ],
)
def test_bad_input_is_a_message_per_field(owner_api, survey, path, params, field):
    response = owner_api.get(f"/surveys/store-visit/{path}", params)
    assert response.status_code == 422
    assert response.json()["errors"][field]


def test_unknown_survey_is_404(owner_api, db):
    for path in ("kano", "drivers"):
        response = owner_api.get(f"/surveys/nope/{path}")
        assert response.status_code == 404 and response.json()["detail"]


@pytest.mark.parametrize("path", ["kano", "drivers"])
def test_outsider_and_anonymous_are_refused(outsider_api, anonymous_api, survey, path):
    assert outsider_api.get(f"/surveys/store-visit/{path}").status_code == 403
    assert anonymous_api.get(f"/surveys/store-visit/{path}").status_code == 401
