"""Signals other apps listen to; kept apart so listening costs no heavy imports."""

from django.dispatch import Signal

# Sent inside each committed chunk of an order import, with ``order_external_ids``.
orders_imported = Signal()
