"""Case notifications: one outbox message per user and channel, held for quiet hours unless
urgent, the webhook only when a gateway is configured."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cxloop.cases import notify
from cxloop.cases.tests.sla_helpers import SHANGHAI, make_case, staff
from cxloop.core.models import OutboxMessage
from cxloop.core.services import set_setting

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(django_user_model):
    quiet = django_user_model.objects.create_user(username="no-mail", password="pw")
    gone = staff(django_user_model, "gone")
    gone.is_active = False
    gone.save()
    return {"a": staff(django_user_model, "a"), "b": staff(django_user_model, "b"),
            "no_mail": quiet, "gone": gone}  # fmt: skip


def _send(people, *, urgent=True, now=None, key="k1", **extra):
    case = extra.pop("case", None) or make_case(created_at=timezone.now())
    users = [people["a"], people["b"], people["a"], people["no_mail"], people["gone"], None]
    return notify.notify(
        users=users, subject="[cxloop] 提醒", body="请处理", case=case, urgent=urgent,
        dedupe_key=key, now=now,
    )  # fmt: skip


def test_one_email_per_user_with_an_address_and_none_twice(people, settings):
    settings.CXLOOP_WEBHOOK_URL = ""
    messages = _send(people)
    assert sorted(m.recipient for m in messages) == ["a@example.com", "b@example.com"]
    assert all(m.channel == "email" and "/cases/" in m.body for m in messages)
    again = _send(people)
    assert {m.pk for m in again} == {m.pk for m in messages}  # same key: nothing new
    assert OutboxMessage.objects.count() == 2


def test_non_urgent_messages_wait_for_the_end_of_quiet_hours(people, owner):
    set_setting(key="quiet_hours_start", value="21:00", actor=owner)
    set_setting(key="quiet_hours_end", value="08:00", actor=owner)
    # Future times, so the outbox keeps the send time we asked for.
    night = (dt.datetime.now(SHANGHAI) + dt.timedelta(days=20)).replace(
        hour=23, minute=30, second=0, microsecond=0
    )
    held = _send(people, urgent=False, now=night, key="calm")
    morning = (night + dt.timedelta(days=1)).replace(hour=8, minute=0)
    assert {m.next_attempt_at for m in held} == {morning}
    day = night.replace(hour=10)
    assert {m.next_attempt_at for m in _send(people, urgent=False, now=day, key="day")} == {day}
    urgent = _send(people, urgent=True, now=night, key="urgent")
    assert all(m.next_attempt_at <= timezone.now() for m in urgent)


def test_the_webhook_goes_out_only_when_a_gateway_is_set(people, settings):
    settings.CXLOOP_WEBHOOK_URL = "https://gateway.example.com/cxloop"
    messages = _send(people, key="hook")
    hooks = [m for m in messages if m.channel == "webhook"]
    assert sorted(m.recipient for m in hooks) == ["a", "b", "no-mail"]
    payload = hooks[0].payload
    assert payload["event"] == notify.EVENT and "url" not in payload
    assert payload["text"].startswith("请处理")


def test_a_long_key_is_hashed_to_fit(people, settings):
    settings.CXLOOP_WEBHOOK_URL = ""
    messages = _send(people, key="x" * 300)
    assert all(len(m.dedupe_key) <= notify.KEY_MAX for m in messages)
    assert len({m.dedupe_key for m in messages}) == 2
