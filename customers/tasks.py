"""Celery entry points of the customers app: thin, take ids, safe to run twice."""

from celery import shared_task

from customers import services
from shop.dispatch import MAIL_TRANSIENT, retrying


@shared_task(**retrying(*MAIL_TRANSIENT))
def stock_alerts_send_task(*, product_id: int) -> int:
    return services.stock_alerts_send(product_id=product_id)
