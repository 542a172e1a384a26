"""Read side of the API: filtered, keyset-paginated querysets and their JSON shapes.

Pages are keyset (``id > cursor``), not OFFSET, so the thousandth page of a million customers
is as fast as the first and rows added while paging are neither skipped nor repeated.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cxloop.api.errors import InvalidInput
from cxloop.core.models import InboundEvent
from cxloop.core.pii import can_see_pii, mask_email, mask_phone
from cxloop.customers.models import Customer, Order


def parse_cursor(cursor: str | None) -> int | None:
    if cursor in (None, ""):
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise InvalidInput({"cursor": [_("Not a cursor from a previous page.")]})
    return int(cursor)


def utc(moment: dt.datetime | None, field: str) -> dt.datetime | None:
    """A filter time as UTC (naive means Asia/Shanghai); PostgreSQL refuses odd offsets."""
    if moment is None:
        return None
    try:
        aware = timezone.make_aware(moment) if timezone.is_naive(moment) else moment
        return aware.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise InvalidInput({field: [_("Out of range.")]}) from None


def page(qs: QuerySet, *, cursor: str | None, limit: int, newest_first: bool = False):
    """One page of ``qs`` after ``cursor``; returns (rows, next cursor or None)."""
    after = parse_cursor(cursor)
    if after is not None:
        qs = qs.filter(pk__lt=after) if newest_first else qs.filter(pk__gt=after)
    rows = list(qs.order_by("-pk" if newest_first else "pk")[: limit + 1])
    if len(rows) > limit:
        return rows[:limit], str(rows[limit - 1].pk)
    return rows, None


def no_nul(**params: str | None) -> None:
    """PostgreSQL cannot compare text with U+0000 in it: refuse such filters up front."""
    bad = {
        name: [_("Contains a NUL character.")] for name, v in params.items() if v and "\x00" in v
    }
    if bad:
        raise InvalidInput(bad)


def get_or_404(qs: QuerySet, message, **lookup):
    if any(isinstance(v, str) and "\x00" in v for v in lookup.values()):
        raise Http404(message)
    found = qs.filter(**lookup).first()
    if found is None:
        raise Http404(message)
    return found


# --- customers -----------------------------------------------------------------------------


def customers(
    *,
    user,
    region: str | None = None,
    store: str | None = None,
    q: str | None = None,
    updated_since: dt.datetime | None = None,
) -> QuerySet:
    no_nul(region=region, store=store, q=q)
    qs = Customer.objects.all()
    if region:
        qs = qs.filter(region=region)
    if store:
        qs = qs.filter(store=store)
    if updated_since:
        qs = qs.filter(updated_at__gte=utc(updated_since, "updated_since"))
    if q:
        match = Q(external_id=q) | Q(name__icontains=q)
        if can_see_pii(user):  # searching by phone would reveal masked numbers
            match |= Q(phone=q) | Q(email__iexact=q)
        qs = qs.filter(match)
    return qs


def customer_exists(external_id: str) -> bool:
    return "\x00" not in external_id and Customer.objects.filter(external_id=external_id).exists()


def customer_out(customer: Customer, *, pii: bool) -> dict:
    return {
        "external_id": customer.external_id,
        "name": customer.name,
        "phone": customer.phone if pii else mask_phone(customer.phone),
        "email": customer.email if pii else mask_email(customer.email),
        "birthday": customer.birthday if pii else None,
        "registered_at": customer.registered_at,
        "region": customer.region,
        "store": customer.store,
        "consent_survey": customer.consent_survey,
        "consent_marketing": customer.consent_marketing,
        "tags": customer.tags or [],
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
    }


# --- orders ----------------------------------------------------------------------------------


def orders(
    *,
    customer: str | None = None,
    status: str | None = None,
    store: str | None = None,
    placed_after: dt.datetime | None = None,
    placed_before: dt.datetime | None = None,
) -> QuerySet:
    no_nul(customer=customer, store=store)
    qs = Order.objects.select_related("customer")
    if customer:
        qs = qs.filter(customer__external_id=customer)
    if status:
        qs = qs.filter(status=status)
    if store:
        qs = qs.filter(store=store)
    if placed_after:
        qs = qs.filter(placed_at__gte=utc(placed_after, "placed_after"))
    if placed_before:
        qs = qs.filter(placed_at__lt=utc(placed_before, "placed_before"))
    return qs


def order_out(order: Order) -> dict:
    return {
        "external_id": order.external_id,
        "customer_external_id": order.customer.external_id,
        "amount_fen": order.amount_fen,
        "placed_at": order.placed_at,
        "delivered_at": order.delivered_at,
        "channel": order.channel,
        "store": order.store,
        "status": order.status,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }


# --- events ----------------------------------------------------------------------------------


def events(*, type_: str | None = None, since: dt.datetime | None = None) -> QuerySet:
    no_nul(type=type_)
    qs = InboundEvent.objects.select_related("customer", "order")
    if type_:
        qs = qs.filter(type=type_)
    if since:
        qs = qs.filter(received_at__gte=utc(since, "since"))
    return qs


def event_out(event: InboundEvent, *, pii: bool) -> dict:
    return {
        "event_id": event.event_id,
        "type": event.type,
        "occurred_at": event.occurred_at,
        "received_at": event.received_at,
        "source": event.source,
        "customer_external_id": event.customer.external_id if event.customer else None,
        "order_external_id": event.order.external_id if event.order else None,
        "payload": event.payload if pii else _masked_payload(event.payload),
    }


def _masked_payload(payload: dict) -> dict:
    """Events may carry a customer record; hide its phone, email and birthday like elsewhere."""
    customer = payload.get("customer") if isinstance(payload, dict) else None
    if not isinstance(customer, dict):
        return payload
    masked = dict(customer)
    for key, mask in (("phone", mask_phone), ("email", mask_email)):
        if isinstance(masked.get(key), str):
            masked[key] = mask(masked[key])
    if "birthday" in masked:
        masked["birthday"] = None
    return {**payload, "customer": masked}
