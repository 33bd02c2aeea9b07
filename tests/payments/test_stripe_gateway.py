"""The Stripe gateway against the local Stripe server: what each interface operation sends,
and how answers, declines, 3-D Secure, idempotent replays and lost answers come back."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from payments.exceptions import GatewayTransientError, PaymentError
from payments.gateways import GatewayStatus
from payments.gateways.stripe import StripeGateway, from_minor, to_minor

KEY = "a1b2c3"


@pytest.fixture
def gateway(fake_stripe):
    return StripeGateway()


def authorize(gateway, token="pm_card_visa", amount="12.34", key=KEY, currency="EUR"):
    return gateway.authorize(Decimal(amount), currency, token, key)


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("12.34", "EUR", 1234), ("1000.00", "JPY", 1000), ("1.50", "KWD", 1500), ("0.01", "usd", 1)],
)
def test_amounts_go_to_stripe_in_the_currency_minor_unit(amount, currency, minor):
    assert to_minor(Decimal(amount), currency) == minor
    assert from_minor(minor, currency) == Decimal(amount)


def test_a_fraction_of_a_currency_without_minor_unit_is_refused():
    with pytest.raises(PaymentError):
        to_minor(Decimal("10.50"), "JPY")


def test_authorize_creates_a_confirmed_payment_intent_for_manual_capture(gateway, fake_stripe):
    result = authorize(gateway)

    assert result.approved and result.reference.startswith("pi_")
    assert result.amount == Decimal("12.34")
    assert (result.card.brand, result.card.last4) == ("visa", "4242")
    intent = fake_stripe.intents[result.reference]
    assert intent["status"] == "requires_capture" and intent["capture_method"] == "manual"
    assert (intent["amount"], intent["currency"]) == (1234, "eur")
    assert intent["metadata"] == {"shop_key": KEY}


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ],
)
def test_a_declined_card_is_a_declined_result_and_looks_up_as_declined(gateway, token, code):
    result = authorize(gateway, token)

    assert not result.approved and result.code == code
    found = gateway.lookup(KEY)
    assert found.status == GatewayStatus.DECLINED and found.code == code


def test_a_card_that_needs_3d_secure_asks_for_the_customer_then_authorizes(gateway, fake_stripe):
    result = authorize(gateway, "pm_card_authenticationRequired")

    assert not result.approved and result.action_required
    assert result.next_action_url == f"{fake_stripe.url}/3ds/{result.reference}"
    assert result.client_secret.startswith(result.reference + "_secret_")
    assert gateway.lookup(KEY).status == GatewayStatus.ACTION_REQUIRED

    fake_stripe.authenticate(result.reference, complete=True)
    assert gateway.lookup(KEY).status == GatewayStatus.AUTHORIZED


def test_a_failed_3d_secure_looks_up_as_declined(gateway, fake_stripe):
    result = authorize(gateway, "pm_card_authenticationRequired")
    fake_stripe.authenticate(result.reference, complete=False)

    found = gateway.lookup(KEY)
    assert found.status == GatewayStatus.DECLINED
    assert found.code == "payment_intent_authentication_failure"


def test_the_same_key_twice_is_one_payment_intent(gateway, fake_stripe):
    first, again = authorize(gateway), authorize(gateway)

    assert first.reference == again.reference
    assert len(fake_stripe.intents) == 1


def test_a_lost_answer_is_retried_by_the_library_under_the_same_key(gateway, fake_stripe, settings):
    settings.STRIPE_MAX_NETWORK_RETRIES = 2
    fake_stripe.lose_answers(1)

    result = authorize(gateway)

    assert result.approved
    assert len(fake_stripe.intents) == 1
    assert fake_stripe.requests.count(("POST", "/v1/payment_intents")) == 2


def test_a_lost_answer_without_retries_is_unknown_and_lookup_tells_the_truth(gateway, fake_stripe):
    fake_stripe.lose_answers(1)

    with pytest.raises(GatewayTransientError):
        authorize(gateway)

    found = gateway.lookup(KEY)
    assert found.status == GatewayStatus.AUTHORIZED
    assert found.reference == next(iter(fake_stripe.intents))


def test_lookup_of_a_key_stripe_never_saw_is_none(gateway):
    assert gateway.lookup("never-sent") is None


def test_stripe_down_is_a_transient_error(gateway, fake_stripe):
    fake_stripe.down = True
    with pytest.raises(GatewayTransientError):
        authorize(gateway)
    assert fake_stripe.intents == {}


def test_a_wrong_secret_key_is_a_payment_error_not_a_retry(gateway, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_wrong"
    with pytest.raises(PaymentError) as raised:
        authorize(gateway)
    assert not isinstance(raised.value, GatewayTransientError)


def test_capture_takes_the_authorized_amount_once(gateway, fake_stripe):
    reference = authorize(gateway).reference

    captured = gateway.capture(reference, Decimal("12.34"), f"{KEY}:capture")
    again = gateway.capture(reference, Decimal("12.34"), f"{KEY}:capture")

    assert captured.approved and captured.amount == Decimal("12.34")
    assert again.approved  # the replay of the first answer
    assert fake_stripe.captures(reference) == 1
    found = gateway.lookup(KEY)
    assert (found.status, found.captured_amount) == (GatewayStatus.CAPTURED, Decimal("12.34"))


def test_capture_with_another_key_after_a_capture_says_already_captured(gateway):
    reference = authorize(gateway).reference
    gateway.capture(reference, Decimal("12.34"), "first")

    result = gateway.capture(reference, Decimal("12.34"), "second")

    assert not result.approved and result.code == "already_captured"


def test_a_voided_authorization_cannot_be_captured(gateway):
    reference = authorize(gateway).reference

    assert gateway.void(reference).approved
    assert gateway.void(reference).approved  # voiding twice is still voided
    assert gateway.lookup(KEY).status == GatewayStatus.VOIDED
    result = gateway.capture(reference, Decimal("12.34"), f"{KEY}:capture")
    assert not result.approved and result.code == "authorization_voided"


def test_a_captured_payment_cannot_be_voided(gateway):
    reference = authorize(gateway).reference
    gateway.capture(reference, Decimal("12.34"), f"{KEY}:capture")

    result = gateway.void(reference)

    assert not result.approved and result.code == "already_captured"


def test_partial_refunds_add_up_and_never_exceed_the_capture(gateway, fake_stripe):
    reference = authorize(gateway, amount="50.00").reference
    gateway.capture(reference, Decimal("50.00"), f"{KEY}:capture")

    first = gateway.refund(reference, Decimal("20.00"), f"{KEY}:refund:1")
    replay = gateway.refund(reference, Decimal("20.00"), f"{KEY}:refund:1")
    too_much = gateway.refund(reference, Decimal("30.01"), f"{KEY}:refund:2")

    assert first.approved and first.reference.startswith("re_")
    assert replay.reference == first.reference
    assert not too_much.approved and too_much.code == "refund_exceeds_capture"
    assert len(fake_stripe.refunds) == 1
    found = gateway.lookup(KEY)
    assert (found.captured_amount, found.refunded_amount) == (Decimal("50.00"), Decimal("20.00"))


def test_records_list_the_payment_intents_of_the_period(gateway):
    authorize(gateway, key="one")
    authorize(gateway, "pm_card_chargeDeclined", key="two")
    now = timezone.now()

    records = gateway.records(since=now - timedelta(hours=1), until=now + timedelta(minutes=1))
    earlier = gateway.records(since=now - timedelta(days=2), until=now - timedelta(days=1))

    assert {(r.idempotency_key, r.lookup.status) for r in records} == {
        ("one", GatewayStatus.AUTHORIZED),
        ("two", GatewayStatus.DECLINED),
    }
    assert earlier == []
