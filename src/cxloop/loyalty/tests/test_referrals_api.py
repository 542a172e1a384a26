"""/api/v1/referrals: code and link, accept (fraud reasons as 422 JSON), list; permissions."""

from __future__ import annotations

import pytest

from cxloop.api.tests.conftest import ApiClient, make_token
from cxloop.loyalty.referral_models import Referral
from cxloop.loyalty.referrals import get_or_create_code
from cxloop.loyalty.tests import level_helpers as h
from cxloop.loyalty.tests.level_helpers import level_setup  # noqa: F401  (autouse)

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return {
        "a": h.customer("A001", phone="13800000001"),
        "b": h.customer("B001", phone="13900000002"),
        "c": h.customer("C001", phone="13700000003"),
    }


def test_create_a_code_then_get_it_again(owner_api, people, settings):
    settings.CXLOOP_PUBLIC_URL = "https://cx.example.com"
    first = owner_api.post("/referrals", {"inviter": "A001", "device_id": "dev-a"})
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["inviter"] == "A001" and len(body["code"]) == 10
    assert body["link"] == f"https://cx.example.com/r/{body['code']}"
    again = owner_api.post("/referrals", {"inviter": "A001"})
    assert again.status_code == 200 and again.json()["code"] == body["code"]


def test_accept_then_list(owner_api, people):
    code = get_or_create_code(customer=people["a"])[0].code
    accepted = owner_api.post(
        "/referrals/accept", {"invitee": "B001", "code": code, "device_id": "d-b"}
    )
    assert accepted.status_code == 201, accepted.content
    body = accepted.json()
    assert (body["inviter"], body["invitee"], body["status"]) == ("A001", "B001", "pending")
    replay = owner_api.post("/referrals/accept", {"invitee": "B001", "code": code})
    assert replay.status_code == 200 and replay.json()["id"] == body["id"]
    listed = owner_api.get("/referrals", {"inviter": "A001"})
    assert listed.status_code == 200
    assert [r["invitee"] for r in listed.json()["items"]] == ["B001"]
    assert owner_api.get("/referrals", {"inviter": "C001"}).json()["items"] == []
    assert owner_api.get("/referrals", {"status": "rejected"}).json()["items"] == []


def test_a_fraud_guard_answers_422_with_the_reason(owner_api, people):
    code = get_or_create_code(customer=people["a"])[0].code
    response = owner_api.post("/referrals/accept", {"invitee": "A001", "code": code})
    assert response.status_code == 422
    body = response.json()
    assert body["reason"] == "self_referral" and body["errors"]["code"]
    assert "Self-referral" in body["detail"]
    assert Referral.objects.get(pk=body["referral_id"]).status == "rejected"
    rejected = owner_api.get("/referrals", {"status": "rejected"}).json()["items"]
    assert [(r["invitee"], r["reject_reason"]) for r in rejected] == [("A001", "self_referral")]


def test_same_device_is_refused(owner_api, people):
    code = get_or_create_code(customer=people["a"])[0].code
    owner_api.post("/referrals/accept", {"invitee": "B001", "code": code, "device_id": "same"})
    response = owner_api.post(
        "/referrals/accept", {"invitee": "C001", "code": code, "device_id": "same"}
    )
    assert response.status_code == 422 and response.json()["reason"] == "same_device"


def test_a_second_inviter_is_409(owner_api, people):
    code_a = get_or_create_code(customer=people["a"])[0].code
    code_c = get_or_create_code(customer=people["c"])[0].code
    owner_api.post("/referrals/accept", {"invitee": "B001", "code": code_a})
    response = owner_api.post("/referrals/accept", {"invitee": "B001", "code": code_c})
    assert response.status_code == 409 and response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/referrals", {"inviter": "nobody"}, "inviter"),
        ("/referrals", {}, "inviter"),
        ("/referrals", {"inviter": "A001", "extra": 1}, "extra"),
        ("/referrals", {"inviter": "A\x00"}, "inviter"),
        ("/referrals", {"inviter": 5}, "inviter"),
        ("/referrals/accept", {"invitee": "B001", "code": "WRONG"}, "code"),
        ("/referrals/accept", {"invitee": "nobody", "code": "X"}, "invitee"),
        ("/referrals/accept", {"invitee": "B001"}, "code"),
        ("/referrals/accept", {"invitee": "B001", "code": "x", "address": "长" * 201}, "address"),
    ],
)
def test_bad_input_is_422_per_field(owner_api, people, path, body, field):
    response = owner_api.post(path, body)
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]


def test_list_filters_are_checked(owner_api, people):
    assert owner_api.get("/referrals", {"inviter": "nobody"}).status_code == 404
    assert owner_api.get("/referrals", {"status": "odd"}).status_code == 422
    assert owner_api.get("/referrals", {"cursor": "abc"}).status_code == 422
    assert owner_api.get("/referrals", {"inviter": "A\x00"}).status_code == 422


def test_pages(owner_api, people):
    code = get_or_create_code(customer=people["a"])[0].code
    for i in range(3):
        invitee = h.customer(f"P{i}", phone=f"1310000000{i}")
        owner_api.post("/referrals/accept", {"invitee": invitee.external_id, "code": code})
    first = owner_api.get("/referrals", {"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = owner_api.get("/referrals", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [r["invitee"] for r in first["items"] + rest["items"]] == ["P2", "P1", "P0"]


def test_permissions(people, teammate, analyst, outsider, db):
    code = get_or_create_code(customer=people["a"])[0].code
    agent, reader, stranger, nobody = (
        ApiClient(make_token(teammate)), ApiClient(make_token(analyst)),
        ApiClient(make_token(outsider)), ApiClient(),
    )  # fmt: skip
    assert agent.post("/referrals/accept", {"invitee": "B001", "code": code}).status_code == 201
    assert reader.get("/referrals").status_code == 200
    assert reader.post("/referrals", {"inviter": "A001"}).status_code == 403
    for path, body in (("/referrals", {"inviter": "A001"}),
                       ("/referrals/accept", {"invitee": "C001", "code": code})):  # fmt: skip
        assert stranger.post(path, body).status_code == 403
        assert nobody.post(path, body).status_code == 401
    assert stranger.get("/referrals").status_code == 403
    assert nobody.get("/referrals").status_code == 401
