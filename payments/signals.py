"""Signals of the payments, for the apps above them (payments never imports orders)."""

from django.dispatch import Signal

# A payment left action_required (authorized, or failed), after the commit. Sent with
# ``payment_id``; the order's processing goes on from there.
payment_action_settled = Signal()
