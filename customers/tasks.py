"""Celery entry points for customers: thin, take ids, each runs the service it is named after
and is safe to run twice."""

from celery import shared_task

from customers import services
from shop.dispatch import MAIL_TRANSIENT, retrying


@shared_task(**retrying(*MAIL_TRANSIENT))
def stock_alerts_send_task(*, product_id: int) -> int:
    return services.stock_alerts_send(product_id=product_id)


@shared_task(**retrying(*MAIL_TRANSIENT))
def email_verification_send_task(*, user_id: int) -> bool:
    return services.email_verification_send(user_id=user_id)
