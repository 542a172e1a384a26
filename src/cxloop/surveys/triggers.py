"""Triggers: "on event X, invite to survey Y after delay D, expire after W", and periodic rules.

- Event triggers react to inbound events (``order.delivered`` → post-delivery CSAT after 2 h,
  expiring in 24 h). ``event_recorded`` (sent after commit) queues ``process_event_task``;
  the invitation's dedupe key ``trigger:<id>:event:<event id>`` makes processing an event twice
  harmless. A sweep picks up events whose task was lost (queue down).
- "Registered without an order": customers whose registration is ``delay_minutes`` old (7 days
  by default) and who have no order, invited once per trigger.
- Periodic relationship surveys: every ``every_days`` days to customers with an order in the
  last ``active_within_days`` days.

Only triggers of surveys that are collecting answers run. Every write is idempotent, so several
workers running the same task at once is harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from cxloop.core.audit import changed_only, record_audit, snapshot
from cxloop.core.events import event_recorded
from cxloop.core.models import InboundEvent
from cxloop.customers.models import Customer, Order
from cxloop.customers.selectors import spent_orders
from cxloop.surveys.invitations import invite
from cxloop.surveys.models import Invitation, Survey, Trigger

logger = logging.getLogger(__name__)

Kind = Trigger.Kind
TRIGGER_FIELDS = [
    "name",
    "kind",
    "event_type",
    "delay_minutes",
    "expire_after_hours",
    "channel",
    "every_days",
    "active_within_days",
    "enabled",
]
# Bounded work per run: the next hourly run continues where this one stopped.
RUN_BATCH = 2000
# Registrations older than delay + this are not invited (no surveys for ancient sign-ups).
NO_ORDER_LOOKBACK = dt.timedelta(days=7)
# Events the queue missed are picked up by the sweep if they are this recent.
SWEEP_WINDOW = dt.timedelta(days=2)
SWEEP_GRACE = dt.timedelta(minutes=2)
IMPORTED_EVENT_WINDOW = dt.timedelta(days=2)
DEFAULT_EVERY_DAYS = 90
DEFAULT_ACTIVE_WITHIN_DAYS = 180


# --- configuration (audited) -----------------------------------------------------------------


def create_trigger(*, survey: Survey, data: dict, actor) -> Trigger:
    trigger = Trigger(survey=survey, **{k: v for k, v in data.items() if k in TRIGGER_FIELDS})
    with transaction.atomic():
        trigger.save()
        after = snapshot(trigger, TRIGGER_FIELDS)
        record_audit(actor=actor, action="trigger.created", target=trigger, after=after)
    return trigger


def update_trigger(*, trigger: Trigger, data: dict, actor) -> Trigger:
    before = snapshot(trigger, TRIGGER_FIELDS)
    for name, value in data.items():
        if name in TRIGGER_FIELDS:
            setattr(trigger, name, value)
    before, after = changed_only(before, snapshot(trigger, TRIGGER_FIELDS))
    if not after:
        return trigger
    with transaction.atomic():
        trigger.save()
        record_audit(
            actor=actor, action="trigger.changed", target=trigger, before=before, after=after
        )
    return trigger


def _active_triggers(kind: str):
    return Trigger.objects.select_related("survey").filter(
        kind=kind, enabled=True, survey__status=Survey.Status.ACTIVE
    )


# --- event triggers --------------------------------------------------------------------------


def on_event_recorded(sender, event: InboundEvent, **kwargs) -> None:
    """Signal receiver: queue the event for the triggers (the sweep covers a failed queue)."""
    from cxloop.surveys.tasks import process_event_task

    try:
        process_event_task(event.pk)
    except Exception:
        logger.warning("Could not queue event %s for survey triggers", event.pk, exc_info=True)


def handle_event(*, event: InboundEvent, now: dt.datetime | None = None) -> list[Invitation]:
    """Invite the event's customer for every matching trigger, then mark the event processed."""
    now = now or timezone.now()
    invitations = []
    customer = event.customer
    for trigger in _active_triggers(Kind.EVENT).filter(event_type=event.type):
        send_at = event.occurred_at + dt.timedelta(minutes=trigger.delay_minutes)
        expires_in = dt.timedelta(hours=trigger.expire_after_hours)
        if customer is None or send_at + expires_in <= now:
            continue  # nobody to ask, or an old event (e.g. imported history): too late to ask
        invitations.append(
            invite(
                survey=trigger.survey,
                customer=customer,
                channel=trigger.channel,
                trigger=trigger,
                source_event=event,
                send_at=send_at,
                expires_in=expires_in,
                dedupe_key=f"trigger:{trigger.pk}:event:{event.pk}",
            )
        )
    InboundEvent.objects.filter(pk=event.pk, processed_at__isnull=True).update(processed_at=now)
    return invitations


