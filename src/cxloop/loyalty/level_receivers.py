"""Signal receivers of levels, stars and referrals; ``connect_level_hooks`` (called once from
the app's ``ready``) connects them.

- ``customers.order_status_changed``: an order that became ``completed`` upgrades its
  customer at once if the spend now reaches a better level, earns the month's order stars
  and qualifies a pending referral of its customer. As the ledger's receiver does, a few
  orders are handled inside the upsert's transaction; a large import batch goes to the queue
  in chunks after its commit. Every step is idempotent, so a chunk that runs twice is harmless.
- ``surveys.response_submitted`` (after commit): an answered survey earns survey stars.
- ``core.event_recorded`` (after commit): a ``customer.registered`` event whose payload has a
  ``referral_code`` (and optionally ``device_id``, ``address``) accepts that invitation for
  the registered customer — "accept on registration". A refusal is stored and logged; it
  never fails the event.
- ``post_migrate``: the default levels, stars ladder and programme settings.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from cxloop.customers.models import Order

logger = logging.getLogger(__name__)
SYNC_LIMIT = 50
CHUNK = 500
# Only a recent order earns stars: an import of last year's history must not fill this month.
STARS_RECENT = dt.timedelta(days=31)


def connect_level_hooks() -> None:
    """Connect the receivers (idempotent: fixed dispatch uids)."""
    from cxloop.core.events import event_recorded
    from cxloop.customers.signals import order_status_changed
    from cxloop.loyalty.level_defaults import connect_level_defaults
    from cxloop.surveys.signals import response_submitted

    order_status_changed.connect(
        on_order_status_changed, dispatch_uid="cxloop.loyalty.levels_orders"
    )
    response_submitted.connect(on_response_submitted, dispatch_uid="cxloop.loyalty.stars_surveys")
    event_recorded.connect(on_event_recorded, dispatch_uid="cxloop.loyalty.referral_on_register")
    connect_level_defaults()


def on_order_status_changed(sender, changes, **kwargs) -> None:
    completed = Order.Status.COMPLETED
    external_ids = [key for key, old, new in changes if new == completed and old != completed]
    if not external_ids:
        return
    if len(external_ids) <= SYNC_LIMIT:
        handle_completed_orders(external_ids=external_ids)
        return
    from cxloop.loyalty.level_tasks import handle_completed_orders_task

    for start in range(0, len(external_ids), CHUNK):
        chunk = external_ids[start : start + CHUNK]
        transaction.on_commit(lambda chunk=chunk: handle_completed_orders_task(chunk))


def handle_completed_orders(*, external_ids: list[str], now: dt.datetime | None = None) -> int:
    """Levels, stars and referrals for these orders (those still completed); returns how many."""
    from cxloop.loyalty import levels, referrals, stars

    now = now or timezone.now()
    orders = Order.objects.filter(external_id__in=external_ids, status=Order.Status.COMPLETED)
    orders = list(orders.select_related("customer").order_by("placed_at", "id"))
    evaluated: set[int] = set()
    for order in orders:
        if order.customer_id not in evaluated:  # one evaluation sees all of a batch's orders
            levels.evaluate_customer(customer=order.customer, now=now)
            evaluated.add(order.customer_id)
        if _recent(order, now):
            stars.on_order_completed(order=order, at=now)
        referrals.on_order_completed(order=order)
    return len(orders)


def _recent(order: Order, now: dt.datetime) -> bool:
    moment = order.delivered_at or order.placed_at
    return moment is not None and moment >= now - STARS_RECENT


def on_response_submitted(sender, response, **kwargs) -> None:
    from cxloop.loyalty import stars

    stars.on_response_submitted(response=response)


def on_event_recorded(sender, event, **kwargs) -> None:
    payload = event.payload if isinstance(event.payload, dict) else {}
    code = payload.get("referral_code")
    if event.type != "customer.registered" or event.customer_id is None or not code:
        return
    from cxloop.loyalty.referrals import accept_referral
    from cxloop.loyalty.services import LoyaltyError

    texts = {name: payload.get(name) for name in ("device_id", "address")}
    texts = {name: value if isinstance(value, str) else "" for name, value in texts.items()}
    try:
        accept_referral(invitee=event.customer, code=str(code), now=event.occurred_at, **texts)
    except LoyaltyError as error:  # refused (stored as rejected) or a bad code: logged only
        logger.info("Referral on registration %s not accepted: %s", event.event_id, error)
