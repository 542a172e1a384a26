"""Invitations: who is asked to answer which survey, when, through which channel — or why not.

Every ``invite`` leaves a visible row. A customer who may not be asked (no survey consent, the
frequency cap, no address for the channel, a survey that is not collecting) gets a SUPPRESSED
invitation with the reason, so the console shows the whole life of every invitation.

``send_due_invitations`` sends scheduled invitations through the outbox. Each row is claimed
with a conditional UPDATE (scheduled → sent) inside the transaction that queues its message, so
several workers never send one twice; the outbox dedupe key ``invitation:<id>`` is a second
guard. An SMS/WeChat invitation that comes due in the organisation's quiet hours is put back to
the end of them (its expiry stays) and noted, so the console shows why it waits.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from cxloop.core.outbox import enqueue_message
from cxloop.core.quiet_hours import next_allowed_time, parse_time_of_day
from cxloop.core.settings_registry import (
    ORGANISATION_NAME,
    QUIET_HOURS_END,
    QUIET_HOURS_START,
    SURVEY_FREQUENCY_CAP_DAYS,
    get_setting,
)
from cxloop.customers.models import Customer
from cxloop.surveys.models import Invitation, Survey

Status = Invitation.Status
Channel = Invitation.Channel

NO_CONSENT = "no_consent"
FREQUENCY_CAP = "frequency_cap"
NO_ADDRESS = "no_address"
SURVEY_NOT_ACTIVE = "survey_not_active"
# Not a suppression: a scheduled SMS/WeChat invitation moved to the end of quiet hours.
QUIET_HOURS = "quiet_hours"
# Stored as codes (stable, language-free); the console shows these labels.
SUPPRESSION_LABELS = {
    NO_CONSENT: _("No consent to surveys"),
    FREQUENCY_CAP: _("Invited recently (frequency cap)"),
    NO_ADDRESS: _("No address for this channel"),
    SURVEY_NOT_ACTIVE: _("Survey not collecting answers"),
}

DEFAULT_EXPIRY = dt.timedelta(days=7)
SEND_BATCH = 200
MESSAGE_TEMPLATE = "survey_invitation"
# Which customer field a channel needs, and the outbox channel that carries it.
ADDRESS_FIELD = {Channel.EMAIL: "email", Channel.SMS: "phone", Channel.WECHAT: "phone"}
OUTBOX_CHANNEL = {Channel.EMAIL: "email", Channel.SMS: "webhook", Channel.WECHAT: "webhook"}
# Channels that buzz a phone, so they respect the organisation's quiet hours; email does not.
QUIET_CHANNELS = (Channel.SMS, Channel.WECHAT)

SENT, SUPPRESSED, EXPIRED, SKIPPED, HELD = "sent", "suppressed", "expired", "skipped", "held"


def suppression_label(code: str) -> str:
    return str(SUPPRESSION_LABELS.get(code, code))


def status_note(invitation: Invitation) -> str:
    """Why the invitation is where it is, for the console list ("" when nothing to say)."""
    if invitation.suppressed_reason != QUIET_HOURS:
        return suppression_label(invitation.suppressed_reason)
    if invitation.status != Status.SCHEDULED:
        return ""
    until = timezone.localtime(invitation.scheduled_for).strftime("%H:%M")
    return _("Held for quiet hours until %(time)s") % {"time": until}


def invite(
    *,
    survey: Survey,
    customer: Customer,
    channel: str,
    actor=None,
    trigger=None,
    source_event=None,
    send_at: dt.datetime | None = None,
    expires_in: dt.timedelta = DEFAULT_EXPIRY,
    sample_group: str = "",
    dedupe_key: str | None = None,
) -> Invitation:
    """Schedule an invitation, or record it as suppressed with the reason.

    The same ``dedupe_key`` returns the first invitation (same trigger + same event → one).
    ``actor`` is accepted for symmetry with other services; campaigns audit as a whole.
    """
    if dedupe_key:
        existing = Invitation.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    now = timezone.now()
    send_at = send_at or now
    invitation = Invitation(
        survey=survey,
        customer=customer,
        trigger=trigger,
        source_event=source_event,
        dedupe_key=dedupe_key or None,
        nonce=secrets.token_hex(16),
        channel=channel,
        sample_group=sample_group,
        scheduled_for=send_at,
        expires_at=send_at + expires_in,
        created_at=now,
    )
    try:
        with transaction.atomic():
            # Lock the customer so two triggers cannot both pass the frequency cap (PostgreSQL).
            locked = Customer.objects.select_for_update().get(pk=customer.pk)
            reason = suppression_reason(survey=survey, customer=locked, channel=channel, at=send_at)
            if reason:
                invitation.status, invitation.suppressed_reason = Status.SUPPRESSED, reason
            invitation.save()
    except IntegrityError:
        if not dedupe_key:
            raise
        return Invitation.objects.get(dedupe_key=dedupe_key)  # a twin won the race
    return invitation


def suppression_reason(*, survey: Survey, customer: Customer, channel: str, at: dt.datetime) -> str:
    """Why this customer may not be invited at ``at`` ("" when they may)."""
    if survey.status != Survey.Status.ACTIVE:
        return SURVEY_NOT_ACTIVE
    if not customer.consent_survey:
        return NO_CONSENT
    if not address_for(customer, channel) and channel in ADDRESS_FIELD:
        return NO_ADDRESS
    if recently_invited(customer=customer, at=at):
        return FREQUENCY_CAP
    return ""


def address_for(customer: Customer, channel: str) -> str:
    field = ADDRESS_FIELD.get(channel)
    return (getattr(customer, field) or "").strip() if field else ""


def recently_invited(*, customer: Customer, at: dt.datetime) -> bool:
    """True when another invitation (any survey) falls within the cap window around ``at``.

    Every invitation that reached or will reach the customer counts — scheduled, sent, opened,
    answered and also expired (it was sent); only suppressed ones, which never went out, do not.
    """
    days = get_setting(SURVEY_FREQUENCY_CAP_DAYS)
    if not days:
        return False
    window = dt.timedelta(days=days)
    nearby = Q(scheduled_for__gt=at - window, scheduled_for__lt=at + window)
    return (
        Invitation.objects.filter(nearby, customer=customer)
        .exclude(status=Status.SUPPRESSED)
        .exists()
    )


# --- delivery --------------------------------------------------------------------------------


def send_due_invitations(*, now: dt.datetime | None = None, limit: int = SEND_BATCH) -> int:
    """Send up to ``limit`` due invitations, oldest first; returns how many were sent."""
    now = now or timezone.now()
    due_ids = list(
        Invitation.objects.filter(status=Status.SCHEDULED, scheduled_for__lte=now)
        .order_by("scheduled_for", "id")
        .values_list("id", flat=True)[:limit]
    )
    outcomes = [_claim_and_deliver(invitation_id, now) for invitation_id in due_ids]
    return outcomes.count(SENT)


def deliver_invitation(*, invitation: Invitation, now: dt.datetime | None = None) -> str:
    """Send ``invitation`` if it is due and nobody else has; returns the outcome."""
    outcome = _claim_and_deliver(invitation.pk, now or timezone.now())
    invitation.refresh_from_db()
    return outcome


def _claim_and_deliver(invitation_id: int, now: dt.datetime) -> str:
    with transaction.atomic():
        claimed = Invitation.objects.filter(
            pk=invitation_id, status=Status.SCHEDULED, scheduled_for__lte=now
        ).update(status=Status.SENT, sent_at=now)
        if not claimed:
            return SKIPPED
        invitation = Invitation.objects.select_related("survey__current_version", "customer").get(
            pk=invitation_id
        )
        outcome, changes = _settle(invitation, now)
        Invitation.objects.filter(pk=invitation_id).update(**changes)
    return outcome


def _settle(invitation: Invitation, now: dt.datetime) -> tuple[str, dict]:
    """What happens to a claimed invitation: expired, suppressed after all, or sent."""
    if invitation.expires_at and invitation.expires_at <= now:
        # The worker was down past the expiry: a dead link is worse than no message.
        return EXPIRED, {"status": Status.EXPIRED, "sent_at": None}
    customer = invitation.customer
    reason = ""
    if invitation.survey.status != Survey.Status.ACTIVE:
        reason = SURVEY_NOT_ACTIVE
    elif customer is not None and not customer.consent_survey:
        reason = NO_CONSENT  # withdrawn since it was scheduled
    elif invitation.channel in ADDRESS_FIELD and not address_for(customer, invitation.channel):
        reason = NO_ADDRESS
    if reason:
        return SUPPRESSED, {
            "status": Status.SUPPRESSED,
            "suppressed_reason": reason,
            "sent_at": None,
        }
    allowed = quiet_hours_end(invitation, now)
    if allowed > now:
        # Held back, expiry unchanged: past it, the expiry job (or the next run) expires it.
        return HELD, {
            "status": Status.SCHEDULED,
            "sent_at": None,
            "scheduled_for": allowed,
            "suppressed_reason": QUIET_HOURS,
        }
    changes: dict = {"suppressed_reason": ""}
    if invitation.channel in OUTBOX_CHANNEL:
        changes["outbox_message"] = _enqueue(invitation)
    return SENT, changes


def quiet_hours_end(invitation: Invitation, now: dt.datetime) -> dt.datetime:
    """When an invitation due at ``now`` may go out: ``now``, or the end of quiet hours."""
    if invitation.channel not in QUIET_CHANNELS:
        return now
    start = parse_time_of_day(get_setting(QUIET_HOURS_START))
    end = parse_time_of_day(get_setting(QUIET_HOURS_END))
    return next_allowed_time(now, start, end, settings.TIME_ZONE)


def invitation_link(invitation: Invitation) -> str:
    """The absolute, signed link to the invitation's answer page."""
    from cxloop.surveys import tokens  # the answering module signs the links

    return tokens.invitation_url(invitation)


