"""Creating, processing, retrying, resuming, refunding, voiding and settling payments."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from inventory.services import stock_add, stock_reserve
from payments.exceptions import GatewayTransientError, PaymentError, RefundExceedsCapture
from payments.gateways.test import TestGateway
from payments.models import Payment, PaymentEvent, TestGatewayCharge
from payments.services import (
    payment_authorize,
    payment_capture,
    payment_create,
    payment_give_back,
    payment_give_back_request,
    payment_refund,
    payment_sync,
    payment_void,
    payments_settle_stuck,
    refund_settle,
)
from shop.exceptions import InvalidTransition
from tests.factories import OrderFactory, ProductFactory
from tests.utils import requires_postgres

pytestmark = pytest.mark.django_db


def charges(payment: Payment) -> int:
    """Approved captures the gateway made for this payment (money actually taken)."""
    payment.refresh_from_db()
    return len(TestGateway.charges(payment.gateway_reference)) if payment.gateway_reference else 0


def transitions(payment: Payment) -> list[str]:
    return list(
        PaymentEvent.objects.filter(payment=payment, kind="transition")
        .exclude(name="create")
        .values_list("to_status", flat=True)
    )


# --- creating -------------------------------------------------------------------------------
def test_create_keeps_brand_and_last4_and_encrypts_the_token(new_payment):
    payment = new_payment("tok_mastercard", "12.50")

    assert (payment.status, payment.amount, payment.currency) == (
        "pending",
        Decimal("12.50"),
        "EUR",
    )
    assert (payment.card_brand, payment.card_last4) == ("mastercard", "4444")
    assert len(payment.idempotency_key) == 32
    with connection.cursor() as cursor:
        cursor.execute("SELECT token_reference FROM payments_payment WHERE id = %s", [payment.pk])
        stored = cursor.fetchone()[0]
    assert stored and "tok_mastercard" not in stored
    assert Payment.objects.get(pk=payment.pk).token_reference == "tok_mastercard"


@pytest.mark.parametrize("amount", ["0", "-5", "NaN", "abc"])
def test_create_refuses_an_amount_that_is_not_positive(amount):
    with pytest.raises(PaymentError):
        payment_create(order=OrderFactory(), amount=amount, currency="EUR", token="tok_visa")
    assert not Payment.objects.exists()


def test_create_refuses_a_currency_that_is_not_iso():
    with pytest.raises(ValidationError):
        payment_create(order=OrderFactory(), amount=Decimal("5"), currency="EURO", token="tok_visa")


# --- authorizing and capturing -------------------------------------------------------------
def test_a_good_card_is_authorized_then_captured(new_payment, pay):
    payment = new_payment("tok_visa", "49.90")

    authorized = payment_authorize(payment_id=payment.pk)
    assert authorized.status == "authorized" and charges(payment) == 0  # money held, not taken
    payment = payment_capture(payment_id=payment.pk)

    assert payment.status == "completed"
    assert payment.captured_amount == Decimal("49.90") and payment.attempts == 2
    assert transitions(payment) == ["processing", "authorized", "completed"]
    assert charges(payment) == 1


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("tok_chargeDeclined", "card_declined"),
        ("tok_insufficientFunds", "insufficient_funds"),
        ("tok_nobodyKnowsMe", "invalid_token"),
    ],
)
def test_a_decline_fails_the_payment_with_its_code(new_payment, token, code):
    payment = payment_authorize(payment_id=new_payment(token).pk)

    assert (payment.status, payment.failure_code, payment.attempts) == ("failed", code, 1)
    assert transitions(payment) == ["processing", "failed"]
    assert charges(payment) == 0


def test_an_unanswered_authorization_leaves_the_payment_processing(new_payment):
    payment = new_payment("tok_processingError")

    with pytest.raises(GatewayTransientError):
        payment_authorize(payment_id=payment.pk)

    payment.refresh_from_db()
    assert payment.status == "processing" and payment.failure_code == ""


def test_after_the_last_unanswered_attempt_a_payment_the_gateway_never_saw_fails(new_payment):
    payment = new_payment("tok_processingError")
    for _ in range(2):
        with pytest.raises(GatewayTransientError):
            payment_authorize(payment_id=payment.pk)

    payment = payment_authorize(payment_id=payment.pk)

    assert payment.status == "failed" and payment.failure_code == "processing_error"
    errors = PaymentEvent.objects.filter(payment=payment, kind="gateway", result="error")
    assert errors.count() == 3
    assert PaymentEvent.objects.filter(payment=payment, name="lookup").count() == 1


def test_a_lost_authorization_answer_is_settled_to_the_truth_not_failed(new_payment, pay):
    payment = new_payment("tok_authorizeLost")

    with pytest.raises(GatewayTransientError):  # the gateway authorized; the answer was lost
        payment_authorize(payment_id=payment.pk)
    assert Payment.objects.get(pk=payment.pk).status == "processing"

    payment = pay(payment.pk)  # asked again with the same key: the first answer

    assert payment.status == "completed" and charges(payment) == 1
    assert TestGatewayCharge.objects.filter(idempotency_key=payment.idempotency_key).count() == 1


def test_a_lost_capture_answer_is_settled_by_asking_the_gateway(new_payment):
    payment = new_payment("tok_captureLost")
    payment_authorize(payment_id=payment.pk)

    with pytest.raises(GatewayTransientError):  # the capture happened; the answer was lost
        payment_capture(payment_id=payment.pk)
    payment.refresh_from_db()
    assert payment.status == "authorized" and payment.capture_requested_at is not None

    payment = payment_sync(payment_id=payment.pk)

    assert payment.status == "completed" and payment.captured_amount == payment.amount
    assert charges(payment) == 1


def test_a_lost_capture_answer_is_never_recorded_as_failed_by_a_repeat(new_payment):
    payment = new_payment("tok_captureLost")
    payment_authorize(payment_id=payment.pk)
    with pytest.raises(GatewayTransientError):
        payment_capture(payment_id=payment.pk)

    payment = payment_capture(payment_id=payment.pk)  # the same key: the stored answer

    assert payment.status == "completed" and charges(payment) == 1


def test_a_capture_the_gateway_refuses_fails_the_payment(new_payment, gateway):
    payment = payment_authorize(payment_id=new_payment().pk)
    gateway.void(payment.gateway_reference)  # e.g. the authorization lapsed at the gateway

    payment = payment_capture(payment_id=payment.pk)

    assert payment.status == "failed" and payment.failure_code == "authorization_voided"
    assert charges(payment) == 0


def test_only_an_authorized_payment_can_be_captured(new_payment):
    payment = new_payment()
    with pytest.raises(InvalidTransition):
        payment_capture(payment_id=payment.pk)
    assert charges(payment) == 0


def test_each_answer_is_audited_before_the_transition_it_leads_to(new_payment, pay):
    payment = pay(new_payment().pk)

    events = PaymentEvent.objects.filter(payment=payment).order_by("id")
    assert [(e.kind, e.name) for e in events] == [
        ("transition", "create"),
        ("transition", "start"),
        ("gateway", "authorize"),
        ("transition", "authorize"),
        ("gateway", "capture"),
        ("transition", "complete"),
    ]
    payment.refresh_from_db()
    assert payment.attempts == 2 and payment.capture_requested_at is not None


def test_a_payment_read_before_another_worker_authorized_it_is_not_started_again(new_payment):
    read_earlier = new_payment()
    payment_authorize(payment_id=read_earlier.pk)  # another worker, meanwhile

    payment = payment_authorize(payment_id=read_earlier.pk, current=read_earlier)

    assert payment.status == "authorized"
    assert transitions(payment) == ["processing", "authorized"]
    asked = PaymentEvent.objects.filter(payment=payment, kind="gateway", name="authorize")
    assert asked.count() == 1


def test_a_payment_given_up_after_it_was_read_is_not_captured(new_payment):
    payment = new_payment()
    read_earlier = payment_authorize(payment_id=payment.pk)
    payment_give_back_request(payment_id=payment.pk, reason="order cancelled")  # meanwhile

    with pytest.raises(InvalidTransition):
        payment_capture(payment_id=payment.pk, current=read_earlier)

    payment.refresh_from_db()
    assert payment.status == "authorized" and payment.capture_requested_at is None
    assert charges(payment) == 0


def test_a_transient_error_then_success_completes_with_one_charge(new_payment, pay):
    payment = new_payment("tok_authorizeLost")
    with pytest.raises(GatewayTransientError):
        payment_authorize(payment_id=payment.pk)

    payment = pay(payment.pk)

    assert payment.status == "completed" and payment.attempts == 3  # 2 authorize + 1 capture
    assert charges(payment) == 1


def test_processing_a_finished_payment_changes_nothing(new_payment, pay):
    payment = pay(new_payment().pk)
    events = PaymentEvent.objects.filter(payment=payment).count()

    again = pay(payment.pk)

    assert again.status == "completed" and again.attempts == payment.attempts
    assert PaymentEvent.objects.filter(payment=payment).count() == events
    assert charges(payment) == 1


def test_resuming_after_a_crash_after_the_capture_does_not_charge_twice(new_payment, gateway, pay):
    payment = new_payment()
    # The worker authorized and captured at the gateway, then died before saving anything.
    auth = gateway.authorize(payment.amount, "EUR", "tok_visa", payment.idempotency_key)
    gateway.capture(auth.reference, payment.amount, f"{payment.idempotency_key}:capture")
    Payment.objects.filter(pk=payment.pk).update(status="processing")

    payment = pay(payment.pk)

    assert payment.status == "completed" and payment.gateway_reference == auth.reference
    assert payment.captured_amount == payment.amount
    assert charges(payment) == 1
    assert TestGatewayCharge.objects.filter(parent_reference=auth.reference).count() == 1


def test_resuming_an_authorized_payment_captures_it_once(new_payment, gateway):
    payment = new_payment()
    auth = gateway.authorize(payment.amount, "EUR", "tok_visa", payment.idempotency_key)
    Payment.objects.filter(pk=payment.pk).update(
        status="authorized", gateway_reference=auth.reference
    )

    assert payment_capture(payment_id=payment.pk).status == "completed"
    assert payment_capture(payment_id=payment.pk).status == "completed"
    assert charges(payment) == 1


def test_resuming_a_payment_the_gateway_never_saw_authorizes_it(new_payment, pay):
    payment = new_payment()
    Payment.objects.filter(pk=payment.pk).update(status="processing")

    assert pay(payment.pk).status == "completed"
    assert charges(payment) == 1


# --- refunds and voids ----------------------------------------------------------------------
def test_partial_refunds_keep_the_payment_completed_until_all_is_refunded(new_payment, staff, pay):
    payment = pay(new_payment(amount="100.00").pk)

    first = payment_refund(payment_id=payment.pk, amount=Decimal("30.00"), reason="one broken")
    assert Payment.objects.get(pk=payment.pk).status == "completed"
    rest = payment_refund(payment_id=payment.pk, reason="returned", actor=staff)

    payment.refresh_from_db()
    assert (first.amount, rest.amount) == (Decimal("30.00"), Decimal("70.00"))
    assert payment.status == "refunded" and payment.refunded_amount == Decimal("100.00")
    assert rest.actor == staff and rest.gateway_reference


def test_a_refund_cannot_exceed_what_was_captured(new_payment, pay):
    payment = pay(new_payment(amount="20.00").pk)
    payment_refund(payment_id=payment.pk, amount=Decimal("15.00"))

    with pytest.raises(RefundExceedsCapture) as caught:
        payment_refund(payment_id=payment.pk, amount=Decimal("5.01"))

    assert caught.value.details == {"requested": "5.01", "refundable": "5.00"}
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("15.00") and payment.refunds.count() == 1


def test_the_database_refuses_refunding_more_than_captured(new_payment, pay):
    payment = pay(new_payment(amount="20.00").pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(refunded_amount=F("captured_amount") + 1)


@pytest.mark.parametrize("token", ["tok_chargeDeclined", None])
def test_only_a_completed_payment_can_be_refunded(new_payment, token, pay):
    payment = new_payment(token or "tok_visa")
    if token:
        pay(payment.pk)
    with pytest.raises(InvalidTransition):
        payment_refund(payment_id=payment.pk)


def test_voiding_an_authorization_fails_the_payment_as_voided(new_payment, gateway):
    payment = new_payment()
    auth = gateway.authorize(payment.amount, "EUR", "tok_visa", payment.idempotency_key)
    Payment.objects.filter(pk=payment.pk).update(
        status="authorized", gateway_reference=auth.reference
    )

    payment = payment_void(payment_id=payment.pk, reason="customer changed their mind")

    assert payment.status == "failed" and payment.failure_code == "voided"
    assert gateway.lookup(payment.idempotency_key).status == "voided"
    assert charges(payment) == 0
    with pytest.raises(InvalidTransition):
        payment_void(payment_id=payment.pk)


class UnreachableRefunds(TestGateway):
    """A gateway whose refund answers never arrive (it does not do them either)."""

    def refund(self, reference, amount, idempotency_key):
        raise GatewayTransientError("timeout")


def test_an_unanswered_refund_stays_pending_and_is_settled_later(new_payment, pay, settings):
    payment = pay(new_payment(amount="40.00").pk)
    settings.PAYMENT_GATEWAY = "tests.payments.test_processing.UnreachableRefunds"

    refund = payment_refund(payment_id=payment.pk, amount=Decimal("15.00"))

    assert refund.status == "pending"
    payment.refresh_from_db()
    assert payment.refunded_amount == 0 and payment.refundable_amount == Decimal("40.00")
    with pytest.raises(RefundExceedsCapture):  # the pending refund counts against the rest
        payment_refund(payment_id=payment.pk, amount=Decimal("25.01"))

    settings.PAYMENT_GATEWAY = "payments.gateways.test.TestGateway"
    refund = refund_settle(refund_id=refund.pk)

    assert refund.status == "succeeded" and refund.gateway_reference
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("15.00")


def test_refunding_holds_no_row_lock_while_the_gateway_is_asked(new_payment, pay):
    payment = pay(new_payment(amount="40.00").pk)
    seen = {}

    class Probe(TestGateway):
        def refund(self, reference, amount, idempotency_key):
            seen["in_atomic"] = connection.in_atomic_block
            return super().refund(reference, amount, idempotency_key)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("payments.services.get_gateway", lambda: Probe())
        payment_refund(payment_id=payment.pk, amount=Decimal("1.00"))

    # The test itself runs in a transaction (pytest-django), so the refund may only be one
    # level deep: the service's own atomic block must be closed when the gateway is asked.
    assert seen["in_atomic"] == connection.in_atomic_block


def test_giving_back_voids_an_authorization_and_refunds_a_capture(new_payment, pay):
    held = payment_authorize(payment_id=new_payment().pk)
    taken = pay(new_payment(amount="12.00").pk)

    held = payment_give_back(payment_id=held.pk, reason="order cancelled")
    taken = payment_give_back(payment_id=taken.pk, reason="order cancelled")

    assert held.status == "failed" and held.failure_code == "voided" and charges(held) == 0
    assert taken.status == "refunded" and taken.refunded_amount == Decimal("12.00")
    assert payment_give_back(payment_id=taken.pk).refunds.count() == 1  # idempotent


class LostFirstRefundAnswer(TestGateway):
    """Refunds are made, but the answer to the first request of each key never arrives."""

    def refund(self, reference, amount, idempotency_key):
        first = not TestGatewayCharge.objects.filter(idempotency_key=idempotency_key).exists()
        result = super().refund(reference, amount, idempotency_key)
        if first:
            raise GatewayTransientError("timeout")
        return result


def test_giving_back_again_settles_a_refund_whose_answer_was_lost(new_payment, pay, settings):
    taken = pay(new_payment(amount="12.00").pk)
    settings.PAYMENT_GATEWAY = "tests.payments.test_processing.LostFirstRefundAnswer"
    with pytest.raises(GatewayTransientError):
        payment_give_back(payment_id=taken.pk, reason="order cancelled")
    assert taken.refunds.get().status == "pending"

    taken = payment_give_back(payment_id=taken.pk, reason="order cancelled")  # the task's retry

    assert taken.refunds.get().status == "succeeded"
    assert taken.status == "refunded" and taken.refunded_amount == Decimal("12.00")


def test_a_pending_payment_given_back_fails_without_asking_the_gateway(new_payment):
    payment = payment_give_back(payment_id=new_payment().pk)

    assert payment.status == "failed" and payment.failure_code == "order_cancelled"
    assert not TestGatewayCharge.objects.filter(idempotency_key=payment.idempotency_key).exists()


# --- the sweeper ----------------------------------------------------------------------------
def later() -> timezone.datetime:
    return timezone.now() + timedelta(hours=1)


def stuck(payment: Payment, status: str, **fields) -> Payment:
    Payment.objects.filter(pk=payment.pk).update(status=status, **fields)
    return payment


def test_the_sweeper_settles_every_kind_of_stuck_payment(new_payment, gateway, pay):
    never_sent = stuck(new_payment(), "pending")
    crashed_after_capture = new_payment()
    auth = gateway.authorize(
        crashed_after_capture.amount, "EUR", "tok_visa", crashed_after_capture.idempotency_key
    )
    gateway.capture(
        auth.reference,
        crashed_after_capture.amount,
        f"{crashed_after_capture.idempotency_key}:capture",
    )
    stuck(crashed_after_capture, "authorized", capture_requested_at=timezone.now())
    declined = new_payment("tok_chargeDeclined")
    gateway.authorize(declined.amount, "EUR", "tok_chargeDeclined", declined.idempotency_key)
    stuck(declined, "processing")
    given_up = new_payment()
    auth2 = gateway.authorize(given_up.amount, "EUR", "tok_visa", given_up.idempotency_key)
    stuck(
        given_up,
        "authorized",
        gateway_reference=auth2.reference,
        give_back_requested_at=timezone.now(),
    )
    waiting_for_its_order = stuck(new_payment(), "authorized")
    done = pay(new_payment().pk)

    assert payments_settle_stuck(now=timezone.now()) == 0  # nothing is old enough yet
    assert payments_settle_stuck(now=later()) == 3

    status = dict(Payment.objects.values_list("pk", "status"))
    assert status[never_sent.pk] == "pending"  # its order starts it when a worker comes back
    assert status[crashed_after_capture.pk] == "completed"
    assert charges(crashed_after_capture) == 1
    assert status[declined.pk] == "failed"
    assert status[given_up.pk] == "failed"
    assert Payment.objects.get(pk=given_up.pk).failure_code == "voided"
    assert status[waiting_for_its_order.pk] == "authorized"  # never captured by the sweeper
    assert charges(waiting_for_its_order) == 0
    assert status[done.pk] == "completed"
    assert payments_settle_stuck(now=later()) == 0


def test_the_sweeper_refunds_a_capture_whose_order_gave_it_up(new_payment, pay):
    payment = pay(new_payment(amount="25.00").pk)
    stuck(payment, "completed", give_back_requested_at=timezone.now())

    assert payments_settle_stuck(now=later()) == 1

    payment.refresh_from_db()
    assert payment.status == "refunded" and payment.refunded_amount == Decimal("25.00")


def test_the_sweeper_fails_a_given_up_payment_the_gateway_never_saw_by_its_own_clock(
    new_payment,
):
    """Its order was cancelled while the payment was processing and no authorization ever
    reached the gateway: past the deadline (the sweeper's ``now``) nothing can still arrive."""
    payment = stuck(new_payment(), "processing", give_back_requested_at=timezone.now())

    assert payments_settle_stuck(now=later()) == 1

    payment.refresh_from_db()
    assert payment.status == "failed" and payment.failure_code == "abandoned"


def test_the_sweeper_leaves_recent_payments_alone(new_payment):
    payment = stuck(new_payment(), "processing")
    assert payments_settle_stuck() == 0
    assert Payment.objects.get(pk=payment.pk).status == "processing"


# --- the gateway's records are remote: they survive the shop's rollback ---------------------
@requires_postgres
def test_gateway_records_survive_a_rollback_of_the_shop(new_payment, gateway):
    payment = new_payment()
    with pytest.raises(RuntimeError), transaction.atomic():
        gateway.authorize(payment.amount, "EUR", "tok_visa", payment.idempotency_key)
        raise RuntimeError("the shop crashed")

    assert gateway.lookup(payment.idempotency_key).status == "authorized"


def test_processing_extends_the_orders_reservations(new_payment, settings, pay):
    product = ProductFactory()
    stock_add(product_id=product.pk, quantity=5)
    payment = new_payment()
    (reservation,) = stock_reserve(
        order=payment.order, lines=[(product.pk, 1)], ttl=timedelta(seconds=30)
    )

    pay(payment.pk)

    reservation.refresh_from_db()
    assert reservation.expires_at >= timezone.now() + settings.INVENTORY_RESERVATION_TTL - (
        timedelta(minutes=1)
    )
