"""Purchases feed the recommendations: a paid order becomes ``purchase`` interactions.

The work runs in a task after the order's transaction commits; nothing in the order flow
waits for it or fails with it.
"""

import logging

from shop.dispatch import enqueue_on_commit

logger = logging.getLogger(__name__)


def on_order_paid(sender, order, **kwargs) -> None:
    from recommendations.tasks import interactions_record_order_task

    enqueue_on_commit(interactions_record_order_task, order_id=order.pk)


def connect() -> bool:
    """Listen to ``orders.signals.order_paid`` if the orders app sends it (True if connected)."""
    try:
        from orders.signals import order_paid
    except ImportError:
        logger.info("orders.signals.order_paid not available; purchases are not recorded")
        return False
    order_paid.connect(on_order_paid, dispatch_uid="recommendations.on_order_paid")
    return True
