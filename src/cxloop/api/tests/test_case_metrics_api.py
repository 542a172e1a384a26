"""GET /api/v1/cases/metrics: figures by group, bad input, permissions and scope."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from cxloop.api.tests.conftest import ApiClient, make_token
from cxloop.cases.tests import conftest as case_fixtures
from cxloop.cases.tests.metrics_helpers import build_world

pytestmark = pytest.mark.django_db
MARCH = {"from": "2025-03-01", "to": "2025-03-31"}
# The cases app's fixtures: two departments, their categories, a logistics handler.
departments = case_fixtures.departments
categories = case_fixtures.categories
handler = case_fixtures.handler


@pytest.fixture
def world(categories, teammate, handler):
    return build_world(categories, teammate, handler)


def rows_of(body) -> dict:
    return {(r["group"], r["target"]): (r["value"], r["count"], r["n"]) for r in body["rows"]}


def test_fcr_by_department(owner_api, world):
    params = {"metric": "fcr", "group_by": "department", **MARCH}
    response = owner_api.get("/cases/metrics", params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["metric"] == "fcr" and body["unit"] == "percent"
    assert body["overall"][0]["value"] == 40.0 and body["overall"][0]["group"] is None
    assert rows_of(body) == {
        ("cs-test", None): (50.0, 1, 2), ("logistics-test", None): (33.3, 1, 3),
    }  # fmt: skip
    assert [r["label"] for r in body["rows"]] == ["客服中心", "物流部"]


def test_window_and_complaint_rate_by_region(analyst_api, world):
    params = {"metric": "complaint_rate", "group_by": "region", **MARCH}
    body = analyst_api.get("/cases/metrics", params).json()
    assert body["overall"][0]["value"] == 666.67
    assert rows_of(body) == {("华东", None): (500.0, 4, 8), ("华南", None): (2000.0, 2, 1)}
    empty = {"metric": "fcr", "from": "2030-01-01", "to": "2030-01-31"}
    body = analyst_api.get("/cases/metrics", empty).json()
    assert body["rows"] == [] and body["overall"][0]["value"] is None


def test_times_sla_and_backlog(owner_api, world):
    body = owner_api.get("/cases/metrics", {"metric": "first_response_time", **MARCH}).json()
    assert body["unit"] == "working_seconds" and body["overall"][0]["value"] == 2400.0
    body = owner_api.get("/cases/metrics", {"metric": "sla_compliance", **MARCH}).json()
    assert [r["target"] for r in body["overall"]] == [None, "first_response", "resolution"]
    assert body["overall"][1]["value"] == 66.7
    params = {"metric": "backlog", "group_by": "month", **MARCH}
    body = owner_api.get("/cases/metrics", params).json()
    assert body["overall"][0]["n"] == 2  # C (reopened) and E are open
    assert body["rows"][0]["group"] == "2025-03"
    assert body["overall"][0]["buckets"]["gt_7d"] == 2


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "metric"),
        ({"metric": "happiness"}, "metric"),
        ({"metric": "fcr", "group_by": "phone"}, "group_by"),
        ({"metric": "fcr", "from": "yesterday"}, "from"),
        ({"metric": "fcr", "to": "2025-02-30"}, "to"),
        ({"metric": "fcr", "from": "2025-02-01", "to": "2025-01-01"}, "to"),
        ({"metric": "fcr", "to": "9999-12-31"}, "to"),
        ({"metric": "fcr", "from": "0001-01-01"}, "from"),  # no UTC instant for its midnight
    ],
)
def test_bad_input_is_a_field_error(owner_api, params, field):
    response = owner_api.get("/cases/metrics", params)
    assert response.status_code == 422
    assert field in response.json()["errors"], response.json()


def test_permissions(outsider_api, anonymous_api, teammate_api, analyst_api, handler, world):
    params = {"metric": "repeat_rate", "group_by": "department", **MARCH}
    assert outsider_api.get("/cases/metrics", params).status_code == 403
    assert teammate_api.get("/cases/metrics", params).status_code == 200  # agents read metrics
    assert anonymous_api.get("/cases/metrics", params).status_code == 401
    assert analyst_api.get("/cases/metrics", params).json()["overall"][0]["n"] == 6
    handler_api = ApiClient(make_token(handler))
    assert handler_api.get("/cases/metrics", params).status_code == 403
    handler.user_permissions.add(Permission.objects.get(codename="view_case_metrics"))
    body = handler_api.get("/cases/metrics", params).json()
    assert body["overall"][0]["n"] == 3  # logistics only
    assert [r["group"] for r in body["rows"]] == ["logistics-test"]


def test_in_the_openapi_schema(owner_api):
    paths = owner_api.get("/openapi.json").json()["paths"]
    assert "/api/v1/cases/metrics" in paths


def test_not_shadowed_by_a_case_route():
    """/cases/metrics is matched before any /cases/{…} route (the cases router's case page)."""
    from cxloop.api.api import api

    routes = [str(pattern.pattern) for pattern in api.urls[0]]
    ours = routes.index("cases/metrics")
    assert all(not r.startswith("cases/") or r.startswith("cases/metrics") for r in routes[:ours])
    assert all(not r.startswith("cases/<") for r in routes[:ours])
