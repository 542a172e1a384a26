"""Signal receivers of the points ledger (connected by ``apps.py``).

``customers.order_status_changed`` (inside the order upsert's transaction): a completed order
earns its points, a refunded one gives them back. A few orders (an API call, an event) are
booked in the same transaction, so order and points commit together. A large import batch is
handed to the queue after its commit, in chunks: booking thousands of orders would hold the
import's transaction and account locks for long. The writes are idempotent per order, so a
chunk that runs twice, or an order that appears in both paths, books its points once.
"""

from __future__ import annotations

from django.db import transaction

from cxloop.customers.models import Order

WATCHED = (Order.Status.COMPLETED, Order.Status.REFUNDED)
SYNC_LIMIT = 50
CHUNK = 500


def on_order_status_changed(sender, changes, **kwargs) -> None:
    external_ids = [external_id for external_id, _old, new in changes if new in WATCHED]
    if not external_ids:
        return
    if len(external_ids) <= SYNC_LIMIT:
        book_orders(external_ids=external_ids)
        return
    from cxloop.loyalty.tasks import book_order_points

    for start in range(0, len(external_ids), CHUNK):
        chunk = external_ids[start : start + CHUNK]
        transaction.on_commit(lambda chunk=chunk: book_order_points(chunk))


def book_orders(*, external_ids: list[str]) -> None:
    from cxloop.loyalty.earning import on_order_status

    orders = Order.objects.filter(external_id__in=external_ids, status__in=WATCHED)
    on_order_status(orders=list(orders.select_related("customer")))
