"""Notifications to staff about cases (assignment, warnings, breaches, escalations).

Every message goes through the outbox in the caller's transaction, so it is sent only if the
change that caused it commits, and a provider outage delays it instead of losing it. One email
per user who has an address; with ``CXLOOP_WEBHOOK_URL`` set, also one signed webhook per user
(the chat/SMS gateway routes it by username). Each message has a dedupe key made of the
caller's key, the channel and the user, so a repeated call queues nothing new.

Non-urgent messages wait until the organisation's quiet hours are over (the same setting and
helpers as SMS survey invitations): nobody is woken at 23:00 because a deadline is two hours
away. Urgent ones (a breach, an escalation, an urgent or major case) go at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cxloop.cases.models import Case
from cxloop.core.models import OutboxMessage
from cxloop.core.outbox import enqueue_message
from cxloop.core.quiet_hours import next_allowed_time, parse_time_of_day
from cxloop.core.settings_registry import QUIET_HOURS_END, QUIET_HOURS_START, get_setting

EVENT = "case.notification"  # X-Cxloop-Event of the webhook
KEY_MAX = OutboxMessage._meta.get_field("dedupe_key").max_length


def notify(
    *,
    users: Iterable,
    subject: str,
    body: str,
    case: Case,
    urgent: bool,
    dedupe_key: str,
    now: dt.datetime | None = None,
) -> list[OutboxMessage]:
    """Queue ``subject``/``body`` for each of ``users`` (duplicates and inactive users skipped).

    Returns the queued (or, for a repeated key, the already queued) messages.
    """
    now = now or timezone.now()
    send_after = None if urgent else quiet_hours_end(now)
    text = _with_link(body, case)
    messages = []
    for user in _recipients(users):
        if user.email:
            messages.append(
                enqueue_message(
                    channel="email",
                    recipient=user.email,
                    subject=subject,
                    body=text,
                    payload=_payload(case, user, urgent),
                    send_after=send_after,
                    dedupe_key=_key(dedupe_key, "email", user),
                )  # fmt: skip
            )
        if settings.CXLOOP_WEBHOOK_URL:
            messages.append(_webhook(user, subject, text, case, urgent, dedupe_key, send_after))
    return messages


def _recipients(users: Iterable) -> list:
    seen, found = set(), []
    for user in users:
        if user is None or not user.is_active or user.pk in seen:
            continue
        seen.add(user.pk)
        found.append(user)
    return found


def _webhook(user, subject, text, case, urgent, dedupe_key, send_after) -> OutboxMessage:
    # No "url" key: the webhook channel would read it as the address to post to.
    payload = {
        **_payload(case, user, urgent),
        "event": EVENT,
        "user": user.get_username(),
        "email": user.email,
        "subject": subject,
        "text": text,
    }
    return enqueue_message(
        channel="webhook", recipient=user.get_username(), subject=subject, body=text,
        payload=payload, dedupe_key=_key(dedupe_key, "webhook", user), send_after=send_after,
    )  # fmt: skip


def _payload(case: Case, user, urgent: bool) -> dict:
    return {"case_id": case.pk, "case_number": case.number, "urgent": bool(urgent)}


def _key(dedupe_key: str, channel: str, user) -> str:
    key = f"case:{dedupe_key}:{channel}:{user.pk}"
    if len(key) <= KEY_MAX:
        return key
    return "case:" + hashlib.sha256(key.encode()).hexdigest()  # still one key per message


def quiet_hours_end(now: dt.datetime) -> dt.datetime:
    """``now`` outside the organisation's quiet hours, else the moment they end."""
    start = parse_time_of_day(get_setting(QUIET_HOURS_START))
    end = parse_time_of_day(get_setting(QUIET_HOURS_END))
    return next_allowed_time(now, start, end, settings.TIME_ZONE)


def _with_link(body: str, case: Case) -> str:
    try:
        path = reverse("cases:detail", args=[case.pk])
    except NoReverseMatch:  # the console is not mounted (a worker-only deployment)
        return body
    link = _("Open the case: %(url)s") % {"url": f"{settings.CXLOOP_PUBLIC_URL}{path}"}
    return f"{body}\n\n{link}"
