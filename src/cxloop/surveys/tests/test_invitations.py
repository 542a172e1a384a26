"""Invitations: suppression (consent, frequency cap, address, survey), dedupe, delivery, expiry."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import resolve
from django.utils import timezone

from cxloop.core import outbox
from cxloop.core.channels.webhook import WebhookChannel
from cxloop.core.models import OutboxMessage
from cxloop.core.services import set_setting
from cxloop.surveys import invitations
from cxloop.surveys.invitations import invite
from cxloop.surveys.models import Invitation, Survey
from cxloop.surveys.tests.invitation_helpers import make_customer, make_survey

pytestmark = pytest.mark.django_db
Status = Invitation.Status
DAY = dt.timedelta(days=1)


@pytest.fixture
def survey():
    return make_survey("delivery-csat")


def test_invite_schedules_with_expiry(survey):
    customer = make_customer()
    send_at = timezone.now() + dt.timedelta(hours=2)
    invitation = invite(
        survey=survey,
        customer=customer,
        channel="sms",
        send_at=send_at,
        expires_in=dt.timedelta(hours=24),
    )
    invitation.refresh_from_db()
    assert invitation.status == Status.SCHEDULED
    assert invitation.scheduled_for == send_at
    assert invitation.expires_at == send_at + dt.timedelta(hours=24)
    assert len(invitation.nonce) == 32


def test_no_consent_is_suppressed_and_visible(survey):
    invitation = invite(survey=survey, customer=make_customer(consent=False), channel="sms")
    stored = Invitation.objects.get(pk=invitation.pk)
    assert (stored.status, stored.suppressed_reason) == (Status.SUPPRESSED, invitations.NO_CONSENT)
    assert invitations.suppression_label(stored.suppressed_reason) == "No consent to surveys"


def test_frequency_cap_spans_surveys_and_30_days(survey):
    other_survey = make_survey("relationship-nps")
    customer = make_customer()
    now = timezone.now()
    first = invite(survey=survey, customer=customer, channel="sms", send_at=now)
    capped = invite(survey=other_survey, customer=customer, channel="sms", send_at=now + 29 * DAY)
    later = invite(survey=other_survey, customer=customer, channel="sms", send_at=now + 31 * DAY)
    assert first.status == Status.SCHEDULED
    assert (capped.status, capped.suppressed_reason) == (Status.SUPPRESSED, "frequency_cap")
    assert later.status == Status.SCHEDULED


def test_frequency_cap_counts_sent_but_not_suppressed(survey):
    customer = make_customer()
    closed = make_survey("closed", status=Survey.Status.CLOSED)
    suppressed = invite(survey=closed, customer=customer, channel="sms")
    assert suppressed.suppressed_reason == invitations.SURVEY_NOT_ACTIVE
    assert invite(survey=survey, customer=customer, channel="sms").status == Status.SCHEDULED
    Invitation.objects.filter(status=Status.SCHEDULED).update(status=Status.SENT)
    again = invite(survey=make_survey(), customer=customer, channel="sms")
    assert again.suppressed_reason == invitations.FREQUENCY_CAP


def test_frequency_cap_follows_the_setting(survey, owner):
    customer = make_customer()
    invite(survey=survey, customer=customer, channel="sms")
    set_setting(key="survey_frequency_cap_days", value=0, actor=owner)
    assert invite(survey=survey, customer=customer, channel="sms").status == Status.SCHEDULED
    set_setting(key="survey_frequency_cap_days", value=5, actor=owner)
    in_six_days = timezone.now() + 6 * DAY
    assert invite(survey=survey, customer=customer, channel="sms", send_at=in_six_days).status == (
        Status.SCHEDULED
    )


@pytest.mark.parametrize(
    ("channel", "phone", "email"),
    [("email", "13800138000", ""), ("sms", "", "a@example.com"), ("wechat", "", "a@example.com")],
)
def test_no_address_for_the_channel_is_suppressed(survey, channel, phone, email):
    customer = make_customer(phone=phone, email=email)
    invitation = invite(survey=survey, customer=customer, channel=channel)
    assert invitation.suppressed_reason == invitations.NO_ADDRESS


def test_survey_not_active_is_suppressed():
    draft = make_survey(status=Survey.Status.DRAFT)
    invitation = invite(survey=draft, customer=make_customer(), channel="sms")
    assert invitation.suppressed_reason == invitations.SURVEY_NOT_ACTIVE


def test_same_dedupe_key_gives_one_invitation(survey):
    customer = make_customer()
    first = invite(survey=survey, customer=customer, channel="sms", dedupe_key="trigger:1:event:9")
    second = invite(survey=survey, customer=customer, channel="sms", dedupe_key="trigger:1:event:9")
    assert first.pk == second.pk
    assert Invitation.objects.count() == 1


def test_sms_goes_out_through_the_webhook_channel(survey, settings):
    settings.CXLOOP_PUBLIC_URL = "https://cx.example.com"
    invitation = invite(survey=survey, customer=make_customer(), channel="sms")
    assert invitations.send_due_invitations() == 1
    invitation.refresh_from_db()
    assert invitation.status == Status.SENT and invitation.sent_at is not None
    message = OutboxMessage.objects.get(dedupe_key=f"invitation:{invitation.pk}")
    assert invitation.outbox_message_id == message.pk
    assert (message.channel, message.recipient) == ("webhook", "13800138000")
    payload = message.payload
    assert payload["template"] == "survey_invitation" and payload["phone"] == "13800138000"
    assert payload["link"].startswith("https://cx.example.com/s/")
    assert resolve(urlsplit(payload["link"]).path).view_name == "answer:invitation"
    assert "url" not in payload  # the webhook channel would post to it
    assert payload["link"] in payload["text"] and survey.title in payload["text"]
    document = json.loads(WebhookChannel().body(message))
    assert document["event"] == "sms.send"
    assert payload["link"] in document["text"]
    assert document["data"]["phone"] == "13800138000"


def test_email_goes_out_with_subject_and_link(survey, settings):
    customer = make_customer(email="zhang@example.com")
    invitation = invite(survey=survey, customer=customer, channel="email")
    invitations.deliver_invitation(invitation=invitation)
    message = OutboxMessage.objects.get(dedupe_key=f"invitation:{invitation.pk}")
    assert (message.channel, message.recipient) == ("email", "zhang@example.com")
    assert survey.title in message.subject
    assert message.payload["link"] in message.body
    outbox.deliver_message(message=message)
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["zhang@example.com"] and survey.title in sent.subject
    assert message.payload["link"] in sent.body
    assert message.payload["link"] in sent.alternatives[0][0]


def test_not_due_is_not_sent_and_sending_twice_sends_once(survey):
    customer = make_customer()
    later = invite(survey=survey, customer=customer, channel="sms", send_at=timezone.now() + DAY)
    assert invitations.send_due_invitations() == 0
    assert invitations.send_due_invitations(now=timezone.now() + 2 * DAY) == 1
    assert invitations.deliver_invitation(invitation=later) == invitations.SKIPPED
    assert OutboxMessage.objects.count() == 1


def test_consent_withdrawn_before_sending_suppresses(survey):
    customer = make_customer()
    invitation = invite(survey=survey, customer=customer, channel="sms")
    customer.consent_survey = False
    customer.save()
    assert invitations.deliver_invitation(invitation=invitation) == invitations.SUPPRESSED
    assert invitation.status == Status.SUPPRESSED
    assert invitation.suppressed_reason == invitations.NO_CONSENT
    assert not OutboxMessage.objects.exists()


def test_due_after_its_expiry_is_expired_not_sent(survey):
    invitation = invite(
        survey=survey, customer=make_customer(), channel="sms", expires_in=dt.timedelta(hours=1)
    )
    outcome = invitations.deliver_invitation(invitation=invitation, now=timezone.now() + DAY)
    assert outcome == invitations.EXPIRED
    assert invitation.status == Status.EXPIRED and invitation.sent_at is None
    assert not OutboxMessage.objects.exists()


def test_expire_invitations_marks_only_overdue_unanswered(survey):
    now = timezone.now()
    rows = {}
    for status in (Status.SENT, Status.OPENED, Status.ANSWERED):
        invitation = invite(survey=survey, customer=make_customer(), channel="sms")
        Invitation.objects.filter(pk=invitation.pk).update(status=status, expires_at=now - DAY)
        rows[status] = invitation.pk
    fresh = invite(survey=survey, customer=make_customer(), channel="sms")
    Invitation.objects.filter(pk=fresh.pk).update(status=Status.SENT)
    assert invitations.expire_invitations(now=now) == 2
    statuses = dict(Invitation.objects.values_list("pk", "status"))
    assert statuses[rows[Status.SENT]] == statuses[rows[Status.OPENED]] == Status.EXPIRED
    assert statuses[rows[Status.ANSWERED]] == Status.ANSWERED
    assert statuses[fresh.pk] == Status.SENT


# --- quiet hours (default 21:00–08:00 Asia/Shanghai) ---------------------------------------------


def shanghai(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_sms_due_in_quiet_hours_is_held_then_sent_later(survey, quiet_hours):
    due = shanghai(10, 22, 30)
    invitation = invite(survey=survey, customer=make_customer(), channel="sms", send_at=due)
    assert invitations.send_due_invitations(now=due) == 0
    invitation.refresh_from_db()
    assert invitation.status == Status.SCHEDULED and invitation.sent_at is None
    assert invitation.scheduled_for == shanghai(11, 8)
    assert invitation.expires_at == due + invitations.DEFAULT_EXPIRY  # expiry unchanged
    assert invitation.suppressed_reason == invitations.QUIET_HOURS
    assert str(invitations.status_note(invitation)) == "Held for quiet hours until 08:00"
    assert not OutboxMessage.objects.exists()
    # A run at 03:00 still finds nothing due; the 08:00 run sends it.
    assert invitations.send_due_invitations(now=shanghai(11, 3)) == 0
    assert invitations.send_due_invitations(now=shanghai(11, 8)) == 1
    invitation.refresh_from_db()
    assert invitation.status == Status.SENT and invitation.sent_at == shanghai(11, 8)
    assert invitation.suppressed_reason == "" and invitations.status_note(invitation) == ""
    assert OutboxMessage.objects.filter(dedupe_key=f"invitation:{invitation.pk}").count() == 1


def test_wechat_is_held_by_a_same_day_window(survey, quiet_hours, owner):
    set_setting(key="quiet_hours_start", value="12:00", actor=owner)
    set_setting(key="quiet_hours_end", value="14:00", actor=owner)
    customer = make_customer()
    invitation = invite(survey=survey, customer=customer, channel="wechat", send_at=shanghai(10, 9))
    assert invitations.deliver_invitation(invitation=invitation, now=shanghai(10, 13)) == "held"
    assert invitation.scheduled_for == shanghai(10, 14)
    # 22:00 is outside a 12:00–14:00 window.
    other = invite(survey=survey, customer=make_customer(), channel="sms", send_at=shanghai(10, 9))
    assert invitations.deliver_invitation(invitation=other, now=shanghai(10, 22)) == "sent"


def test_equal_start_and_end_means_no_quiet_hours(survey, quiet_hours, owner):
    set_setting(key="quiet_hours_end", value="21:00", actor=owner)
    invitation = invite(
        survey=survey, customer=make_customer(), channel="sms", send_at=shanghai(10, 9)
    )
    assert invitations.deliver_invitation(invitation=invitation, now=shanghai(10, 23)) == "sent"


def test_email_is_not_held_in_quiet_hours(survey, quiet_hours):
    due = shanghai(10, 23)
    customer = make_customer(email="zhang@example.com")
    invitation = invite(survey=survey, customer=customer, channel="email", send_at=due)
    assert invitations.send_due_invitations(now=due) == 1
    invitation.refresh_from_db()
    assert invitation.status == Status.SENT and invitation.scheduled_for == due
    assert OutboxMessage.objects.get().channel == "email"


def test_held_invitation_expiring_in_quiet_hours_expires_as_usual(survey, quiet_hours):
    due = shanghai(10, 22)
    invitation = invite(
        survey=survey,
        customer=make_customer(),
        channel="sms",
        send_at=due,
        expires_in=dt.timedelta(hours=2),
    )
    assert invitations.send_due_invitations(now=due) == 0
    invitation.refresh_from_db()
    assert invitation.expires_at == shanghai(11, 0)  # not extended
    assert invitations.send_due_invitations(now=shanghai(11, 8)) == 0
    invitation.refresh_from_db()
    assert invitation.status == Status.EXPIRED and invitation.sent_at is None
    assert not OutboxMessage.objects.exists()
