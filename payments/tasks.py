"""Celery entry points of the payments: thin, take ids, safe to run twice."""

from celery import shared_task

from payments import services


@shared_task(ignore_result=True)
def process_payment(*, payment_id: int) -> None:
    services.payment_process(payment_id=payment_id)


@shared_task(ignore_result=True)
def settle_stuck_payments() -> int:
    return services.payments_settle_stuck()
