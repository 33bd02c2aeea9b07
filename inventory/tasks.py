"""Celery entry points of the inventory: thin, take ids, each runs the service it is named
after and is safe to run twice."""

from celery import shared_task

from inventory import services
from shop.dispatch import MAIL_TRANSIENT, retrying


@shared_task(ignore_result=True)
def reservations_expire_task() -> int:
    return services.reservations_expire()


@shared_task(ignore_result=True, **retrying(*MAIL_TRANSIENT))
def reorder_notify_task(*, reorder_id: int) -> bool:
    return services.reorder_notify(reorder_id=reorder_id)
