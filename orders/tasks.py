"""Celery entry points for orders: thin, take ids, safe to run twice."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from orders import services
from orders.models import Order

logger = logging.getLogger(__name__)

EMAIL_SUBJECTS = {
    "placed": "We received your order {number}",
    "confirmed": "Your order {number} is confirmed",
    "payment_failed": "Payment for order {number} failed",
    "shipped": "Your order {number} is on its way",
    "cancelled": "Your order {number} was cancelled",
}


@shared_task(acks_late=True, max_retries=5, default_retry_delay=10)
def process_order(order_id: int) -> str:
    return services.order_process(order_id=order_id).status


@shared_task
def resume_stuck_orders() -> int:
    return len(services.orders_resume_stuck())


@shared_task
def purge_idempotency_records() -> int:
    return services.idempotency_records_purge()


@shared_task(acks_late=True, max_retries=3, default_retry_delay=30)
def send_order_email(order_id: int, kind: str) -> bool:
    order = (
        Order.objects.select_related("user").prefetch_related("lines").filter(pk=order_id).first()
    )
    if order is None or kind not in EMAIL_SUBJECTS:
        return False
    recipient = order.email or order.user.email
    if not recipient:
        return False
    context = {"order": order, "lines": order.lines.all(), "shop_name": settings.SHOP_NAME}
    send_mail(
        EMAIL_SUBJECTS[kind].format(number=order.number),
        render_to_string(f"emails/order_{kind}.txt", context),
        settings.DEFAULT_FROM_EMAIL,
        [recipient],
    )
    return True
