import datetime as dt

import pytest
from django.test import override_settings

from cxloop.alerts.models import Alert, AlertRule, Dimension, Metric, Subscription
from cxloop.alerts.services import acknowledge_alert, scan_kpis
from cxloop.alerts.tests.conftest import at, fill_store
from cxloop.core.models import AuditLog, OutboxMessage

JUMP_DAY = dt.date(2025, 3, 31)
DAYS = [JUMP_DAY - dt.timedelta(days=59 - i) for i in range(60)]
pytestmark = pytest.mark.django_db


def morning_after(day: dt.date) -> dt.datetime:
    return at(day + dt.timedelta(days=1), 7)


def steady(i: int) -> int:
    return 4 + (i % 3) - 1  # 3, 4, 5 cases on 200 orders: about 20 per 1,000


@pytest.fixture
def rule(db):
    AlertRule.objects.update(active=False)  # only the store complaint rate, for speed
    found, _ = AlertRule.objects.update_or_create(
        metric=Metric.COMPLAINT_RATE, dimension=Dimension.STORE, defaults={"active": True}
    )
    return found


@pytest.fixture
def jump(rule):
    fill_store("上海徐汇店", DAYS, 200, lambda i: 20 if i == len(DAYS) - 1 else steady(i))
    fill_store("北京朝阳店", DAYS, 200, steady)


@pytest.fixture
def subscriber(owner):
    owner.email = "owner@example.com"
    owner.save()
    return Subscription.objects.create(user=owner, metric=Metric.COMPLAINT_RATE)


def test_defaults_cover_four_metrics_by_store_and_region():
    pairs = set(AlertRule.objects.values_list("metric", "dimension"))
    assert pairs == {(m, d) for m in Metric.values for d in ("store", "region")}


def test_injected_jump_opens_exactly_one_alert_with_place_and_size(jump):
    report = scan_kpis(now=morning_after(JUMP_DAY))
    assert report.day == JUMP_DAY and report.series == 2
    alert = Alert.objects.get()
    assert (alert.metric, alert.dimension, alert.place) == ("complaint_rate", "store", "上海徐汇店")
    assert alert.day == JUMP_DAY and alert.status == Alert.Status.OPEN
    assert alert.value == pytest.approx(100.0)  # 20 cases per 200 orders, per 1,000
    assert 15 < alert.expected < 25
    assert alert.jump_abs == pytest.approx(alert.value - alert.expected)
    assert alert.p_value < 0.01 and alert.direction == "up" and alert.sample == 200
    assert AuditLog.objects.filter(action="alerts.alert.opened", object_id=str(alert.pk)).exists()


def test_rerun_opens_nothing_and_sends_no_second_message(jump, subscriber):
    first = scan_kpis(now=morning_after(JUMP_DAY))
    again = scan_kpis(now=morning_after(JUMP_DAY) + dt.timedelta(hours=2))
    assert len(first.opened) == 1 and first.messages == 1
    assert again.opened == [] and again.messages == 0 and again.skipped_rules == 1
    assert Alert.objects.count() == 1 and OutboxMessage.objects.count() == 1


def test_second_worker_cannot_open_a_duplicate(jump):
    scan_kpis(now=morning_after(JUMP_DAY))
    AlertRule.objects.update(last_scanned_day=None)  # as if another worker had not seen it
    scan_kpis(now=morning_after(JUMP_DAY))
    assert Alert.objects.filter(status__in=Alert.ACTIVE).count() == 1


@override_settings(CXLOOP_PUBLIC_URL="https://cx.example.com")
def test_subscription_gets_one_message_with_the_absolute_link(jump, subscriber, teammate):
    Subscription.objects.create(user=teammate, metric=Metric.NPS)  # other metric: no message
    scan_kpis(now=morning_after(JUMP_DAY))
    alert = Alert.objects.get()
    message = OutboxMessage.objects.get()
    assert message.recipient == "owner@example.com"
    assert f"https://cx.example.com/alerts/{alert.pk}/" in message.body
    assert "上海徐汇店" in message.subject and "100.0" in message.body and "p = " in message.body


def test_recovery_closes_the_alert_after_normal_days(jump):
    scan_kpis(now=morning_after(JUMP_DAY))
    after = [JUMP_DAY + dt.timedelta(days=i + 1) for i in range(10)]
    fill_store("上海徐汇店", after, 200, steady)
    for day in after:
        scan_kpis(now=morning_after(day))
    alert = Alert.objects.get()
    assert alert.status == Alert.Status.RECOVERED
    assert JUMP_DAY < alert.recovered_day <= after[-1]
    assert AuditLog.objects.filter(action="alerts.alert.recovered").count() == 1


def test_acknowledged_alert_still_blocks_a_new_one(jump, owner):
    scan_kpis(now=morning_after(JUMP_DAY))
    alert = acknowledge_alert(alert=Alert.objects.get(), actor=owner, note="门店在排查")
    assert alert.status == Alert.Status.ACKNOWLEDGED and alert.acknowledged_by == owner
    next_day = JUMP_DAY + dt.timedelta(days=1)
    fill_store("上海徐汇店", [next_day], 200, lambda i: 25)
    report = scan_kpis(now=morning_after(next_day))
    assert report.opened == [] and Alert.objects.count() == 1


def test_detail_page_shows_the_chart_and_the_cases(jump, owner_client):
    scan_kpis(now=morning_after(JUMP_DAY))
    alert = Alert.objects.get()
    body = owner_client.get(f"/alerts/{alert.pk}/").content.decode()
    assert 'id="chart-alert-series"' in body and "Expected band" in body
    assert body.count("/cases/") >= 20  # the day's 20 cases, each linked
