"""Money follows goods: a card is captured only once the goods are secured, an unanswered
gateway call is settled to the truth, and an order whose money went back never ships."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db.models import Q
from django.utils import timezone

from inventory.models import Reservation, StockItem
from inventory.services import reservations_expire, stock_remove
from orders import services
from orders.models import Order, OrderEmail, OrderEvent
from orders.services import lifecycle
from orders.tasks import order_process_task
from payments.exceptions import GatewayTransientError
from payments.gateways.test import TestGateway
from payments.models import Payment, TestGatewayCharge
from payments.services import (
    payment_authorize,
    payment_capture,
    payment_refund,
    payments_settle_stuck,
)
from shop.exceptions import InvalidTransition
from tests.orders.conftest import ADDRESS

pytestmark = pytest.mark.django_db
SYSTEM = OrderEvent.Actor.SYSTEM


@pytest.fixture
def process(django_capture_on_commit_callbacks):
    """Run an order's processing as a worker does: outside any transaction, so what follows
    each commit (giving money back, mails) runs at once."""

    def run(order_id: int) -> Order:
        with django_capture_on_commit_callbacks(execute=True):
            return services.order_process(order_id=order_id)

    return run


def payment_of(order) -> Payment:
    return Payment.objects.get(order=order)


def captured(order) -> Decimal:
    """What the gateway captured for the order, less what it refunded."""
    found = TestGateway().lookup(payment_of(order).idempotency_key)
    if found is None or found.status != "captured":
        return Decimal("0.00")
    return found.captured_amount - found.refunded_amount


def gateway_records(order, operation: str, **fields):
    """The gateway's records of one operation on the order's payment."""
    payment = payment_of(order)
    by_payment = Q(idempotency_key=payment.idempotency_key) | Q(
        parent_reference=payment.gateway_reference or "-"
    )
    return TestGatewayCharge.objects.filter(by_payment, operation=operation, **fields)


def sell_out_behind_its_back(order, product) -> None:
    """The order's reservation lapses (worker down) and another customer buys every unit."""
    reservations_expire(now=timezone.now() + timedelta(days=1))
    item = StockItem.objects.get(product=product)
    stock_remove(product_id=product.pk, quantity=item.available, reason="sold elsewhere")


def test_the_card_is_captured_only_after_the_stock_is_committed(placed, monkeypatch, process):
    order, product = placed()
    seen = {}
    real_capture = TestGateway.capture

    def capture(gateway, reference, amount, key):
        reservation = Reservation.objects.get(order=order)
        seen["reservation_at_capture"] = reservation.state
        return real_capture(gateway, reference, amount, key)

    monkeypatch.setattr(TestGateway, "capture", capture)

    order = process(order.pk)

    assert order.paid_at is not None and order.status == "processing"
    assert seen["reservation_at_capture"] == Reservation.State.COMMITTED


def test_goods_gone_before_processing_void_the_authorization_and_cancel(placed, process):
    """Finding 1: the card was charged, the order cancelled, and nothing refunded."""
    order, product = placed()
    sell_out_behind_its_back(order, product)

    order = process(order.pk)

    assert order.status == "cancelled" and "stock no longer available" in order.cancel_reason
    payment = payment_of(order)
    assert payment.status == "failed" and payment.failure_code == "voided"
    assert captured(order) == 0
    assert not gateway_records(order, "capture").exists()
    assert OrderEmail.objects.filter(order=order, kind="cancelled").exists()
    assert services.money_differences() == []


def test_goods_gone_after_an_earlier_capture_refund_the_money(placed, process):
    """Resumed in any order after a crash: a capture already made is refunded."""
    order, product = placed()
    payment = payment_of(order)  # an older run captured first, then its worker died
    payment_authorize(payment_id=payment.pk)
    Payment.objects.filter(pk=payment.pk).update(status="authorized")
    payment_capture(payment_id=payment.pk)
    sell_out_behind_its_back(order, product)

    order = process(order.pk)

    assert order.status == "cancelled"
    assert payment_of(order).status == "refunded" and captured(order) == 0
    assert services.money_differences() == []


