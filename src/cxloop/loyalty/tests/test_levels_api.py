"""/api/v1/members/{customer_external_id}: level, since, benefits, progress, stars, long-term
rewards; permissions."""

from __future__ import annotations

import pytest
from django.utils import timezone

from cxloop.api.tests.conftest import ApiClient, make_token
from cxloop.loyalty import levels, stars
from cxloop.loyalty.level_models import Level, LongTermReward
from cxloop.loyalty.tests import level_helpers as h
from cxloop.loyalty.tests.level_helpers import level_setup  # noqa: F401  (autouse)

pytestmark = pytest.mark.django_db


def test_a_gold_member(owner_api):
    c = h.customer("M001")
    h.complete_order(c, amount_fen=520_000)
    LongTermReward.objects.create(
        customer=c, kind="lifetime_warranty", member_since=timezone.now(), years=3
    )
    stars.award_stars(customer=c, stars=2, source="manual", idempotency_key="api-stars")
    response = owner_api.get("/members/M001")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["level"]["code"] == "gold" and body["level"]["price_percent"] == 90
    assert body["free_after_sales"] is True and body["price_percent"] == 90
    assert body["since"] is not None
    assert "免费售后服务" in body["benefits"] and "Lifetime warranty" in body["benefits"]
    assert body["progress"]["next_level"] == "diamond"
    assert body["progress"]["needed_fen"] == 2_000_000 - 520_000
    assert body["progress"]["text"].startswith("¥14,800.00 more by ")
    # 1 star for the order, 2 by hand: step 1 (3 stars) reached and claimed.
    assert body["stars"]["stars"] == 3
    assert body["stars"]["steps"][0] == {
        "step": 1, "stars": 3, "points": 50, "reward": "", "reached": True, "claimed": True,
    }  # fmt: skip
    assert [r["kind"] for r in body["long_term_rewards"]] == ["lifetime_warranty"]


def test_a_customer_without_level(owner_api):
    h.customer("M002")
    body = owner_api.get("/members/M002").json()
    assert body["level"] is None and body["since"] is None and body["price_percent"] == 100
    assert body["progress"] == {
        "next_level": "silver", "rolling_spend_fen": 0, "needed_fen": 200_000, "by": None,
        "text": "¥2,000.00 more for 银卡会员",
    }  # fmt: skip


def test_a_member_at_the_top(owner_api):
    c = h.customer("M003")
    levels.set_customer_level(
        customer=c, level=Level.objects.get(code="diamond"), actor=None, note=""
    )
    body = owner_api.get("/members/M003").json()
    assert (
        body["progress"]["next_level"] is None and body["progress"]["text"] == "Top level reached."
    )


def test_unknown_customer_is_404(owner_api):
    assert owner_api.get("/members/nobody").status_code == 404
    assert owner_api.get("/members/x%00y").status_code == 404


def test_permissions(teammate, analyst, outsider):
    h.customer("M004")
    assert ApiClient(make_token(teammate)).get("/members/M004").status_code == 200
    assert ApiClient(make_token(analyst)).get("/members/M004").status_code == 200
    assert ApiClient(make_token(outsider)).get("/members/M004").status_code == 403
    assert ApiClient().get("/members/M004").status_code == 401
