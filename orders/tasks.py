"""Celery entry points for orders: thin, take ids, each runs the service it is named after and
is safe to run twice."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from orders import services
from payments.exceptions import GatewayTransientError
from shop.dispatch import MAIL_TRANSIENT, retrying


@shared_task(**retrying(GatewayTransientError))
def order_process_task(*, order_id: int) -> str:
    return services.order_process(order_id=order_id).status


@shared_task(ignore_result=True)
def orders_resume_stuck_task() -> int:
    return len(services.orders_resume_stuck())


@shared_task(ignore_result=True)
def idempotency_records_purge_task() -> int:
    return services.idempotency_records_purge()


@shared_task(**retrying(*MAIL_TRANSIENT))
def order_email_send_task(*, email_id: int) -> bool:
    return services.order_email_send(email_id=email_id)


@shared_task(ignore_result=True)
def order_emails_send_due_task() -> int:
    return services.order_emails_send_due()


@shared_task(ignore_result=True, **retrying(GatewayTransientError))
def payments_reconcile_task() -> dict:
    window = timedelta(days=settings.RECONCILIATION_DAYS)
    return services.payments_reconcile(fix=True, changed_within=window).counts()


@shared_task(ignore_result=True)
def returns_settle_pending_task() -> int:
    return services.returns_settle_pending()