def test_a_lost_capture_answer_is_neither_failed_nor_charged_twice(placed, process):
    """Finding 2: a lost capture answer was recorded as failed while the gateway held it."""
    order, _ = placed(token="tok_captureLost")

    with pytest.raises(GatewayTransientError):
        process(order.pk)  # the task retries this

    payment = payment_of(order)
    assert payment.status == "authorized" and payment.capture_requested_at is not None
    order = process(order.pk)
    assert order.paid_at is not None and payment_of(order).status == "completed"
    assert captured(order) == order.total
    assert gateway_records(order, "capture", approved=True).count() == 1


def test_a_lost_authorization_answer_settles_to_paid_once(placed, process):
    order, _ = placed(token="tok_authorizeLost")

    with pytest.raises(GatewayTransientError):
        process(order.pk)
    assert payment_of(order).status == "processing"  # unknown, not failed

    order = process(order.pk)

    assert order.paid_at is not None and captured(order) == order.total
    assert gateway_records(order, "authorize").count() == 1


@pytest.mark.parametrize("token", ["tok_captureLost", "tok_authorizeLost"])
def test_lost_answers_end_paid_through_the_api_and_the_task_retries(
    token, user_client, stocked, django_capture_on_commit_callbacks
):
    product = stocked(quantity=3, price=Decimal("15.00"))
    payload = {
        "items": [{"product": product.pk, "quantity": 1}],
        "shipping_address": ADDRESS,
        "payment": {"method": "card", "token": token},
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post("/api/orders/", payload, format="json")

    assert response.status_code == 201
    order = Order.objects.get(pk=response.json()["id"])
    assert order.paid_at is not None and payment_of(order).status == "completed"
    assert captured(order) == order.total == Decimal("19.90")  # 15.00 and 4.90 of shipping


def test_a_cancel_racing_processing_gives_the_authorization_back(placed, process, monkeypatch):
    order, _ = placed()
    real_authorize = lifecycle.payment_authorize

    def authorize_while_the_customer_cancels(*, payment_id, **kwargs):
        payment = real_authorize(payment_id=payment_id, **kwargs)
        services.order_cancel(order_id=order.pk, actor=SYSTEM, reason="changed their mind")
        return payment

    monkeypatch.setattr(lifecycle, "payment_authorize", authorize_while_the_customer_cancels)

    order = process(order.pk)

    payment = payment_of(order)
    assert order.status == "cancelled"
    assert payment.status == "failed" and payment.failure_code == "voided"
    assert captured(order) == 0
    assert not gateway_records(order, "capture").exists()


def test_a_cancel_after_the_goods_were_secured_ends_processing_without_a_capture(
    placed, process, monkeypatch
):
    """The customer cancels between the stock commit and the capture: processing stops there
    (no error for the task to fail on) and the authorization goes back."""
    order, product = placed()
    real_capture = lifecycle.payment_capture

    def capture_while_the_customer_cancels(*, payment_id, **kwargs):
        services.order_cancel(order_id=order.pk, actor=SYSTEM, reason="changed their mind")
        return real_capture(payment_id=payment_id, **kwargs)  # with the payment read before

    monkeypatch.setattr(lifecycle, "payment_capture", capture_while_the_customer_cancels)

    order = process(order.pk)

    payment = payment_of(order)
    assert order.status == "cancelled"
    assert payment.status == "failed" and payment.failure_code == "voided"
    assert not gateway_records(order, "capture").exists()
    item = StockItem.objects.get(product=product)
    assert (item.quantity, item.reserved) == (5, 0)  # sold, then put back


@pytest.mark.django_db(transaction=True)  # each commit's follow-up runs at once, as live
def test_a_cancel_during_an_authorization_whose_answer_is_lost_voids_it_on_the_retry(
    placed, monkeypatch
):
    """The customer cancels while the authorization is on its way: giving back finds nothing
    at the gateway yet, then the gateway authorizes and its answer is lost. The task's retry
    must release that hold, not leave it on the card until the sweeper."""
    with monkeypatch.context() as patch:
        patch.setattr(order_process_task, "delay", lambda **kwargs: None)  # run by hand below
        order, _ = placed(token="tok_authorizeLost")
    real_authorize = TestGateway.authorize

    def authorize_while_the_customer_cancels(gateway, amount, currency, token, key):
        services.order_cancel(order_id=order.pk, actor=SYSTEM, reason="changed their mind")
        return real_authorize(gateway, amount, currency, token, key)

    with monkeypatch.context() as patch:
        patch.setattr(TestGateway, "authorize", authorize_while_the_customer_cancels)
        with pytest.raises(GatewayTransientError):
            services.order_process(order_id=order.pk)
    assert payment_of(order).status == "processing"  # the hold is unknown to the shop

    order = services.order_process(order_id=order.pk)  # the task's retry

    payment = payment_of(order)
    assert order.status == "cancelled"
    assert payment.status == "failed" and payment.failure_code == "voided"
    assert TestGateway().lookup(payment.idempotency_key).status == "voided"


def test_an_order_whose_money_went_back_cannot_ship(placed, staff_client, process):
    """Finding 5: a refunded order could still be shipped."""
    order, _ = placed()
    order = process(order.pk)
    payment_refund(payment_id=payment_of(order).pk, reason="goodwill, all of it")

    with pytest.raises(InvalidTransition):
        services.order_ship(order_id=order.pk, actor=SYSTEM)
    response = staff_client.post(f"/api/orders/{order.pk}/ship/")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
    assert Order.objects.get(pk=order.pk).status == "processing"


def test_a_partly_refunded_order_still_ships(placed, process):
    order, _ = placed(quantity=2)
    order = process(order.pk)
    payment_refund(payment_id=payment_of(order).pk, amount=Decimal("5.00"), reason="scratch")

    assert services.order_ship(order_id=order.pk, actor=SYSTEM).status == "shipped"


# --- mails: due once, sent once -------------------------------------------------------------
def test_an_order_mail_is_sent_once_however_often_its_task_runs(placed):
    """Finding 4: a redelivered mail task mailed the customer twice."""
    order, _ = placed()
    email = OrderEmail.objects.get(order=order, kind="placed")
    mail.outbox.clear()

    assert services.order_email_send(email_id=email.pk) is True
    assert services.order_email_send(email_id=email.pk) is False  # redelivered

    assert len(mail.outbox) == 1 and order.number in mail.outbox[0].subject


def test_a_mail_is_due_once_per_order_and_kind(placed):
    order, _ = placed()

    assert services.order_email_due(order=order, kind="placed") is None
    assert OrderEmail.objects.filter(order=order, kind="placed").count() == 1


def test_a_mail_server_failure_leaves_the_mail_due_for_a_retry(placed, monkeypatch):
    order, _ = placed()
    email = OrderEmail.objects.get(order=order, kind="placed")

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("orders.services.emails.mail_send", refuse)
    with pytest.raises(ConnectionRefusedError):
        services.order_email_send(email_id=email.pk)
    monkeypatch.undo()

    email.refresh_from_db()
    assert email.sent_at is None and email.claimed_at is None
    assert services.order_email_send(email_id=email.pk) is True


def test_unsent_mails_are_enqueued_again_by_the_sweeper(placed, django_capture_on_commit_callbacks):
    order, _ = placed()
    OrderEmail.objects.filter(order=order).update(created_at=timezone.now() - timedelta(hours=1))
    mail.outbox.clear()

    assert services.order_emails_send_due() == 1

    assert len(mail.outbox) == 1  # eager Celery: the task ran
    assert services.order_emails_send_due() == 0


def test_orders_waiting_through_a_worker_outage_are_paid_not_cancelled(placed, process):
    order, product = placed()
    an_hour_later = timezone.now() + timedelta(hours=1)
    reservations_expire(now=an_hour_later)  # the sweepers ran while no worker did
    payments_settle_stuck(now=an_hour_later)
    assert payment_of(order).status == "pending"

    order = process(order.pk)  # the worker is back; its stock is still there

    assert order.paid_at is not None and payment_of(order).status == "completed"
    assert StockItem.objects.get(product=product).reserved == 0
