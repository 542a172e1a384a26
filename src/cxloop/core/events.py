"""Inbound business events (order delivered, customer registered…) pushed by integrators.

``record_event`` stores each event once per ``event_id``: sending the same event again is
harmless (the stored one comes back with ``created=False``), while reusing an id for different
data is refused with ``EventConflict``. Events link to the customer/order named in the payload
and, for a few types, update them through the customer services (so the change is validated
and audited like any other). Downstream consumers (survey triggers) listen to
``event_recorded``, sent once the event is committed.

Payload conventions (all optional):
- ``customer_external_id`` / ``order_external_id``: link the event to a known customer/order;
- ``customer``: a customer record (same fields as the API) for ``customer.*`` events;
- ``order``: an order record for ``order.*`` events;
- ``delivered_at``: for ``order.delivered`` (defaults to ``occurred_at``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cxloop.core.models import InboundEvent

# Any "namespace.action" type is accepted; these are the ones cxloop acts on or documents.
EVENT_TYPE_PATTERN = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"
KNOWN_EVENT_TYPES = {
    "order.placed": _("An order was placed."),
    "order.paid": _("An order was paid."),
    "order.shipped": _("An order left the warehouse."),
    "order.delivered": _("An order reached the customer."),
    "order.cancelled": _("An order was cancelled."),
    "order.refunded": _("An order was refunded."),
    "customer.registered": _("A customer registered."),
    "customer.updated": _("A customer's details changed."),
    "case.resolved": _("A service case was resolved."),
}
MAX_PAYLOAD_BYTES = 64 * 1024
_TYPE_RE = re.compile(EVENT_TYPE_PATTERN)
_ID_MAX = InboundEvent._meta.get_field("event_id").max_length
_TYPE_MAX = InboundEvent._meta.get_field("type").max_length
_SOURCE_MAX = InboundEvent._meta.get_field("source").max_length

event_recorded = Signal()  # sent with ``event=`` after the transaction that stored it commits


class EventInvalid(ValueError):
    """The event cannot be stored; ``errors`` maps a field path to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__(errors)


class EventConflict(Exception):
    """The event id is already stored with different data."""


def record_event(
    *,
    event_id: str,
    type: str,  # noqa: A002  (the event's own field name)
    occurred_at: dt.datetime,
    payload: dict[str, Any],
    source: str = "",
    actor=None,
) -> tuple[InboundEvent, bool]:
    """Store an event once; returns ``(event, created)``. See the module docstring."""
    occurred_at = _aware(occurred_at)
    payload = _normalised(payload)
    _check(event_id=event_id, type_=type, payload=payload, source=source)
    existing = InboundEvent.objects.filter(event_id=event_id).first()
    if existing is not None:
        return _same_or_conflict(existing, type, occurred_at, payload), False
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                event_id=event_id,
                type=type,
                occurred_at=occurred_at,
                payload=payload,
                source=source,
            )
            _apply(event, actor)
    except IntegrityError:
        # Two deliveries of one event raced; the other one stored it first.
        existing = InboundEvent.objects.filter(event_id=event_id).first()
        if existing is None:
            raise
        return _same_or_conflict(existing, type, occurred_at, payload), False
    transaction.on_commit(lambda: event_recorded.send(sender=InboundEvent, event=event))
    return event, True


def _aware(value: dt.datetime) -> dt.datetime:
    # A time without an offset is taken in the organisation's time zone (Asia/Shanghai).
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _normalised(payload: Any) -> Any:
    """The payload as it will read back from the JSON column, so comparisons are exact."""
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def _check(*, event_id: str, type_: str, payload: Any, source: str) -> None:
    errors: dict[str, list[str]] = {}
    if not event_id or not event_id.strip() or len(event_id) > _ID_MAX:
        errors["event_id"] = [_("Give an id of 1 to %(max)d characters.") % {"max": _ID_MAX}]
    if len(type_) > _TYPE_MAX or not _TYPE_RE.match(type_):
        errors["type"] = [_("Use the form namespace.action, e.g. order.delivered.")]
    if not isinstance(payload, dict):
        errors["payload"] = [_("The payload must be a JSON object.")]
    elif len(json.dumps(payload)) > MAX_PAYLOAD_BYTES:
        errors["payload"] = [_("The payload is larger than 64 KB.")]
    if len(source) > _SOURCE_MAX:
        errors["source"] = [_("At most %(max)d characters.") % {"max": _SOURCE_MAX}]
    if errors:
        raise EventInvalid(errors)


def _same_or_conflict(existing: InboundEvent, type_, occurred_at, payload) -> InboundEvent:
    if existing.type == type_ and existing.occurred_at == occurred_at and existing.payload == payload:
        return existing
    raise EventConflict(
        _("Event %(id)s was already received with different data; use a new event id.")
        % {"id": existing.event_id}
    )
