"""The outbox against a real local HTTP server: retries, backoff, give-up, no double sends."""

from __future__ import annotations

import datetime as dt
import json
import random
import smtplib
import threading

import pytest
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from cxloop.core import outbox
from cxloop.core.channels import webhook
from cxloop.core.channels.email import classify_smtp_error
from cxloop.core.channels.webhook import verify_signature
from cxloop.core.models import AuditLog, OutboxAttempt, OutboxMessage
from cxloop.core.tests.webhook_server import WebhookServer, closed_port

SECRET = "test-secret-0123456789"


@pytest.fixture
def server():
    running = WebhookServer().start()
    yield running
    running.stop()


@pytest.fixture
def hook_settings(settings, server):
    settings.CXLOOP_WEBHOOK_URL = server.url
    settings.CXLOOP_WEBHOOK_SECRET = SECRET
    settings.CXLOOP_OUTBOX_MAX_ATTEMPTS = 5
    return settings


def _sms(**kwargs) -> OutboxMessage:
    defaults = {"channel": "webhook", "recipient": "13800138000", "body": "Your order shipped"}
    return outbox.enqueue_message(**{**defaults, **kwargs})


def _reload(message: OutboxMessage) -> OutboxMessage:
    return OutboxMessage.objects.get(pk=message.pk)


@pytest.mark.django_db
def test_503_twice_then_accepted_with_growing_delays(hook_settings, server):
    server.script = [503, 503]
    message = _sms(payload={"event": "sms.send"})
    now = timezone.now()
    delays = []
    for _round in range(2):
        report = outbox.deliver_due_messages(now=now)
        assert (report.retrying, report.sent) == (1, 0)
        message = _reload(message)
        assert message.status == OutboxMessage.Status.PENDING
        assert "HTTP 503" in message.last_error
        delays.append(message.next_attempt_at - now)
        # Not due yet: a sweep a second later leaves it alone.
        assert outbox.deliver_due_messages(now=now + dt.timedelta(seconds=1)).attempted == 0
        now = message.next_attempt_at
    assert dt.timedelta(seconds=24) <= delays[0] <= dt.timedelta(seconds=36)
    assert delays[1] > delays[0]
    assert outbox.deliver_due_messages(now=now).sent == 1
    message = _reload(message)
    assert message.status == OutboxMessage.Status.SENT
    assert message.attempt_count == 3
    assert message.sent_at == now
    results = list(message.attempts.order_by("at").values_list("succeeded", flat=True))
    assert results == [False, False, True]
    assert server.message_ids == [str(message.pk)] * 3


@pytest.mark.django_db
def test_client_error_fails_at_once(hook_settings, server):
    server.script = [400]
    message = _sms()
    assert outbox.deliver_due_messages().failed == 1
    message = _reload(message)
    assert message.status == OutboxMessage.Status.FAILED
    assert message.last_error == "HTTP 400: answer 400"
    later = timezone.now() + dt.timedelta(days=2)
    assert outbox.deliver_due_messages(now=later).attempted == 0
    assert len(server.received) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("status", [408, 429, 500, 502])
def test_timeouts_throttling_and_server_errors_are_retried(hook_settings, server, status):
    server.script = [status]
    message = _sms()
    assert outbox.deliver_due_messages().retrying == 1
    assert _reload(message).status == OutboxMessage.Status.PENDING


@pytest.mark.django_db
def test_connection_refused_is_transient(hook_settings):
    message = _sms(payload={"url": f"http://127.0.0.1:{closed_port()}/hook"})
    assert outbox.deliver_due_messages().retrying == 1
    message = _reload(message)
    assert message.status == OutboxMessage.Status.PENDING
    assert "ConnectError" in message.last_error
    assert message.attempts.get().succeeded is False


