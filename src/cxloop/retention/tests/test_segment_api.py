"""/api/v1/segments: a customer's scores and the tier summary, with permissions."""

from __future__ import annotations

import pytest

from cxloop.retention.models import CustomerScore
from cxloop.retention.scoring import score_customers
from cxloop.retention.tests.segment_helpers import NOW, build_shop, orders

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    shop = build_shop()
    score_customers(now=NOW)
    return shop


def test_permissions(shop, owner_api, teammate_api, analyst_api, outsider_api, anonymous_api):
    path = f"/segments/customers/{shop['high'][0].external_id}"
    for allowed in (owner_api, teammate_api, analyst_api):
        assert allowed.get(path).status_code == 200
        assert allowed.get("/segments/summary").status_code == 200
    for refused in (outsider_api, anonymous_api):
        assert refused.get(path).status_code in {401, 403}
        assert refused.get("/segments/summary").status_code in {401, 403}
    assert outsider_api.get(path).json() == {"detail": "You do not have permission to do this."}


def test_customer_scores_with_reasons_and_history(shop, owner_api):
    who = shop["high"][0]
    reasons = [
        {"key": "recency", "params": {"days_since_last_order": 40}},
        {"key": "no_such_reason", "params": {}},
    ]
    CustomerScore.objects.filter(customer=who).update(churn_risk=0.25, churn_reasons=reasons)
    body = owner_api.get(f"/segments/customers/{who.external_id}").json()
    assert (body["tier"], body["rfm"], body["is_vip"], body["stage"]) == (
        "high_value", "555", True, "active",
    )  # fmt: skip
    assert body["frequency"] == 6 and body["monetary_fen"] == 1_800_000
    assert isinstance(body["clv_fen"], int) and 0 < body["p_alive"] <= 1
    assert body["churn_risk"] == 0.25
    assert [(r["key"], r["text"]) for r in body["churn_reasons"]] == [
        ("recency", "no order for 40 days"), ("no_such_reason", ""),
    ]  # fmt: skip
    assert body["derived_tags"] == ["关注高端款", "门店常客"]
    assert body["tier_history"] == [
        {"from_tier": None, "to_tier": "high_value", "changed_at": "2026-06-03T10:00:00+08:00"}
    ]


def test_reasons_are_told_in_words(shop, owner_api):
    who = shop["basic"][0]
    reasons = [{"key": "recency", "params": {"days_since_last_order": 40}}]
    CustomerScore.objects.filter(customer=who).update(churn_risk=0.6, churn_reasons=reasons)
    body = owner_api.get(f"/segments/customers/{who.external_id}").json()
    assert body["churn_reasons"] == [
        {"key": "recency", "params": {"days_since_last_order": 40},
         "text": "no order for 40 days"},
    ]  # fmt: skip


def test_history_lists_changes_newest_first(shop, owner_api):
    back = shop["churn"][0]
    orders(back, days_ago=[1, 2, 3, 4, 5, 6, 7], amount_fen=400_000)
    score_customers(now=NOW)
    history = owner_api.get(f"/segments/customers/{back.external_id}").json()["tier_history"]
    assert [(h["from_tier"], h["to_tier"]) for h in history] == [
        ("churn_warning", "high_value"), (None, "churn_warning"),
    ]  # fmt: skip


def test_unknown_and_unscored_customers_are_404(shop, owner_api):
    api = owner_api
    response = api.get("/segments/customers/NOPE")
    assert response.status_code == 404
    assert response.json() == {"detail": "No customer with this external id."}
    CustomerScore.objects.filter(customer=shop["new"][0]).delete()
    unscored = api.get(f"/segments/customers/{shop['new'][0].external_id}")
    assert unscored.status_code == 404
    assert unscored.json() == {"detail": "This customer has not been scored yet."}


def test_summary_counts_the_tiers(shop, owner_api):
    body = owner_api.get("/segments/summary").json()
    assert body["customers"] == 32 and body["scored_as_of"] == "2026-06-03T10:00:00+08:00"
    tiers = {row["tier"]: row for row in body["tiers"]}
    assert [row["tier"] for row in body["tiers"]] == [
        "high_value", "potential", "basic", "churn_warning",
    ]  # fmt: skip
    assert {t: r["customers"] for t, r in tiers.items()} == {
        "high_value": 3, "potential": 9, "basic": 17, "churn_warning": 3,
    }  # fmt: skip
    assert tiers["high_value"]["vip"] == 3 and tiers["high_value"]["share"] == 3 / 32
    assert tiers["high_value"]["average_clv_fen"] > tiers["basic"]["average_clv_fen"]


def test_summary_before_any_run(db, owner_api):
    body = owner_api.get("/segments/summary").json()
    assert body["scored_as_of"] is None and body["customers"] == 0
