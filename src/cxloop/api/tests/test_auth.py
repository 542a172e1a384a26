"""Who may call the API: tokens, revoked tokens, sessions, and permissions by role."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cxloop.api.models import ApiToken, hash_token
from cxloop.api.tests.conftest import ApiClient, make_token
from cxloop.customers.models import Customer

pytestmark = pytest.mark.django_db


def test_no_token_is_401(anonymous_api):
    response = anonymous_api.get("/customers")
    assert response.status_code == 401
    assert response.json()["detail"].startswith("Send a valid API token")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Bearer cxl_not-a-real-token", "Bearer ", "Token cxl_abc", "Basic dXNlcjpwdw==", "Bearer x"],
)
def test_bad_token_is_401(db, header):
    response = ApiClient().client.get("/api/v1/customers", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"


def test_revoked_token_is_401(owner):
    raw = make_token(owner)
    ApiToken.objects.filter(key_hash=hash_token(raw)).update(revoked_at=timezone.now())
    assert ApiClient(raw).get("/customers").status_code == 401


def test_token_of_inactive_user_is_401(owner):
    raw = make_token(owner)
    owner.is_active = False
    owner.save()
    assert ApiClient(raw).get("/customers").status_code == 401


def test_token_is_stored_only_as_hash(owner):
    raw = make_token(owner)
    token = ApiToken.objects.get()
    assert token.key_hash == hash_token(raw) and raw not in token.key_hash


def test_last_used_is_written_at_most_once_a_minute(owner):
    raw = make_token(owner)
    api = ApiClient(raw)
    api.get("/customers")
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    api.get("/customers")
    assert ApiToken.objects.get().last_used_at == first
    ApiToken.objects.update(last_used_at=first - dt.timedelta(minutes=2))
    api.get("/customers")
    assert ApiToken.objects.get().last_used_at > first


def test_owner_may_read_and_write(owner_api):
    assert owner_api.get("/customers").status_code == 200
    assert owner_api.put("/customers/C1", {"name": "王伟"}).status_code == 201


def test_teammate_may_read_and_change_but_not_create(teammate_api):
    assert teammate_api.get("/customers").status_code == 200
    response = teammate_api.put("/customers/C1", {"name": "王伟"})
    assert response.status_code == 403
    assert response.json()["detail"]
    assert not Customer.objects.exists()
    Customer.objects.create(external_id="C1", name="old")
    assert teammate_api.put("/customers/C1", {"name": "王伟"}).status_code == 200
    assert Customer.objects.get().name == "王伟"


def test_teammate_may_not_write_orders_or_events(teammate_api):
    body = {"customer_external_id": "C1", "amount_fen": 100, "placed_at": "2026-01-01"}
    assert teammate_api.put("/orders/O1", body).status_code == 403
    event = {"event_id": "e1", "type": "order.paid", "occurred_at": "2026-01-01T10:00:00"}
    assert teammate_api.post("/events", event).status_code == 403


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("GET", "/customers", None),
        ("GET", "/customers/C1", None),
        ("PUT", "/customers/C1", {"name": "x"}),
        ("POST", "/customers/bulk", {"rows": [{"external_id": "C1"}]}),
        ("GET", "/orders", None),
        ("GET", "/orders/O1", None),
        ("POST", "/orders/bulk", {"rows": []}),
        ("GET", "/events", None),
        ("POST", "/events", {"event_id": "e", "type": "a.b", "occurred_at": "2026-01-01"}),
        ("POST", "/events/bulk", {"events": []}),
    ],
)
def test_outsider_is_refused_everywhere(outsider_api, method, path, body):
    Customer.objects.create(external_id="C1")
    response = outsider_api.send(method, path, body)
    assert response.status_code == 403
    assert Customer.objects.get().name == ""


def test_health_needs_no_token(anonymous_api):
    response = anonymous_api.get("/health")
    assert response.status_code == 200
    assert response.json()["database"] is True


def test_console_session_may_read(owner_client):
    response = owner_client.get("/api/v1/customers")
    assert response.status_code == 200


def test_console_session_may_not_write(owner_client):
    response = owner_client.put(
        "/api/v1/customers/C1", '{"name": "x"}', content_type="application/json"
    )
    assert response.status_code == 401
    assert not Customer.objects.exists()


def test_console_session_keeps_permissions(outsider_client):
    assert outsider_client.get("/api/v1/customers").status_code == 403
