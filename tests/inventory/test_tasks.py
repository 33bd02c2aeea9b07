"""Beat entries name real tasks; the tasks call the services and are safe to run twice."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from inventory.models import ReorderRequest, StockItem
from inventory.services import stock_remove, stock_reserve
from inventory.tasks import reorder_notify_task, reservations_expire_task
from payments.models import Payment
from payments.services import payment_create
from payments.tasks import payments_settle_stuck_task
from shop.celery import app
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "entry, task",
    [
        ("inventory-expire-reservations", "inventory.tasks.reservations_expire_task"),
        ("payments-settle-stuck", "payments.tasks.payments_settle_stuck_task"),
    ],
)
def test_beat_schedule_entries_name_registered_tasks(entry, task):
    app.loader.import_default_modules()
    assert settings.CELERY_BEAT_SCHEDULE[entry]["task"] == task
    assert task in app.tasks


def test_the_expiry_task_releases_expired_reservations_once(stocked, order_for):
    product = stocked(5)
    stock_reserve(order=order_for((product, 2)), lines=[(product.pk, 2)], ttl=timedelta(0))

    assert reservations_expire_task.delay().get() == 1
    assert reservations_expire_task.delay().get() == 0
    assert StockItem.objects.get(pk=product.pk).reserved == 0


def test_the_reorder_mail_is_sent_only_while_the_request_is_open(stocked):
    product = stocked(6, reorder_point=5)
    stock_remove(product_id=product.pk, quantity=1, reason="count")
    request = ReorderRequest.objects.get()

    reorder_notify_task(reorder_id=request.pk)
    ReorderRequest.objects.filter(pk=request.pk).update(status="received")
    reorder_notify_task(reorder_id=request.pk)

    assert len(mail.outbox) == 1


def test_the_settle_task_settles_a_payment_stuck_past_its_deadline():
    payment = payment_create(order=OrderFactory(), amount="10.00", currency="EUR", token="tok_visa")
    # Sent for authorization, never heard of again, and the gateway has no record of it.
    Payment.objects.filter(pk=payment.pk).update(
        status="processing",
        updated_at=timezone.now() - settings.PAYMENT_STUCK_AFTER - timedelta(seconds=1),
    )

    assert payments_settle_stuck_task.delay().get() == 1
    assert Payment.objects.get(pk=payment.pk).status == "failed"
