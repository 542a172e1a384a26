import datetime as dt

import pytest

from cxloop.alerts.models import Alert, AlertRule, Subscription
from cxloop.core.models import AuditLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert(db):
    return Alert.objects.create(
        metric="complaint_rate", dimension="store", place="上海徐汇店", day=dt.date(2025, 3, 31),
        value=100.0, expected=20.0, jump_abs=80.0, jump_rel=4.0, z=4.3, p_value=1e-5,
        direction="up", sample=200,
    )  # fmt: skip


def pages(alert):
    rule = AlertRule.objects.first()
    return ["/alerts/", f"/alerts/{alert.pk}/", "/alerts/subscriptions/", "/alerts/rules/",
            f"/alerts/rules/{rule.pk}/"]  # fmt: skip


def test_outsider_refused_everywhere(outsider_client, alert):
    for url in pages(alert):
        assert outsider_client.get(url).status_code == 403, url
    assert outsider_client.post(f"/alerts/{alert.pk}/acknowledge/").status_code == 403


@pytest.mark.parametrize("who", ["owner", "teammate", "analyst"])
def test_staff_see_list_detail_and_subscriptions(request, who, alert):
    client = request.getfixturevalue(f"{who}_client")
    listing = client.get("/alerts/")
    assert listing.status_code == 200 and "上海徐汇店" in listing.content.decode()
    detail = client.get(f"/alerts/{alert.pk}/")
    assert detail.status_code == 200 and "+80.0" in detail.content.decode()
    assert client.get("/alerts/subscriptions/").status_code == 200


def test_only_the_manager_edits_rules(owner_client, teammate_client, analyst_client, alert):
    rule = AlertRule.objects.first()
    for client in (teammate_client, analyst_client):
        assert client.get("/alerts/rules/").status_code == 403
        assert client.post(f"/alerts/rules/{rule.pk}/", {"limit": 4}).status_code == 403
    data = {"min_sample": 50, "lam": 0.2, "limit": 3.5, "direction": "both", "active": "on"}
    assert owner_client.post(f"/alerts/rules/{rule.pk}/", data).status_code == 302
    rule.refresh_from_db()
    assert (rule.min_sample, rule.lam, rule.limit, rule.direction) == (50, 0.2, 3.5, "both")
    assert AuditLog.objects.filter(action="alerts.rule.changed").count() == 1


def test_bad_rule_input_rerenders_with_field_errors(owner_client):
    rule = AlertRule.objects.first()
    data = {"min_sample": 0, "lam": 2, "limit": "x", "direction": "sideways"}
    response = owner_client.post(f"/alerts/rules/{rule.pk}/", data)
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"min_sample", "lam", "limit", "direction"}


@pytest.mark.parametrize(
    "query", ["?metric=bogus", "?status=<script>", "?place=" + "x" * 500, "?page=abc", "?page=-1"]
)
def test_bad_filters_do_not_500(owner_client, alert, query):
    response = owner_client.get("/alerts/" + query)
    assert response.status_code == 200


def test_filters_narrow_the_list(owner_client, alert):
    Alert.objects.create(metric="nps", dimension="region", place="华北", day=alert.day,
                         value=1, expected=30, jump_abs=-29, z=-4, p_value=1e-4,
                         direction="down")  # fmt: skip
    body = owner_client.get("/alerts/?metric=nps").content.decode()
    assert "华北" in body and "上海徐汇店" not in body
    assert "上海徐汇店" in owner_client.get("/alerts/?place=徐汇").content.decode()


def test_unknown_alert_is_404(owner_client):
    assert owner_client.get("/alerts/999999/").status_code == 404


def test_acknowledge(teammate_client, analyst_client, alert):
    assert analyst_client.post(f"/alerts/{alert.pk}/acknowledge/").status_code == 403
    response = teammate_client.post(f"/alerts/{alert.pk}/acknowledge/", {"note": "看过了"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledge_note == "看过了"


def test_subscribe_and_unsubscribe_own_only(analyst, analyst_client, teammate_client):
    response = analyst_client.post("/alerts/subscriptions/", {"metric": "csat", "channel": "email"})
    assert response.status_code == 302
    subscription = Subscription.objects.get(user=analyst)
    assert subscription.metric == "csat" and subscription.place == ""
    bad = analyst_client.post("/alerts/subscriptions/", {"metric": "nope", "channel": "fax"})
    assert bad.status_code == 400 and set(bad.context["form"].errors) == {"metric", "channel"}
    assert (
        teammate_client.post(f"/alerts/subscriptions/{subscription.pk}/delete/").status_code == 404
    )
    assert (
        analyst_client.post(f"/alerts/subscriptions/{subscription.pk}/delete/").status_code == 302
    )
    assert not Subscription.objects.exists()
