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

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DataError, IntegrityError, transaction
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

# Values the shared validator accepts but the database refuses (e.g. a bigint overflow, a
# +23:34 offset on PostgreSQL). Raw psycopg errors escape Django's wrapping on COPY.
DATABASE_REFUSALS: tuple[type[Exception], ...] = (DataError, OverflowError)
try:
    import psycopg

    DATABASE_REFUSALS += (psycopg.DataError,)
except ImportError:  # SQLite-only installs
    pass

event_recorded = Signal()  # sent with ``event=`` after the transaction that stored it commits


class EventInvalid(ValueError):
    """The event cannot be stored; ``errors`` maps a field path to messages."""

    def __init__(self, errors: dict[str, list]) -> None:
        self.errors = {field: [str(m) for m in messages] for field, messages in errors.items()}
        super().__init__(errors)


class EventConflict(Exception):
    """The event id is already stored with different data."""


def _occurred(value: dt.datetime) -> dt.datetime:
    try:
        return _aware(value)
    except (OverflowError, ValueError):
        raise EventInvalid({"occurred_at": [str(_("Out of range."))]}) from None


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
    occurred_at = _occurred(occurred_at)
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
    # A time without an offset is taken in the organisation's time zone (Asia/Shanghai);
    # stored as UTC because PostgreSQL refuses odd offsets (e.g. +23:34) that ISO allows.
    aware = timezone.make_aware(value) if timezone.is_naive(value) else value
    return aware.astimezone(dt.UTC)


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
    elif len(text := json.dumps(payload)) > MAX_PAYLOAD_BYTES:
        errors["payload"] = [_("The payload is larger than 64 KB.")]
    elif "\\u0000" in text:  # PostgreSQL's jsonb cannot store U+0000
        errors["payload"] = [_("Contains a NUL character.")]
    for field, value in (("event_id", event_id), ("type", type_), ("source", source)):
        if "\x00" in value:
            errors[field] = [_("Contains a NUL character.")]
    if len(source) > _SOURCE_MAX:
        errors["source"] = [_("At most %(max)d characters.") % {"max": _SOURCE_MAX}]
    if errors:
        raise EventInvalid(errors)


def _same_or_conflict(existing: InboundEvent, type_, occurred_at, payload) -> InboundEvent:
    if (
        existing.type == type_
        and existing.occurred_at == occurred_at
        and existing.payload == payload
    ):
        return existing
    raise EventConflict(
        _("Event %(id)s was already received with different data; use a new event id.")
        % {"id": existing.event_id}
    )


# --- what an event does to customers and orders ------------------------------------------------

# Order statuses an event moves to; progress never goes backwards (a late "paid" after
# "delivered" is stored but changes nothing), while cancelled/refunded always apply.
ORDER_STATUS_FOR_EVENT = {
    "order.placed": "placed",
    "order.paid": "paid",
    "order.shipped": "shipped",
    "order.delivered": "delivered",
    "order.cancelled": "cancelled",
    "order.refunded": "refunded",
}
_PROGRESS = ["placed", "paid", "shipped", "delivered", "completed"]
_FINAL = {"cancelled", "refunded"}


def _apply(event: InboundEvent, actor) -> None:
    """Upsert the records the payload carries, then link the event to its customer/order."""
    payload = event.payload
    customer = order = None
    if event.type.startswith("customer.") and "customer" in payload:
        customer = _upsert("customer", payload, actor)
    if event.type.startswith("order.") and "order" in payload:
        order = _upsert("order", payload, actor)
    order = order or _find_order(payload.get("order_external_id"))
    if order is not None and event.type in ORDER_STATUS_FOR_EVENT:
        order = _advance_order(order, event, actor)
    customer = customer or _find_customer(payload.get("customer_external_id"))
    event.customer = customer or (order.customer if order is not None else None)
    event.order = order
    event.save(update_fields=["customer", "order"])


def _upsert(kind: str, payload: dict, actor):
    from cxloop.customers import services  # core must not import customers at load time

    record = payload[kind]
    if not isinstance(record, dict):
        raise EventInvalid({f"payload.{kind}": [str(_("Must be a JSON object."))]})
    data = dict(record)
    data.setdefault("external_id", payload.get(f"{kind}_external_id"))
    upsert = services.upsert_customer if kind == "customer" else services.upsert_order
    try:
        return upsert(data=data, actor=actor)[0]
    except ValidationError as exc:
        raise EventInvalid(
            {f"payload.{kind}.{f}": [str(_(m)) for m in ms] for f, ms in exc.message_dict.items()}
        ) from exc
    except DATABASE_REFUSALS as exc:  # valid to the validator, not to the database
        raise EventInvalid({f"payload.{kind}": [_("A value is out of range.")]}) from exc


def _find_customer(external_id):
    from cxloop.customers.models import Customer

    if not isinstance(external_id, str) or not external_id:
        return None
    return Customer.objects.filter(external_id=external_id).first()


def _find_order(external_id):
    from cxloop.customers.models import Order

    if not isinstance(external_id, str) or not external_id:
        return None
    return Order.objects.select_related("customer").filter(external_id=external_id).first()


def _next_status(current: str, wanted: str) -> str:
    if wanted in _FINAL:
        return wanted
    if current in _FINAL or _PROGRESS.index(wanted) <= _PROGRESS.index(current):
        return current
    return wanted


def _advance_order(order, event: InboundEvent, actor):
    """Move the order's status on (and stamp delivered_at) through the order service."""

    status = _next_status(order.status, ORDER_STATUS_FOR_EVENT[event.type])
    delivered_at = order.delivered_at
    if event.type == "order.delivered" and status == "delivered":
        delivered_at = event.payload.get("delivered_at") or event.occurred_at
    if status == order.status and delivered_at == order.delivered_at:
        return order
    row = {
        "external_id": order.external_id,
        "customer_external_id": order.customer.external_id,
        "amount_fen": order.amount_fen,
        "placed_at": order.placed_at,
        "status": status,
        "delivered_at": delivered_at,
    }
    return _upsert("order", {"order": row}, actor)
