"""Celery entry points of the payments: thin, take ids, each runs the service it is named after
and is safe to run twice."""

from celery import shared_task

from payments import services
from payments.exceptions import GatewayTransientError, PaymentError
from shop.dispatch import retrying


@shared_task(ignore_result=True, **retrying(GatewayTransientError, PaymentError))
def payment_give_back_task(*, payment_id: int, reason: str = "") -> str:
    return services.payment_give_back(payment_id=payment_id, reason=reason).status


@shared_task(ignore_result=True)
def payments_settle_stuck_task() -> int:
    return services.payments_settle_stuck()


@shared_task(ignore_result=True, **retrying(GatewayTransientError))
def stripe_event_process_task(*, event_id: int) -> str:
    return services.stripe_event_process(event_id=event_id).outcome