@pytest.mark.django_db
def test_missing_webhook_configuration_waits(settings):
    settings.CXLOOP_WEBHOOK_URL = ""
    settings.CXLOOP_WEBHOOK_SECRET = SECRET
    message = _sms()
    assert outbox.deliver_due_messages().retrying == 1
    assert "CXLOOP_WEBHOOK_URL" in _reload(message).last_error


@pytest.mark.django_db
def test_gives_up_after_max_attempts_then_owner_retries(hook_settings, server, owner):
    hook_settings.CXLOOP_OUTBOX_MAX_ATTEMPTS = 2
    server.default_status = 500
    message = _sms()
    now = timezone.now()
    assert outbox.deliver_due_messages(now=now).retrying == 1
    now = _reload(message).next_attempt_at
    assert outbox.deliver_due_messages(now=now).failed == 1
    message = _reload(message)
    assert (message.status, message.attempt_count) == (OutboxMessage.Status.FAILED, 2)
    assert message.attempts.count() == 2

    outbox.retry_message(message=message, actor=owner)
    message = _reload(message)
    assert (message.status, message.attempt_count) == (OutboxMessage.Status.PENDING, 0)
    audit = AuditLog.objects.get(action="outbox.retried", object_id=str(message.pk))
    assert audit.actor == owner
    assert audit.before["status"] == "failed" and audit.after["status"] == "pending"
    assert "13800138000" not in audit.object_repr

    server.default_status = 200
    assert outbox.deliver_due_messages().sent == 1
    assert _reload(message).attempts.count() == 3
    with pytest.raises(outbox.OutboxError):
        outbox.retry_message(message=_reload(message), actor=owner)


@pytest.mark.django_db
def test_crashed_workers_claim_expires(hook_settings, server):
    message = _sms()
    now = timezone.now()
    lease_end = now + dt.timedelta(seconds=outbox.CLAIM_SECONDS)
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxMessage.Status.SENDING, claimed_until=lease_end, attempt_count=1
    )
    assert outbox.deliver_due_messages(now=now).attempted == 0
    later = lease_end + dt.timedelta(seconds=1)
    assert outbox.deliver_due_messages(now=later).sent == 1
    assert _reload(message).attempt_count == 2
    assert len(server.received) == 1


def _deliver_concurrently(workers: int) -> list[outbox.DeliveryReport]:
    reports: list[outbox.DeliveryReport] = []
    barrier = threading.Barrier(workers)

    def work():
        try:
            barrier.wait()
            reports.append(outbox.deliver_due_messages(limit=100))
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return reports


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_never_send_one_message_twice(hook_settings, server):
    server.delay_seconds = 0.005
    # bulk_create, not enqueue: with autocommit the queue would deliver each one at once.
    OutboxMessage.objects.bulk_create(
        OutboxMessage(channel="webhook", recipient=f"1380013{n:04d}", body="hi") for n in range(30)
    )
    ids = {str(pk) for pk in OutboxMessage.objects.values_list("pk", flat=True)}
    if connection.vendor == "postgresql":
        reports = _deliver_concurrently(workers=3)
    else:  # SQLite serialises writers anyway: run the sweeps one after another.
        reports = [outbox.deliver_due_messages() for _ in range(3)]
    assert len(reports) == 3
    assert sorted(server.message_ids) == sorted(ids)
    assert sum(r.sent for r in reports) == 30
    assert OutboxMessage.objects.filter(status=OutboxMessage.Status.SENT).count() == 30
    assert OutboxAttempt.objects.count() == 30


@pytest.mark.django_db
def test_dedupe_key_makes_enqueue_idempotent(hook_settings):
    first = _sms(dedupe_key="order-1:shipped")
    again = _sms(dedupe_key="order-1:shipped", body="different text")
    other = _sms(dedupe_key="order-2:shipped")
    assert again.pk == first.pk
    assert other.pk != first.pk
    assert OutboxMessage.objects.filter(dedupe_key="order-1:shipped").get().body == (
        "Your order shipped"
    )


