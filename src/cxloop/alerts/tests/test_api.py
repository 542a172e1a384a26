"""/api/v1/alerts: permissions as in the console, filters and keyset pages, the evidence,
acknowledging, rule thresholds with per-field errors, the caller's own subscriptions."""

from __future__ import annotations

import datetime as dt
import typing

import pytest

from cxloop.alerts.models import Alert, AlertRule, Dimension, Direction, Metric, Subscription
from cxloop.alerts.services import scan_kpis
from cxloop.alerts.tests.conftest import at, fill_store
from cxloop.api.routers import alerts as router
from cxloop.api.tests.conftest import ApiClient, make_token
from cxloop.core.models import AuditLog

pytestmark = pytest.mark.django_db
DAY = dt.date(2025, 3, 31)


def make_alert(place="上海徐汇店", day=DAY, **fields) -> Alert:
    values = {"metric": "complaint_rate", "dimension": "store", "value": 100.0,
              "expected": 20.0, "jump_abs": 80.0, "jump_rel": 4.0, "z": 4.3,
              "p_value": 1e-5, "direction": "up", "sample": 200, **fields}  # fmt: skip
    return Alert.objects.create(place=place, day=day, **values)


@pytest.fixture
def alert(db):
    return make_alert()


def test_outsider_and_anonymous_are_refused(outsider_api, alert):
    rule = AlertRule.objects.first()
    calls = [
        ("GET", "/alerts", None), ("GET", f"/alerts/{alert.pk}", None),
        ("POST", f"/alerts/{alert.pk}/acknowledge", {}), ("GET", "/alerts/rules", None),
        ("PATCH", f"/alerts/rules/{rule.pk}", {"limit": 4}),
        ("GET", "/alerts/subscriptions", None), ("POST", "/alerts/subscriptions", {}),
        ("DELETE", "/alerts/subscriptions/1", None),
    ]  # fmt: skip
    for method, path, body in calls:
        assert outsider_api.send(method, path, body).status_code == 403, (method, path)
        assert ApiClient().send(method, path, body).status_code == 401, (method, path)


@pytest.mark.parametrize("who", ["owner", "teammate", "analyst"])
def test_staff_read_alerts(request, who, alert):
    api = request.getfixturevalue(f"{who}_api")
    listing = api.get("/alerts")
    assert listing.status_code == 200
    item = listing.json()["items"][0]
    assert item["place"] == "上海徐汇店" and item["jump"] == 80.0 and item["z"] == 4.3
    assert item["status"] == "open" and item["url"].endswith(f"/alerts/{alert.pk}/")
    assert api.get(f"/alerts/{alert.pk}").status_code == 200


def test_only_the_manager_reads_and_changes_rules(owner_api, teammate_api, analyst_api):
    rule = AlertRule.objects.get(metric=Metric.NPS, dimension=Dimension.REGION)
    for api in (teammate_api, analyst_api):
        assert api.get("/alerts/rules").status_code == 403
        assert api.send("PATCH", f"/alerts/rules/{rule.pk}", {"limit": 4}).status_code == 403
    rules = owner_api.get("/alerts/rules").json()
    assert len(rules) == 8 and {r["min_sample"] for r in rules} == {30}
    body = {"min_sample": 5, "lam": 0.2, "limit": 3.5, "direction": "both", "active": False}
    changed = owner_api.send("PATCH", f"/alerts/rules/{rule.pk}", body)
    assert changed.status_code == 200 and changed.json()["direction"] == "both"
    rule.refresh_from_db()
    assert (rule.min_sample, rule.lam, rule.limit, rule.active) == (5, 0.2, 3.5, False)
    audit = AuditLog.objects.get(action="alerts.rule.changed")
    assert audit.before["limit"] == 3.0 and audit.after["limit"] == 3.5


def test_rule_errors_are_422_per_field(owner_api):
    rule = AlertRule.objects.first()
    path = f"/alerts/rules/{rule.pk}"
    bad = {"min_sample": 0, "lam": 2, "limit": "x", "direction": "sideways"}
    response = owner_api.send("PATCH", path, bad)
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"min_sample", "lam", "limit", "direction"}
    for body in ({"lam": None}, {"colour": "red"}, {"limit": 0.1}, {"min_sample": 10**30}):
        answer = owner_api.send("PATCH", path, body)
        assert answer.status_code == 422 and answer.json()["errors"], body
    assert owner_api.send("PATCH", "/alerts/rules/999999", {"limit": 4}).status_code == 404
    rule.refresh_from_db()
    assert rule.limit == 3.0 and not AuditLog.objects.filter(action="alerts.rule.changed")


def test_filters(owner_api, alert):
    make_alert(place="华北", metric="nps", dimension="region", day=DAY - dt.timedelta(days=9),
               value=1, expected=30, jump_abs=-29, direction="down",
               status=Alert.Status.RECOVERED)  # fmt: skip

    def places(**params):
        response = owner_api.get("/alerts", params)
        assert response.status_code == 200, response.json()
        return [item["place"] for item in response.json()["items"]]

    assert places() == ["上海徐汇店", "华北"]  # newest day first
    assert places(metric="nps") == places(dimension="region") == ["华北"]
    assert places(status="open") == ["上海徐汇店"] and places(place="华北") == ["华北"]
    assert places(since=(DAY - dt.timedelta(days=1)).isoformat()) == ["上海徐汇店"]
    assert places(place="华") == []  # an exact place
    for params in ({"metric": "bogus"}, {"status": "<x>"}, {"since": "yesterday"},
                   {"limit": 0}, {"cursor": "abc"}, {"cursor": "9999999.1"},
                   {"place": "\x00"}, {"place": "x" * 65}):  # fmt: skip
        assert owner_api.get("/alerts", params).status_code == 422, params


