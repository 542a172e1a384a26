"""/api/v1/surveys: read, export, invitations, responses; permissions and bad input."""

from __future__ import annotations

import csv
import io

import pytest

from cxloop.core.models import AuditLog
from cxloop.customers.models import Customer
from cxloop.surveys.models import Invitation
from cxloop.surveys.tests.results_helpers import DEFINITION, make_response, make_survey

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey():
    return make_survey("delivery")


@pytest.fixture
def customer():
    return Customer.objects.create(
        external_id="C1", name="王伟", phone="13812345678", consent_survey=True
    )


def test_list_and_get(teammate_api, survey):
    make_survey("other", title="Other")
    body = teammate_api.get("/surveys", {"limit": 1}).json()
    assert len(body["items"]) == 1 and body["next_cursor"]
    rest = teammate_api.get("/surveys", {"cursor": body["next_cursor"]}).json()
    assert {body["items"][0]["key"], rest["items"][0]["key"]} == {"delivery", "other"}
    detail = teammate_api.get("/surveys/delivery").json()
    assert detail["version"] == 1 and detail["definition"] == DEFINITION


def test_export_definition(owner_api, survey):
    response = owner_api.get("/surveys/delivery/export")
    assert response.status_code == 200 and response.json() == DEFINITION


def test_unknown_survey_is_404(owner_api):
    for path in ("/surveys/nope", "/surveys/nope/export", "/surveys/nope/responses"):
        response = owner_api.get(path)
        assert response.status_code == 404 and response.json()["detail"]


def test_responses_are_cursor_paginated_newest_first(owner_api, survey):
    made = [make_response(survey, nps=n) for n in range(5)]
    partial = make_response(survey, nps=1)
    partial.submitted_at = None
    partial.save()
    first = owner_api.get("/surveys/delivery/responses", {"limit": 3}).json()
    second = owner_api.get("/surveys/delivery/responses", {"cursor": first["next_cursor"]}).json()
    ids = [r["id"] for r in first["items"] + second["items"]]
    assert ids == [r.pk for r in reversed(made)] and second["next_cursor"] is None
    assert first["items"][0]["nps"] == 4 and first["items"][0]["version"] == 1


def test_bad_cursor_and_limit(owner_api, survey):
    response = owner_api.get("/surveys/delivery/responses", {"cursor": "abc"})
    assert response.status_code == 422 and "cursor" in response.json()["errors"]
    response = owner_api.get("/surveys", {"limit": 0})
    assert response.status_code == 422 and "limit" in response.json()["errors"]


def test_responses_export_masks_pii_for_analyst(analyst_api, owner_api, survey, customer):
    make_response(survey, nps=9, comment="请打 13912345678 联系我", customer=customer)
    response = analyst_api.get("/surveys/delivery/responses/export")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["customer_phone"] == "138****5678" and row["comment"] == "请打 139****5678 联系我"
    full = b"".join(owner_api.get("/surveys/delivery/responses/export").streaming_content)
    assert "13812345678" in full.decode("utf-8-sig")
    assert AuditLog.objects.filter(action="data.exported").count() == 2


def test_export_bad_format(owner_api, survey):
    response = owner_api.get("/surveys/delivery/responses/export", {"format": "pdf"})
    assert response.status_code == 422 and "format" in response.json()["errors"]


def test_create_and_list_invitations(owner_api, survey, customer):
    response = owner_api.post("/surveys/delivery/invitations", {"customer": "C1", "channel": "sms"})
    assert response.status_code == 201, response.content
    invitation = Invitation.objects.get()
    assert response.json()["id"] == invitation.pk and invitation.customer == customer
    listed = owner_api.get("/surveys/delivery/invitations").json()
    assert [i["customer"] for i in listed["items"]] == ["C1"]


def test_invitation_bad_input(owner_api, survey, customer):
    response = owner_api.post("/surveys/delivery/invitations", {"customer": "nobody"})
    assert response.status_code == 422 and "customer" in response.json()["errors"]
    response = owner_api.post("/surveys/delivery/invitations", {"customer": "C1", "channel": "fax"})
    assert response.status_code == 422 and "channel" in response.json()["errors"]
    response = owner_api.post("/surveys/delivery/invitations", {"customer": "C1", "extra": 1})
    assert response.status_code == 422 and "extra" in response.json()["errors"]
    assert not Invitation.objects.exists()


def test_permissions(outsider_api, teammate_api, anonymous_api, survey, customer):
    for path in ("/surveys", "/surveys/delivery", "/surveys/delivery/responses"):
        assert outsider_api.get(path).status_code == 403
        assert anonymous_api.get(path).status_code == 401
    # Agents read invitations but do not create them.
    assert teammate_api.get("/surveys/delivery/invitations").status_code == 200
    response = teammate_api.post("/surveys/delivery/invitations", {"customer": "C1"})
    assert response.status_code == 403 and not Invitation.objects.exists()
