"""Console pages of the points ledger: who sees what, adjustments and approvals, redeeming,
the catalogue, earn rules and campaigns forms (permissions with owner / teammate / analyst /
outsider)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cxloop.core.models import AuditLog
from cxloop.loyalty.models import Adjustment, Campaign, EarnRule, PointsEntry, Reward
from cxloop.loyalty.selectors import balance_of
from cxloop.loyalty.services import earn_points, request_adjustment
from cxloop.loyalty.tests import points_helpers as h

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    c = h.customer(external_id="V-1", phone="13800000001")
    for n in range(3):
        earn_points(
            customer=c, points=100, idempotency_key=f"seed{n}", reason=f"种子 {n}", source="test"
        )
    return c


def _url(name, *args):
    return reverse(f"loyalty:{name}", args=args)


def test_pages_refuse_the_outsider(outsider_client, member):
    adjustment = Adjustment.objects.create(
        account=member.points, points=5000, reason="x", idempotency_key="a"
    )
    for url in (
        _url("index"),
        _url("customer", member.pk),
        _url("approvals"),
        _url("rewards"),
        _url("rules"),
        _url("rule_new"),
        _url("campaign_new"),
        _url("reward_new"),
    ):
        assert outsider_client.get(url).status_code == 403, url
    for url in (
        _url("adjust", member.pk),
        _url("redeem", member.pk),
        _url("decide", adjustment.pk),
    ):
        assert outsider_client.post(url, {"points": 5, "reason": "x"}).status_code == 403, url
    assert balance_of(customer=member) == 300


def test_anonymous_is_sent_to_sign_in(client, member):
    response = client.get(_url("customer", member.pk))
    assert response.status_code == 302 and "login" in response["Location"]


def test_analyst_reads_but_cannot_change(analyst_client, member):
    page = analyst_client.get(_url("customer", member.pk))
    assert page.status_code == 200
    assert (
        "种子 2" in page.content.decode() and 'data-figure="balance">300<' in page.content.decode()
    )
    assert "Adjust points" not in page.content.decode()
    assert (
        analyst_client.post(_url("adjust", member.pk), {"points": 5, "reason": "x"}).status_code
        == 403
    )
    assert analyst_client.get(_url("approvals")).status_code == 403
    assert analyst_client.get(_url("rule_new")).status_code == 403
    assert analyst_client.get(_url("rules")).status_code == 200


def test_lookup_by_external_id_or_phone(teammate_client, member):
    response = teammate_client.get(_url("index"), {"q": "13800000001"})
    assert response.status_code == 302 and response["Location"] == _url("customer", member.pk)
    missing = teammate_client.get(_url("index"), {"q": "nobody"})
    assert missing.status_code == 200 and "No customer" in missing.content.decode()


def test_history_is_paginated(teammate_client, member):
    for n in range(55):
        earn_points(customer=member, points=1, idempotency_key=f"p{n}", reason="r", source="t")
    first = teammate_client.get(_url("customer", member.pk))
    assert "Page 1 of 2" in first.content.decode()
    second = teammate_client.get(_url("customer", member.pk), {"page": 2})
    assert "种子 0" in second.content.decode()


def test_agent_adjusts_within_threshold_at_once(teammate_client, member, teammate):
    response = teammate_client.post(
        _url("adjust", member.pk), {"points": "-50", "reason": "typo", "key": "k1"}
    )
    assert response.status_code == 302
    assert balance_of(customer=member) == 250
    again = teammate_client.post(
        _url("adjust", member.pk), {"points": "-50", "reason": "typo", "key": "k1"}
    )
    assert again.status_code == 302 and balance_of(customer=member) == 250  # double submit
    assert PointsEntry.objects.filter(kind="adjust").get().actor == teammate


def test_adjust_form_errors_rerender_per_field(teammate_client, member):
    zero = teammate_client.post(_url("adjust", member.pk), {"points": "0", "reason": "x"})
    assert zero.status_code == 400 and "other than 0" in zero.content.decode()
    short = teammate_client.post(_url("adjust", member.pk), {"points": "-900", "reason": "x"})
    assert short.status_code == 400 and "not enough points" in short.content.decode()
    assert balance_of(customer=member) == 300


def test_large_adjustment_goes_through_the_queue(teammate_client, owner_client, member):
    teammate_client.post(_url("adjust", member.pk), {"points": "2000", "reason": "big"})
    row = Adjustment.objects.get()
    assert row.status == "pending" and balance_of(customer=member) == 300
    assert teammate_client.get(_url("approvals")).status_code == 403
    queue = owner_client.get(_url("approvals"))
    assert queue.status_code == 200 and "big" in queue.content.decode()
    response = owner_client.post(_url("decide", row.pk), {"decision": "approve"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.status == "approved" and balance_of(customer=member) == 2300
    assert AuditLog.objects.filter(action="loyalty.adjustment.approve").exists()


def test_reject_without_note_is_refused_with_a_message(owner_client, member, teammate):
    row = request_adjustment(
        customer=member, points=5000, reason="x", idempotency_key="a", actor=teammate
    )
    response = owner_client.post(_url("decide", row.pk), {"decision": "reject"}, follow=True)
    assert "required" in response.content.decode()
    row.refresh_from_db()
    assert row.status == "pending"


def test_own_request_is_not_decided_by_the_requester(owner_client, owner, member):
    row = request_adjustment(
        customer=member, points=5000, reason="mine", idempotency_key="a", actor=owner
    )
    assert "another approver decides" in owner_client.get(_url("approvals")).content.decode()
    owner_client.post(_url("decide", row.pk), {"decision": "approve"})
    row.refresh_from_db()
    assert row.status == "pending"


def test_redeem_a_reward_from_the_page(teammate_client, member):
    gift = h.reward(120, stock=2, name="保温杯")
    response = teammate_client.post(_url("redeem", member.pk), {"reward": gift.pk, "key": "r"})
    assert response.status_code == 302 and balance_of(customer=member) == 180
    costly = h.reward(999, name="大礼包")
    failed = teammate_client.post(_url("redeem", member.pk), {"reward": costly.pk, "key": "r2"})
    assert failed.status_code == 400 and "not enough points" in failed.content.decode()


def test_manager_creates_and_edits_rules_campaigns_rewards(owner_client):
    rule = owner_client.post(
        _url("rule_new"),
        {
            "name": "基础",
            "level_code": "",
            "category": "",
            "points_per_yuan": "1.5",
            "priority": "0",
            "active": "on",
        },
    )
    assert rule.status_code == 302
    saved = EarnRule.objects.get()
    assert saved.level_code is None and str(saved.points_per_yuan) == "1.50"
    owner_client.post(
        _url("rule_edit", saved.pk),
        {"name": "基础", "points_per_yuan": "2", "priority": "1", "active": "on"},
    )
    saved.refresh_from_db()
    assert saved.points_per_yuan == 2
    assert AuditLog.objects.filter(action="loyalty.earnrule.changed").get().after == {
        "points_per_yuan": "2.00",
        "priority": 1,
    }
    campaign = owner_client.post(
        _url("campaign_new"),
        {
            "name": "双倍",
            "multiplier": "2",
            "starts_at": "2026-05-01T00:00",
            "ends_at": "2026-05-08T00:00",
            "active": "on",
        },
    )
    assert campaign.status_code == 302 and Campaign.objects.get().multiplier == 2
    reward = owner_client.post(
        _url("reward_new"), {"name": "咖啡", "kind": "coupon", "cost_points": "50", "active": "on"}
    )
    assert reward.status_code == 302 and Reward.objects.get().stock is None
    listing = owner_client.get(_url("rules")).content.decode()
    assert "基础" in listing and "双倍" in listing


def test_config_forms_rerender_with_field_errors(owner_client):
    bad = owner_client.post(
        _url("campaign_new"),
        {
            "name": "x",
            "multiplier": "0",
            "starts_at": "2026-05-08T00:00",
            "ends_at": "2026-05-01T00:00",
        },
    )
    text = bad.content.decode()
    assert bad.status_code == 400 and "above 0" in text and "after the start" in text
    reward = owner_client.post(
        _url("reward_new"), {"name": "x", "kind": "coupon", "cost_points": "0"}
    )
    assert reward.status_code == 400 and "at least 1 point" in reward.content.decode()
    assert not Campaign.objects.exists() and not Reward.objects.exists()


def test_nav_shows_loyalty_to_staff_with_view_points(analyst_client, outsider_client):
    assert _url("index") in analyst_client.get(reverse("console:home")).content.decode()
    assert _url("index") not in outsider_client.get(reverse("console:home")).content.decode()
