"""What the inventory tells the apps above it, which it must not import.

``stock_available`` is sent inside the transaction that made units of products available again
(``product_ids``, sorted): a delivery or correction added stock, or reservations gave their units
back. A receiver that has work to do enqueues it on commit; nothing in the inventory waits on it.
"""

from django.dispatch import Signal

stock_available = Signal()
