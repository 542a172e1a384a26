"""The notification outbox: queue a message now, deliver it reliably later.

A message is written in the caller's transaction and delivered after commit by a queue
task; a periodic sweep (``cxloop.core.tasks.deliver_outbox``) picks up everything else that
is due. Workers claim a row with a conditional UPDATE before sending, so any number of them
on any number of machines never send one message twice at the same time; a crashed
worker's claim simply expires. Failures are retried with exponential backoff; after
``CXLOOP_OUTBOX_MAX_ATTEMPTS`` the message is ``failed`` — kept, visible and retryable by hand.
Delivery is at-least-once: receivers dedupe by the message id.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from cxloop.core.audit import record_audit
from cxloop.core.channels import DeliveryError, UnknownChannel, get_channel
from cxloop.core.models import OutboxAttempt, OutboxMessage

logger = logging.getLogger(__name__)

Status = OutboxMessage.Status
# Longer than the slowest send (webhook 10 s, SMTP 20 s timeouts) with a wide margin.
CLAIM_SECONDS = 300
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 6 * 3600
ERROR_MAX_CHARS = 2000

SENT, RETRYING, FAILED, SKIPPED = "sent", "retrying", "failed", "skipped"


class OutboxError(Exception):
    """A request the outbox cannot carry out (unknown channel, retrying a waiting message)."""


@dataclass
class DeliveryReport:
    """What one ``deliver_due_messages`` run did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    message_ids: list[int] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return self.sent + self.retrying + self.failed

    def add(self, message_id: int, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        if outcome != SKIPPED:
            self.message_ids.append(message_id)


def enqueue_message(
    *,
    channel: str,
    recipient: str,
    subject: str = "",
    body: str = "",
    payload: dict | None = None,
    dedupe_key: str | None = None,
    send_after: dt.datetime | None = None,
) -> OutboxMessage:
    """Store a message for delivery; the same ``dedupe_key`` returns the first message."""
    _check_address(channel, recipient)
    if dedupe_key:
        existing = OutboxMessage.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    now = timezone.now()
    message = OutboxMessage(
        channel=channel,
        recipient=recipient,
        subject=subject[:255],
        body=body,
        payload=payload or {},
        dedupe_key=dedupe_key or None,
        next_attempt_at=max(send_after, now) if send_after else now,
        created_at=now,
    )
    try:
        with transaction.atomic():  # savepoint: a lost dedupe race must not spoil the caller
            message.save()
    except IntegrityError:
        if not dedupe_key:
            raise
        return OutboxMessage.objects.get(dedupe_key=dedupe_key)
    if message.next_attempt_at <= now:
        _deliver_after_commit(message.pk)
    return message


def _check_address(channel: str, recipient: str) -> None:
    try:
        get_channel(channel)
    except UnknownChannel:
        raise OutboxError(f"Unknown channel {channel!r}") from None
    if not recipient or len(recipient) > 255:
        raise OutboxError("A message needs a recipient of at most 255 characters")


def _deliver_after_commit(message_id: int) -> None:
    transaction.on_commit(lambda: _schedule_delivery(message_id))


def _schedule_delivery(message_id: int) -> None:
    from cxloop.core.tasks import deliver_message_task  # tasks import this module

    try:
        deliver_message_task(message_id)
    except Exception:
        # The row is committed: if the queue is down the periodic sweep still delivers it.
        logger.warning("Could not queue outbox message %s; the sweep will send it", message_id)


def deliver_due_messages(*, limit: int = 100, now: dt.datetime | None = None) -> DeliveryReport:
    """Deliver up to ``limit`` due messages, oldest due first; safe to run concurrently."""
    now = now or timezone.now()
    report = DeliveryReport()
    candidate_ids = list(
        OutboxMessage.objects.filter(_due(now))
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    for message_id in candidate_ids:
        report.add(message_id, _claim_and_deliver(message_id, now))
    return report


def deliver_message(*, message: OutboxMessage, now: dt.datetime | None = None) -> str:
    """Deliver ``message`` if it is due and no other worker holds it; returns the outcome."""
    outcome = _claim_and_deliver(message.pk, now or timezone.now())
    message.refresh_from_db()
    return outcome


def _due(now: dt.datetime) -> Q:
    waiting = Q(status=Status.PENDING, next_attempt_at__lte=now)
    abandoned = Q(status=Status.SENDING, claimed_until__lt=now)
    return waiting | abandoned


def _claim_and_deliver(message_id: int, now: dt.datetime) -> str:
    # Claim one row right before sending it, so the claim never expires while it waits.
    lease = now + dt.timedelta(seconds=CLAIM_SECONDS)
    claimed = OutboxMessage.objects.filter(_due(now), pk=message_id).update(
        status=Status.SENDING, claimed_until=lease, attempt_count=F("attempt_count") + 1
    )
    if not claimed:
        return SKIPPED
    message = OutboxMessage.objects.get(pk=message_id)
    error, duration_ms = _send(message)
    OutboxAttempt.objects.create(
        message=message,
        at=now,
        succeeded=error is None,
        error=error.detail[:ERROR_MAX_CHARS] if error else "",
        duration_ms=duration_ms,
    )
    return _record_outcome(message, error, now, lease)


def _send(message: OutboxMessage) -> tuple[DeliveryError | None, int]:
    started = time.monotonic()
    try:
        get_channel(message.channel).send(message)
        error = None
    except DeliveryError as exc:
        error = exc
    except Exception as exc:  # a bug or an unexpected library error: retry, never lose it
        logger.exception("Outbox message %s: unexpected error while sending", message.pk)
        error = DeliveryError(f"{type(exc).__name__}: {exc}", transient=True)
    return error, int((time.monotonic() - started) * 1000)


def _record_outcome(
    message: OutboxMessage, error: DeliveryError | None, now: dt.datetime, lease: dt.datetime
) -> str:
    if error is None:
        outcome, changes = SENT, {"status": Status.SENT, "sent_at": now, "last_error": ""}
    elif error.transient and message.attempt_count < max_attempts():
        delay = backoff_delay(message.attempt_count)
        outcome = RETRYING
        changes = {"status": Status.PENDING, "next_attempt_at": now + delay}
    else:
        outcome, changes = FAILED, {"status": Status.FAILED}
    if error is not None:
        changes["last_error"] = error.detail[:ERROR_MAX_CHARS]
    # Only the holder of this claim may settle the row; a slower twin must not overwrite it.
    updated = OutboxMessage.objects.filter(
        pk=message.pk, status=Status.SENDING, claimed_until=lease
    ).update(claimed_until=None, **changes)
    if not updated:
        logger.warning("Outbox message %s was claimed again while being sent", message.pk)
    log = logger.info if error is None else logger.warning
    log("Outbox message %s (%s): %s", message.pk, message.channel, outcome)
    return outcome


def max_attempts() -> int:
    return int(settings.CXLOOP_OUTBOX_MAX_ATTEMPTS)


def backoff_delay(attempt: int, *, rng: random.Random | None = None) -> dt.timedelta:
    """30 s · 2^(attempt-1), ±20 % jitter so retries of an outage do not arrive in lockstep.

    Capped at 6 hours.
    """
    exponent = min(max(attempt, 1) - 1, 20)
    base = BACKOFF_BASE_SECONDS * 2**exponent
    jitter = (rng or random).uniform(0.8, 1.2)
    return dt.timedelta(seconds=min(base * jitter, BACKOFF_CAP_SECONDS))


def retry_message(*, message: OutboxMessage, actor) -> OutboxMessage:
    """Give a failed message a fresh round of attempts, starting now (audited)."""
    now = timezone.now()
    before = {
        "status": message.status,
        "attempt_count": message.attempt_count,
        "last_error": message.last_error,
    }
    with transaction.atomic():
        updated = OutboxMessage.objects.filter(pk=message.pk, status=Status.FAILED).update(
            status=Status.PENDING, attempt_count=0, next_attempt_at=now, claimed_until=None
        )
        if not updated:
            raise OutboxError("Only messages that gave up can be retried")
        message.refresh_from_db()
        after = {"status": message.status, "attempt_count": message.attempt_count}
        # No target=: its text would copy the recipient (personal data) into the audit log.
        record_audit(
            actor=actor,
            action="outbox.retried",
            object_type=OutboxMessage._meta.label_lower,
            object_id=str(message.pk),
            before=before,
            after=after,
        )
        _deliver_after_commit(message.pk)
    return message


def purge_sent_messages(*, keep_days: int | None = None, now: dt.datetime | None = None) -> int:
    """Delete messages sent more than ``keep_days`` ago, in batches; returns how many."""
    keep_days = keep_days if keep_days is not None else keep_sent_days()
    cutoff = (now or timezone.now()) - dt.timedelta(days=keep_days)
    # created_at bounds the scan through its index; sent_at is the actual rule.
    old_sent = OutboxMessage.objects.filter(
        status=Status.SENT, created_at__lt=cutoff, sent_at__lt=cutoff
    )
    deleted = 0
    while True:
        batch = list(old_sent.values_list("id", flat=True)[:1000])
        if not batch:
            return deleted
        # The attempts go with their message (cascade, one DELETE per batch).
        _total, per_model = OutboxMessage.objects.filter(pk__in=batch).delete()
        deleted += per_model.get(OutboxMessage._meta.label, 0)


def keep_sent_days() -> int:
    return int(getattr(settings, "CXLOOP_OUTBOX_KEEP_DAYS", 90))
