"""Signals other apps listen to; kept apart so listening costs no heavy imports."""

from django.dispatch import Signal

# Sent inside each chunk of an order import that wrote delivered orders, with ``delivered``:
# a list of (order external id, delivered-or-placed time).
orders_imported = Signal()

# Sent inside the transaction of an order upsert (single, bulk, import, API, events) that
# changed order statuses, with ``changes``: a list of (order external id, old status or None
# for a new order, new status).
order_status_changed = Signal()