def process_pending_events(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Handle recent events nobody processed (their queue job was lost); returns how many."""
    now = now or timezone.now()
    pending = InboundEvent.objects.select_related("customer").filter(
        processed_at__isnull=True,
        received_at__gte=now - SWEEP_WINDOW,
        received_at__lte=now - SWEEP_GRACE,
    )
    events = list(pending.order_by("received_at", "id")[:limit])
    for event in events:
        handle_event(event=event, now=now)
    return len(events)


def events_for_imported_orders(
    *, order_external_ids: Iterable[str], now: dt.datetime | None = None
) -> int:
    """Record ``order.delivered`` events for freshly imported delivered orders.

    Call after an order import batch commits its rows. Only orders delivered in the last two
    days get an event (importing history must not survey last year's customers); the event id
    ``import:order.delivered:<order>`` makes re-imports harmless. Returns how many were new.
    """
    now = now or timezone.now()
    recent = now - IMPORTED_EVENT_WINDOW
    orders = Order.objects.filter(
        Q(delivered_at__gte=recent) | Q(delivered_at__isnull=True, placed_at__gte=recent),
        external_id__in=list(order_external_ids),
        status=Order.Status.DELIVERED,
    ).values_list("pk", "external_id", "customer_id", "delivered_at", "placed_at")
    events = {
        f"import:order.delivered:{external_id}": InboundEvent(
            event_id=f"import:order.delivered:{external_id}",
            type="order.delivered",
            occurred_at=delivered_at or placed_at,
            order_id=pk,
            customer_id=customer_id,
            payload={"order_external_id": external_id},
            source="import",
            received_at=now,
        )
        for pk, external_id, customer_id, delivered_at, placed_at in orders
    }
    known = set(InboundEvent.objects.filter(event_id__in=events).values_list("event_id", flat=True))
    new = [event for key, event in events.items() if key not in known]
    InboundEvent.objects.bulk_create(new, ignore_conflicts=True)
    created = InboundEvent.objects.filter(event_id__in=[e.event_id for e in new])
    for event in created:
        transaction.on_commit(
            lambda event=event: event_recorded.send(sender=InboundEvent, event=event)
        )
    return len(new)


# --- periodic triggers -----------------------------------------------------------------------


def run_periodic_triggers(*, now: dt.datetime | None = None) -> int:
    """Run every enabled "no order after registration" and periodic trigger; invitations made."""
    now = now or timezone.now()
    made = sum(
        run_no_order_trigger(trigger=t, now=now)
        for t in _active_triggers(Kind.NO_ORDER_AFTER_REGISTRATION)
    )
    made += sum(
        run_relationship_trigger(trigger=t, now=now) for t in _active_triggers(Kind.PERIODIC)
    )
    return made


def _not_invited_by(trigger: Trigger, since: dt.datetime | None = None) -> Exists:
    invited = Invitation.objects.filter(trigger=trigger, customer=OuterRef("pk"))
    if since is not None:
        invited = invited.filter(created_at__gte=since)
    return ~Exists(invited)


def run_no_order_trigger(*, trigger: Trigger, now: dt.datetime) -> int:
    """Invite customers registered ≥ ``delay_minutes`` ago who never ordered, once each."""
    registered_by = timezone.localdate(now - dt.timedelta(minutes=trigger.delay_minutes))
    customers = Customer.objects.filter(
        _not_invited_by(trigger),
        ~Exists(Order.objects.filter(customer=OuterRef("pk"))),
        registered_at__lte=registered_by,
        registered_at__gt=registered_by - NO_ORDER_LOOKBACK,
    ).order_by("pk")[:RUN_BATCH]
    return _invite_all(trigger, customers, now, key=f"trigger:{trigger.pk}:customer")


def run_relationship_trigger(*, trigger: Trigger, now: dt.datetime) -> int:
    """When due, invite customers with an order in the last ``active_within_days`` days."""
    every = dt.timedelta(days=trigger.every_days or DEFAULT_EVERY_DAYS)
    if trigger.last_run_at is not None and trigger.last_run_at > now - every:
        return 0
    # One round per period: the round's start names it in the dedupe keys, and customers
    # already invited in this round are skipped, so an interrupted round resumes.
    round_start = trigger.last_run_at + every if trigger.last_run_at else trigger.created_at
    active_since = now - dt.timedelta(days=trigger.active_within_days or DEFAULT_ACTIVE_WITHIN_DAYS)
    recent_orders = spent_orders().filter(customer=OuterRef("pk"), placed_at__gte=active_since)
    customers = Customer.objects.filter(
        Exists(recent_orders), _not_invited_by(trigger, since=round_start)
    ).order_by("pk")[: RUN_BATCH + 1]
    batch = list(customers)
    key = f"trigger:{trigger.pk}:round:{round_start:%Y%m%d%H%M}:customer"
    made = _invite_all(trigger, batch[:RUN_BATCH], now, key=key)
    if len(batch) <= RUN_BATCH:  # the round is complete
        Trigger.objects.filter(pk=trigger.pk).update(last_run_at=now)
    return made


def _invite_all(trigger: Trigger, customers: Iterable[Customer], now, *, key: str) -> int:
    expires_in = dt.timedelta(hours=trigger.expire_after_hours)
    made = 0
    for customer in customers:
        invite(
            survey=trigger.survey,
            customer=customer,
            channel=trigger.channel,
            trigger=trigger,
            send_at=now,
            expires_in=expires_in,
            dedupe_key=f"{key}:{customer.pk}",
        )
        made += 1
    return made
