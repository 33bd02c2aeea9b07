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
    payment_create,
    payment_process,
    payment_refund,
    payment_void,
    payments_settle_stuck,
    retry_delay,
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


# --- processing -----------------------------------------------------------------------------
def test_a_good_card_is_authorized_then_captured(new_payment):
    payment = new_payment("tok_visa", "49.90")

    payment = payment_process(payment_id=payment.pk)

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
    payment = payment_process(payment_id=new_payment(token).pk)

    assert (payment.status, payment.failure_code, payment.attempts) == ("failed", code, 1)
    assert transitions(payment) == ["processing", "failed"]
    assert charges(payment) == 0


def test_transient_errors_are_retried_a_bounded_number_of_times_then_fail(new_payment):
    payment = payment_process(payment_id=new_payment("tok_processingError").pk)

    assert payment.status == "failed" and payment.failure_code == "processing_error"
    assert payment.attempts == 3
    errors = PaymentEvent.objects.filter(payment=payment, kind="gateway", result="error")
    assert errors.count() == 3


class FlakyGateway(TestGateway):
    """Answers the first authorization attempt of every key with a timeout."""

    seen: set = set()

    def authorize(self, amount, currency, token, idempotency_key):
        if idempotency_key not in self.seen:
            self.seen.add(idempotency_key)
            raise GatewayTransientError("timeout")
        return super().authorize(amount, currency, token, idempotency_key)


def test_a_transient_error_then_success_completes_with_one_charge(new_payment, settings):
    settings.PAYMENT_GATEWAY = "tests.payments.test_processing.FlakyGateway"

    payment = payment_process(payment_id=new_payment().pk)

    assert payment.status == "completed" and payment.attempts == 3  # 2 authorize + 1 capture
    assert charges(payment) == 1


def test_the_backoff_grows_exponentially_up_to_its_cap(settings):
    settings.PAYMENT_RETRY_BACKOFF, settings.PAYMENT_RETRY_BACKOFF_MAX = 0.5, 3
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]


def test_processing_a_finished_payment_changes_nothing(new_payment):
    payment = payment_process(payment_id=new_payment().pk)
    events = PaymentEvent.objects.filter(payment=payment).count()

    again = payment_process(payment_id=payment.pk)

    assert again.status == "completed" and again.attempts == payment.attempts
    assert PaymentEvent.objects.filter(payment=payment).count() == events
    assert charges(payment) == 1


def test_resuming_after_a_crash_after_the_capture_does_not_charge_twice(new_payment, gateway):
    payment = new_payment()
    # The worker authorized and captured at the gateway, then died before saving anything.
    auth = gateway.authorize(payment.amount, "EUR", "tok_visa", payment.idempotency_key)
    gateway.capture(auth.reference, payment.amount, f"{payment.idempotency_key}:capture")
    Payment.objects.filter(pk=payment.pk).update(status="processing")

    payment = payment_process(payment_id=payment.pk)

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

    assert payment_process(payment_id=payment.pk).status == "completed"
    assert payment_process(payment_id=payment.pk).status == "completed"
    assert charges(payment) == 1


def test_resuming_a_payment_the_gateway_never_saw_authorizes_it(new_payment):
    payment = new_payment()
    Payment.objects.filter(pk=payment.pk).update(status="processing")

    assert payment_process(payment_id=payment.pk).status == "completed"
    assert charges(payment) == 1


# --- refunds and voids ----------------------------------------------------------------------
def test_partial_refunds_keep_the_payment_completed_until_all_is_refunded(new_payment, staff):
    payment = payment_process(payment_id=new_payment(amount="100.00").pk)

    first = payment_refund(payment_id=payment.pk, amount=Decimal("30.00"), reason="one broken")
    assert Payment.objects.get(pk=payment.pk).status == "completed"
    rest = payment_refund(payment_id=payment.pk, reason="returned", actor=staff)

    payment.refresh_from_db()
    assert (first.amount, rest.amount) == (Decimal("30.00"), Decimal("70.00"))
    assert payment.status == "refunded" and payment.refunded_amount == Decimal("100.00")
    assert rest.actor == staff and rest.gateway_reference


def test_a_refund_cannot_exceed_what_was_captured(new_payment):
    payment = payment_process(payment_id=new_payment(amount="20.00").pk)
    payment_refund(payment_id=payment.pk, amount=Decimal("15.00"))

    with pytest.raises(RefundExceedsCapture) as caught:
        payment_refund(payment_id=payment.pk, amount=Decimal("5.01"))

    assert caught.value.details == {"requested": "5.01", "refundable": "5.00"}
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("15.00") and payment.refunds.count() == 1


def test_the_database_refuses_refunding_more_than_captured(new_payment):
    payment = payment_process(payment_id=new_payment(amount="20.00").pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(refunded_amount=F("captured_amount") + 1)


@pytest.mark.parametrize("token", ["tok_chargeDeclined", None])
def test_only_a_completed_payment_can_be_refunded(new_payment, token):
    payment = new_payment(token or "tok_visa")
    if token:
        payment_process(payment_id=payment.pk)
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


# --- the sweeper ----------------------------------------------------------------------------
def later() -> timezone.datetime:
    return timezone.now() + timedelta(hours=1)


def stuck(payment: Payment, status: str, **fields) -> Payment:
    Payment.objects.filter(pk=payment.pk).update(status=status, **fields)
    return payment


def test_the_sweeper_settles_every_kind_of_stuck_payment(new_payment, gateway):
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
    stuck(crashed_after_capture, "processing")
    declined = stuck(new_payment("tok_chargeDeclined"), "processing")
    cancelled = new_payment(status="cancelled")
    auth2 = gateway.authorize(cancelled.amount, "EUR", "tok_visa", cancelled.idempotency_key)
    stuck(cancelled, "authorized", gateway_reference=auth2.reference)
    done = payment_process(payment_id=new_payment().pk)

    assert payments_settle_stuck(now=timezone.now()) == 0  # nothing is old enough yet
    assert payments_settle_stuck(now=later()) == 4

    status = dict(Payment.objects.values_list("pk", "status"))
    assert status[never_sent.pk] == "failed"
    assert status[crashed_after_capture.pk] == "completed"
    assert charges(crashed_after_capture) == 1
    assert status[declined.pk] == "failed"
    assert status[cancelled.pk] == "failed"
    assert Payment.objects.get(pk=cancelled.pk).failure_code == "voided"
    assert status[done.pk] == "completed"
    assert payments_settle_stuck(now=later()) == 0


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


def test_processing_extends_the_orders_reservations(new_payment, settings):
    product = ProductFactory()
    stock_add(product_id=product.pk, quantity=5)
    payment = new_payment()
    (reservation,) = stock_reserve(
        order=payment.order, lines=[(product.pk, 1)], ttl=timedelta(seconds=30)
    )

    payment_process(payment_id=payment.pk)

    reservation.refresh_from_db()
    assert reservation.expires_at >= timezone.now() + settings.INVENTORY_RESERVATION_TTL - (
        timedelta(minutes=1)
    )