def test_keyset_pages_newest_day_first(owner_api):
    made = [make_alert(place=f"店{i}", day=DAY - dt.timedelta(days=i % 3)) for i in range(7)]
    expected = sorted(made, key=lambda a: (a.day, a.pk), reverse=True)
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = owner_api.get("/alerts", params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [a.pk for a in expected]


def test_detail_has_the_evidence_links_and_cases(owner_api, teammate_api):
    AlertRule.objects.exclude(metric=Metric.COMPLAINT_RATE, dimension=Dimension.STORE).update(
        active=False
    )
    days = [DAY - dt.timedelta(days=59 - i) for i in range(60)]
    fill_store("上海徐汇店", days, 200, lambda i: 20 if i == 59 else 3 + i % 3)
    scan_kpis(now=at(DAY + dt.timedelta(days=1), 7))
    alert = Alert.objects.get()
    body = owner_api.get(f"/alerts/{alert.pk}").json()
    assert body["place"] == "上海徐汇店" and body["sample"] == 200
    points = {point["day"]: point for point in body["evidence"]}
    assert len(points) > 60 and points[DAY.isoformat()]["value"] == pytest.approx(100.0)
    quiet = points[(DAY - dt.timedelta(days=5)).isoformat()]
    assert quiet["lower"] < quiet["expected"] < quiet["upper"]
    assert len(body["cases"]) == 20 and body["links"][0]["url"].startswith("http")
    assert teammate_api.get(f"/alerts/{alert.pk}").json()["cases"] == body["cases"]


@pytest.mark.parametrize("path", ["/alerts/999999", "/alerts/0", f"/alerts/{2**70}"])
def test_unknown_alert_is_404_json(owner_api, path):
    response = owner_api.get(path)
    assert response.status_code == 404 and "detail" in response.json()


def test_acknowledge(teammate_api, analyst_api, alert):
    path = f"/alerts/{alert.pk}/acknowledge"
    assert analyst_api.post(path, {"note": "x"}).status_code == 403
    assert teammate_api.post(path, {"note": "x" * 2001}).status_code == 422
    response = teammate_api.post(path, {"note": " 物流部在排查 "})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "acknowledged" and body["acknowledged_by"] == "teammate"
    assert body["acknowledge_note"] == "物流部在排查" and body["acknowledged_at"]
    audit = AuditLog.objects.get(action="alerts.alert.acknowledged")
    assert audit.after["note"] == "物流部在排查"
    assert teammate_api.post(path, {"note": "again"}).status_code == 409
    assert teammate_api.post("/alerts/999999/acknowledge", {}).status_code == 404


def test_subscription_round_trip(analyst_api, teammate_api, analyst):
    new = analyst_api.post("/alerts/subscriptions", {"metric": "csat", "place": " 华北 "})
    assert new.status_code == 201
    body = new.json()
    assert (body["metric"], body["dimension"], body["place"], body["channel"]) == (
        "csat", "", "华北", "email",
    )  # fmt: skip
    again = analyst_api.post("/alerts/subscriptions", {"metric": "csat", "place": "华北"})
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert [s["id"] for s in analyst_api.get("/alerts/subscriptions").json()] == [body["id"]]
    assert teammate_api.get("/alerts/subscriptions").json() == []
    bad = analyst_api.post("/alerts/subscriptions", {"metric": "nope", "channel": "fax"})
    assert bad.status_code == 422 and set(bad.json()["errors"]) == {"metric", "channel"}
    path = f"/alerts/subscriptions/{body['id']}"
    assert teammate_api.send("DELETE", path).status_code == 404  # not theirs
    assert analyst_api.send("DELETE", path).status_code == 204
    assert analyst_api.get("/alerts/subscriptions").json() == []
    assert analyst_api.send("DELETE", path).status_code == 404
    assert not Subscription.objects.filter(user=analyst).exists()
    actions = set(AuditLog.objects.values_list("action", flat=True))
    assert {"alerts.subscription.added", "alerts.subscription.removed"} <= actions


def test_documented_choices_are_the_models():
    for literal, choices in (
        (router.MetricName, Metric), (router.DimensionName, Dimension),
        (router.StatusName, Alert.Status), (router.DirectionName, Direction),
        (router.ChannelName, Subscription.Channel),
    ):  # fmt: skip
        assert set(typing.get_args(literal)) == set(choices.values)
    assert set(typing.get_args(router.AnyMetric)) == {"", *Metric.values}
    assert set(typing.get_args(router.AnyDimension)) == {"", *Dimension.values}


@pytest.fixture
def keep_test_connection():
    # As in api/tests/test_schemathesis.py: the WSGI handler must not close the connection
    # that holds the test's transaction.
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_generated_requests_never_500(owner, alert, keep_test_connection):
    """Requests generated from the OpenAPI document for the alert operations get no 500."""
    import schemathesis
    from django.core.wsgi import get_wsgi_application
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith("/api/v1/alerts")]
    assert len(operations) == 8
    headers = {"Authorization": f"Bearer {make_token(owner)}"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def run(case):
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        run()