@pytest.mark.django_db
def test_enqueue_delivers_after_commit(hook_settings, server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = _sms()
        assert server.received == []  # nothing leaves before the transaction commits
    assert len(callbacks) == 1
    assert _reload(message).status == OutboxMessage.Status.SENT
    assert server.message_ids == [str(message.pk)]


@pytest.mark.django_db
def test_send_after_waits_until_due(hook_settings, server, django_capture_on_commit_callbacks):
    due = timezone.now() + dt.timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = _sms(send_after=due)
    assert callbacks == []
    assert outbox.deliver_due_messages().attempted == 0
    assert outbox.deliver_due_messages(now=due).sent == 1
    assert server.message_ids == [str(message.pk)]


@pytest.mark.django_db
def test_enqueue_refuses_bad_input():
    with pytest.raises(outbox.OutboxError):
        outbox.enqueue_message(channel="pigeon", recipient="13800138000")
    with pytest.raises(outbox.OutboxError):
        outbox.enqueue_message(channel="email", recipient="")
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db
def test_webhook_is_signed_and_signature_verifies(hook_settings, server):
    message = _sms(subject="Shipped", payload={"event": "sms.send", "order": "A-1"})
    outbox.deliver_due_messages()
    request = server.received[0]
    headers, body = request.headers, request.body
    assert headers["X-Cxloop-Event"] == "sms.send"
    assert headers["X-Cxloop-Message-Id"] == str(message.pk)
    document = json.loads(body)
    assert document["recipient"] == "13800138000"
    assert document["text"] == "Your order shipped"
    assert document["data"] == {"order": "A-1"}
    timestamp, signature = headers["X-Cxloop-Timestamp"], headers["X-Cxloop-Signature"]
    assert signature.startswith("sha256=")
    assert verify_signature(SECRET, timestamp, body, signature)
    assert not verify_signature("wrong-secret", timestamp, body, signature)
    assert not verify_signature(SECRET, timestamp, body + b" ", signature)
    too_late = int(timestamp) + 301
    assert not verify_signature(SECRET, timestamp, body, signature, now=too_late)
    assert not verify_signature(SECRET, "not-a-number", body, signature)


def test_signature_format_is_documented_hmac():
    import hashlib
    import hmac

    body = b'{"id": "1"}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert webhook.sign("s3cret", 1700000000, body) == f"sha256={expected}"


@pytest.mark.django_db
def test_unexpected_channel_error_is_retried_not_lost(hook_settings, monkeypatch):
    def explode(self, message):
        raise RuntimeError("bug")

    monkeypatch.setattr(webhook.WebhookChannel, "send", explode)
    message = _sms()
    assert outbox.deliver_due_messages().retrying == 1
    assert "RuntimeError: bug" in _reload(message).last_error


def test_backoff_grows_with_jitter_and_is_capped():
    rng = random.Random(7)
    delays = [outbox.backoff_delay(n, rng=rng).total_seconds() for n in range(1, 6)]
    for attempt, delay in enumerate(delays, start=1):
        base = 30 * 2 ** (attempt - 1)
        assert 0.8 * base <= delay <= 1.2 * base
    assert delays == sorted(delays)
    assert outbox.backoff_delay(40).total_seconds() <= 6 * 3600


@pytest.mark.django_db
def test_email_sends_subject_and_body():
    message = outbox.enqueue_message(
        channel="email", recipient="li@example.com", subject="Hi", body="Thanks!"
    )
    assert outbox.deliver_due_messages().sent == 1
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert (sent.subject, sent.body, sent.to) == ("Hi", "Thanks!", ["li@example.com"])
    assert sent.extra_headers["X-Cxloop-Message-Id"] == str(message.pk)


@pytest.mark.django_db
def test_email_from_template_with_html():
    outbox.enqueue_message(
        channel="email",
        recipient="li@example.com",
        payload={"template": "test", "name": "Li Lei", "language": "en"},
    )
    assert outbox.deliver_due_messages().sent == 1
    sent = mail.outbox[0]
    assert sent.subject == "Test message from cxloop"
    assert sent.body.startswith("Hello Li Lei,")
    html, mimetype = sent.alternatives[0]
    assert mimetype == "text/html" and "<p>Hello Li Lei,</p>" in html


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_template_renders_in_the_payload_language(tmp_path, settings, language):
    probe = tmp_path / "core" / "messages"
    probe.mkdir(parents=True)
    (probe / "probe.txt").write_text("{% load i18n %}{% get_current_language as L %}{{ L }}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path)]}]
    outbox.enqueue_message(
        channel="email",
        recipient="li@example.com",
        payload={"template": "probe", "language": language},
    )
    outbox.deliver_due_messages()
    assert mail.outbox[0].body == language


@pytest.mark.django_db
def test_unknown_template_fails_at_once():
    message = outbox.enqueue_message(
        channel="email", recipient="li@example.com", payload={"template": "no-such-template"}
    )
    assert outbox.deliver_due_messages().failed == 1
    assert "no-such-template" in _reload(message).last_error


@pytest.mark.django_db
def test_smtp_outage_is_transient():
    smtp = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": closed_port(),
        "EMAIL_TIMEOUT": 2,
    }
    message = outbox.enqueue_message(channel="email", recipient="li@example.com", body="x")
    with override_settings(**smtp):
        assert outbox.deliver_due_messages().retrying == 1
    message = _reload(message)
    assert message.status == OutboxMessage.Status.PENDING
    assert "ConnectionRefusedError" in message.last_error


def test_smtp_answers_are_classified():
    refused_550 = smtplib.SMTPRecipientsRefused({"a@b.c": (550, b"no such user")})
    refused_450 = smtplib.SMTPRecipientsRefused({"a@b.c": (450, b"mailbox busy")})
    assert classify_smtp_error(refused_550).transient is False
    assert classify_smtp_error(refused_450).transient is True
    assert classify_smtp_error(smtplib.SMTPDataError(554, b"rejected")).transient is False
    assert classify_smtp_error(smtplib.SMTPAuthenticationError(535, b"bad login")).transient
    assert classify_smtp_error(smtplib.SMTPServerDisconnected("gone")).transient


@pytest.mark.django_db
def test_purge_keeps_recent_and_unsent_messages(hook_settings):
    now = timezone.now()
    old = now - dt.timedelta(days=120)
    old_sent = _sms()
    OutboxMessage.objects.filter(pk=old_sent.pk).update(
        status=OutboxMessage.Status.SENT, created_at=old, sent_at=old
    )
    OutboxAttempt.objects.create(message=old_sent, succeeded=True, at=old)
    old_failed = _sms()
    OutboxMessage.objects.filter(pk=old_failed.pk).update(
        status=OutboxMessage.Status.FAILED, created_at=old
    )
    recent_sent = _sms()
    OutboxMessage.objects.filter(pk=recent_sent.pk).update(
        status=OutboxMessage.Status.SENT, sent_at=now
    )
    assert outbox.purge_sent_messages(keep_days=90, now=now) == 1
    remaining = set(OutboxMessage.objects.values_list("pk", flat=True))
    assert remaining == {old_failed.pk, recent_sent.pk}
    assert not OutboxAttempt.objects.filter(message_id=old_sent.pk).exists()


@pytest.mark.django_db
def test_queue_outage_at_enqueue_loses_nothing(
    hook_settings, server, monkeypatch, django_capture_on_commit_callbacks
):
    from cxloop.core import tasks

    def queue_down(message_id):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(tasks, "deliver_message_task", queue_down)
    with django_capture_on_commit_callbacks(execute=True):
        message = _sms()
    assert _reload(message).status == OutboxMessage.Status.PENDING
    assert outbox.deliver_due_messages().sent == 1  # the sweep sends it
