"""/api/v1/points: earn and redeem with idempotency keys, balance, history pages, rewards,
permissions and the error format."""

from __future__ import annotations

import pytest

from cxloop.api.tests.conftest import ApiClient
from cxloop.loyalty.models import PointsEntry
from cxloop.loyalty.selectors import balance_of
from cxloop.loyalty.services import earn_points
from cxloop.loyalty.tests import points_helpers as h

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return h.customer(external_id="M-1")


def _earn_body(**overrides):
    return {
        "customer": "M-1",
        "points": 120,
        "idempotency_key": "e1",
        "reason": "welcome",
        **overrides,
    }


def test_earn_then_replay_returns_same_entry_with_200(teammate_api, member, teammate):
    first = teammate_api.post("/points/earn", _earn_body())
    assert first.status_code == 201, first.json()
    body = first.json()
    assert (body["points"], body["balance_after"], body["kind"]) == (120, 120, "earn")
    assert body["customer"] == "M-1" and body["expires_at"]
    again = teammate_api.post("/points/earn", _earn_body())
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert balance_of(customer=member) == 120
    assert PointsEntry.objects.get().actor == teammate


def test_earn_same_key_other_points_is_422(teammate_api, member):
    teammate_api.post("/points/earn", _earn_body())
    response = teammate_api.post("/points/earn", _earn_body(points=5))
    assert response.status_code == 422
    assert "idempotency_key" in response.json()["errors"]


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"points": 0}, "points"),
        ({"points": "12"}, "points"),
        ({"points": True}, "points"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"customer": "nobody"}, "customer"),
        ({"order": "no-such-order"}, "order"),
        ({"expires_at": "2001-01-01T00:00:00"}, "expires_at"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_earn_bad_input_is_422_per_field(teammate_api, member, overrides, field):
    response = teammate_api.post("/points/earn", _earn_body(**overrides))
    assert response.status_code == 422, response.json()
    assert field in response.json()["errors"]
    assert not PointsEntry.objects.exists()


def test_earn_missing_key_is_422(teammate_api, member):
    body = _earn_body()
    del body["idempotency_key"]
    response = teammate_api.post("/points/earn", body)
    assert response.status_code == 422 and "idempotency_key" in response.json()["errors"]


def test_redeem_points_and_not_enough(teammate_api, member):
    earn_points(customer=member, points=100, idempotency_key="seed", reason="x", source="t")
    ok = teammate_api.post(
        "/points/redeem",
        {"customer": "M-1", "points": 60, "idempotency_key": "r1", "reason": "gift"},
    )
    assert ok.status_code == 201 and ok.json()["balance_after"] == 40
    short = teammate_api.post(
        "/points/redeem",
        {"customer": "M-1", "points": 60, "idempotency_key": "r2", "reason": "gift"},
    )
    assert short.status_code == 422
    assert "not enough points" in short.json()["errors"]["points"][0]
    missing = teammate_api.post("/points/redeem", {"customer": "M-1", "idempotency_key": "r3"})
    assert missing.status_code == 422 and set(missing.json()["errors"]) == {"points", "reason"}


def test_redeem_reward_and_replay(teammate_api, member):
    earn_points(customer=member, points=500, idempotency_key="seed", reason="x", source="t")
    gift = h.reward(200, stock=5)
    first = teammate_api.post(
        "/points/redeem", {"customer": "M-1", "reward": gift.pk, "idempotency_key": "rw1"}
    )
    assert first.status_code == 201, first.json()
    assert first.json()["reward"] == gift.pk and first.json()["redemption"]
    again = teammate_api.post(
        "/points/redeem", {"customer": "M-1", "reward": gift.pk, "idempotency_key": "rw1"}
    )
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    gift.refresh_from_db()
    assert gift.stock == 4
    both = teammate_api.post(
        "/points/redeem",
        {"customer": "M-1", "reward": gift.pk, "points": 5, "idempotency_key": "rw3"},
    )
    assert both.status_code == 422 and "points" in both.json()["errors"]
    unknown = teammate_api.post(
        "/points/redeem", {"customer": "M-1", "reward": 999999, "idempotency_key": "rw2"}
    )
    assert unknown.status_code == 422 and "reward" in unknown.json()["errors"]


def test_balance_history_pages_and_rewards(analyst_api, member):
    for n in range(5):
        earn_points(customer=member, points=10 + n, idempotency_key=f"k{n}", reason="x", source="t")
    h.reward(50, name="咖啡券", kind="coupon")
    balance = analyst_api.get("/points/M-1/balance")
    assert balance.status_code == 200
    assert balance.json()["balance"] == 60 and balance.json()["points_owed"] == 0
    page = analyst_api.get("/points/M-1/history", {"limit": 2})
    assert [e["points"] for e in page.json()["items"]] == [14, 13]
    rest = analyst_api.get(
        "/points/M-1/history", {"limit": 10, "cursor": page.json()["next_cursor"]}
    )
    assert [e["points"] for e in rest.json()["items"]] == [12, 11, 10]
    assert rest.json()["next_cursor"] is None
    assert analyst_api.get("/points/M-1/history", {"cursor": "x"}).status_code == 422
    rewards = analyst_api.get("/points/rewards")
    assert [r["name"] for r in rewards.json()] == ["咖啡券"]
    assert analyst_api.get("/points/nobody/balance").status_code == 404


def test_permissions(analyst_api, outsider_api, member):
    assert analyst_api.post("/points/earn", _earn_body()).status_code == 403
    for path in ("/points/M-1/balance", "/points/M-1/history", "/points/rewards"):
        assert outsider_api.get(path).status_code == 403
    assert outsider_api.post("/points/earn", _earn_body()).status_code == 403
    assert ApiClient().get("/points/M-1/balance").status_code == 401
    assert ApiClient().post("/points/earn", _earn_body()).status_code == 401
    assert not PointsEntry.objects.exists()


def test_console_session_may_read_but_not_write(owner_client, member):
    assert owner_client.get("/api/v1/points/M-1/balance").status_code == 200
    response = owner_client.post(
        "/api/v1/points/earn", _earn_body(), content_type="application/json"
    )
    assert response.status_code == 401
