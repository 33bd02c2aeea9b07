"""Signals other apps may listen to; no order flow depends on anyone listening."""

from django.dispatch import Signal

# Sent after an order's payment was captured and its stock committed: ``order``.
order_paid = Signal()
# Sent after an order was cancelled: ``order``, ``reason``.
order_cancelled = Signal()
