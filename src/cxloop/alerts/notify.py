"""Messages to the subscribers of a new alert, through the outbox (like ``cases.notify``).

One message per new alert, per subscriber and channel (the dedupe key is made of the three), so
a rerun of the scan or a user with two matching subscriptions queues nothing twice. Alerts are
not urgent: they wait for the end of the organisation's quiet hours.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from cxloop.alerts.models import Alert, Subscription
from cxloop.cases.notify import quiet_hours_end
from cxloop.core.models import OutboxMessage
from cxloop.core.outbox import enqueue_message

EVENT = "alert.opened"  # X-Cxloop-Event of the webhook


def alert_link(alert: Alert) -> str:
    try:
        path = reverse("alerts:detail", args=[alert.pk])
    except NoReverseMatch:  # a worker-only deployment without the console
        return ""
    return f"{settings.CXLOOP_PUBLIC_URL}{path}"


def subscriptions_for(alert: Alert) -> list[Subscription]:
    found = Subscription.objects.filter(active=True, user__is_active=True).select_related("user")
    return [s for s in found if s.matches(alert) and s.user.has_perm("alerts.view_alert")]


def format_number(alert: Alert, value: float) -> str:
    return f"{value:.1f}" if abs(value) < 1000 else f"{value:,.0f}"


def message_text(alert: Alert) -> tuple[str, str]:
    """(subject, body) in the current language."""
    names = {
        "metric": alert.get_metric_display(),
        "dimension": alert.get_dimension_display(),
        "place": alert.place,
        "day": alert.day.isoformat(),
        "value": format_number(alert, alert.value),
        "expected": format_number(alert, alert.expected),
        "jump": f"{alert.jump_abs:+.1f}",
        "relative": f" ({alert.jump_rel:+.0%})" if alert.jump_rel is not None else "",
        "p": f"{alert.p_value:.2g}",
        "z": f"{alert.z:+.1f}",
    }
    subject = _("Alert: %(metric)s at %(place)s on %(day)s") % names
    lines = [
        _("%(metric)s at %(dimension)s %(place)s on %(day)s: %(value)s, expected %(expected)s.")
        % names,
        _("Jump %(jump)s%(relative)s; chart statistic z = %(z)s, p = %(p)s.") % names,
    ]
    link = alert_link(alert)
    if link:
        lines.append(_("See the evidence: %(url)s") % {"url": link})
    return subject, "\n".join(lines)


def alert_opened(*, alert: Alert, now: dt.datetime) -> list[OutboxMessage]:
    """Queue the new alert's message for each matching subscriber (in the caller's transaction)."""
    subject, body = message_text(alert)
    send_after = quiet_hours_end(now)
    messages = []
    for subscription in subscriptions_for(alert):
        user = subscription.user
        key = f"alert:{alert.pk}:{subscription.channel}:{user.pk}"
        if subscription.channel == Subscription.Channel.EMAIL and user.email:
            messages.append(enqueue_message(
                channel="email", recipient=user.email, subject=subject, body=body,
                payload={"alert_id": alert.pk}, dedupe_key=key, send_after=send_after,
            ))  # fmt: skip
        elif subscription.channel == Subscription.Channel.WEBHOOK and settings.CXLOOP_WEBHOOK_URL:
            payload = {"event": EVENT, "alert_id": alert.pk, "user": user.get_username(),
                       "subject": subject, "text": body, "link": alert_link(alert)}  # fmt: skip
            messages.append(enqueue_message(
                channel="webhook", recipient=user.get_username(), subject=subject, body=body,
                payload=payload, dedupe_key=key, send_after=send_after,
            ))  # fmt: skip
    return messages