def _message_context(invitation: Invitation) -> dict:
    version = invitation.survey.current_version
    definition = version.definition if version else {}
    language = "en" if definition.get("language") == "en" else "zh-hans"
    expires = timezone.localtime(invitation.expires_at) if invitation.expires_at else None
    return {
        "template": MESSAGE_TEMPLATE,
        "language": language,
        "organisation": get_setting(ORGANISATION_NAME),
        "name": invitation.customer.name if invitation.customer else "",
        "survey": invitation.survey.title,
        "minutes": (definition.get("intro") or {}).get("minutes") or "",
        "link": invitation_link(invitation),
        "expires": expires.strftime("%Y-%m-%d %H:%M") if expires else "",
        "invitation_id": invitation.pk,
    }


def _enqueue(invitation: Invitation):
    context = _message_context(invitation)
    with translation.override(context["language"]):
        text = render_to_string(f"core/messages/{MESSAGE_TEMPLATE}.txt", context).strip()
        subject = render_to_string(f"core/messages/{MESSAGE_TEMPLATE}.subject.txt", context)
    recipient = address_for(invitation.customer, invitation.channel)
    if invitation.channel == Channel.EMAIL:
        payload, body = context, text
    else:
        # "link", not "url": the webhook channel reads payload["url"] as its target address.
        event = f"{invitation.channel}.send"
        payload = {**context, "event": event, "phone": recipient, "text": text}
        body = text
    return enqueue_message(
        channel=OUTBOX_CHANNEL[invitation.channel],
        recipient=recipient,
        subject=" ".join(subject.split()),
        body=body,
        payload=payload,
        dedupe_key=f"invitation:{invitation.pk}",
    )


def expire_invitations(*, now: dt.datetime | None = None) -> int:
    """Mark sent/opened (and never-sent scheduled) invitations past their expiry as expired."""
    now = now or timezone.now()
    return Invitation.objects.filter(
        status__in=[Status.SCHEDULED, Status.SENT, Status.OPENED], expires_at__lte=now
    ).update(status=Status.EXPIRED)
