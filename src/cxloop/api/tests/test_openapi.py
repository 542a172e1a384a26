"""The OpenAPI document and the docs page are served and describe the API."""

from __future__ import annotations

import json

import pytest

from cxloop.api.schemas import CustomerIn, OrderIn
from cxloop.customers.validation import CUSTOMER_FIELDS, ORDER_FIELDS

pytestmark = pytest.mark.django_db

EXPECTED_PATHS = {
    "/api/v1/health": {"get"},
    "/api/v1/customers": {"get"},
    "/api/v1/customers/{external_id}": {"get", "put"},
    "/api/v1/customers/bulk": {"post"},
    "/api/v1/orders": {"get"},
    "/api/v1/orders/{external_id}": {"get", "put"},
    "/api/v1/orders/bulk": {"post"},
    "/api/v1/events": {"get", "post"},
    "/api/v1/events/bulk": {"post"},
    "/api/v1/surveys": {"get"},
    "/api/v1/surveys/import": {"post"},
    "/api/v1/surveys/{key}": {"get"},
    "/api/v1/surveys/{key}/export": {"get"},
    "/api/v1/surveys/{key}/invitations": {"get", "post"},
    "/api/v1/surveys/{key}/responses": {"get"},
    "/api/v1/surveys/{key}/responses/export": {"get"},
    "/api/v1/surveys/{key}/kano": {"get"},
    "/api/v1/surveys/{key}/drivers": {"get"},
    "/api/v1/surveys/{key}/clusters": {"get"},
    "/api/v1/metrics": {"get"},
    "/api/v1/cases/metrics": {"get"},
    "/api/v1/cases/clusters": {"get"},
    "/api/v1/alerts": {"get"},
    "/api/v1/alerts/rules": {"get"},
    "/api/v1/alerts/rules/{rule_id}": {"patch"},
    "/api/v1/alerts/subscriptions": {"get", "post"},
    "/api/v1/alerts/subscriptions/{subscription_id}": {"delete"},
    "/api/v1/alerts/{alert_id}": {"get"},
    "/api/v1/alerts/{alert_id}/acknowledge": {"post"},
    "/api/v1/cases": {"get", "post"},
    "/api/v1/cases/{number}": {"get", "patch"},
    "/api/v1/cases/{number}/events": {"get"},
    "/api/v1/cases/{number}/actions": {"post"},
    "/api/v1/cases/{number}/attachments": {"get", "post"},
    "/api/v1/cases/{number}/attachments/{attachment_id}": {"delete"},
    "/api/v1/cases/{number}/attachments/{attachment_id}/file": {"get"},
    "/api/v1/points/earn": {"post"},
    "/api/v1/points/redeem": {"post"},
    "/api/v1/points/{customer_external_id}/balance": {"get"},
    "/api/v1/points/{customer_external_id}/history": {"get"},
    "/api/v1/points/rewards": {"get"},
    "/api/v1/referrals": {"get", "post"},
    "/api/v1/referrals/accept": {"post"},
    "/api/v1/members/{customer_external_id}": {"get"},
    "/api/v1/segments/summary": {"get"},
    "/api/v1/segments/customers/{external_id}": {"get"},
    "/api/v1/ideas": {"get", "post"},
}


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.content)


def test_document_lists_every_path(document):
    assert document["info"]["title"] == "cxloop API"
    assert document["info"]["version"] == "1"
    paths = {path: set(ops) for path, ops in document["paths"].items()}
    assert paths == EXPECTED_PATHS


def test_document_declares_bearer_auth(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["BearerTokenAuth"] == {"type": "http", "scheme": "bearer"}
    assert "security" not in document["paths"]["/api/v1/health"]["get"]
    assert document["paths"]["/api/v1/customers"]["get"]["security"]


def test_documented_fields_match_the_validator():
    # The API documents exactly the fields the shared validator reads (orders: fen only).
    assert set(CustomerIn.model_fields) == set(CUSTOMER_FIELDS)
    assert set(OrderIn.model_fields) == set(ORDER_FIELDS) - {"amount"}


def test_amounts_documented_as_integer_fen(document):
    order_in = document["components"]["schemas"]["OrderIn"]["properties"]["amount_fen"]
    assert order_in["type"] == "integer" and order_in["minimum"] == 0


def test_docs_page_is_served(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content
