"""Orders paid through Stripe (the local server): 3-D Secure from the order to the return
page, authentications failed or abandoned, and Stripe's webhooks (signed, forged, replayed,
out of order, unknown), each applied through the same payment services."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from inventory.models import StockItem
from orders import services
from orders.models import OrderStatus
from payments.gateways.stripe import StripeGateway
from payments.models import Payment, StripeEvent
from payments.services import payment_refund, payments_settle_stuck
from tests.factories import UserFactory
from tests.fixtures import STRIPE_WEBHOOK_SECRET
from tests.payments.stripe_server import sign

pytestmark = pytest.mark.django_db
THREE_DS = "pm_card_authenticationRequired"
Status = Payment.Status


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run ``call`` as a request or a worker does: what follows each commit runs at once
    (Celery is eager in the tests, so the tasks it enqueues run too)."""

    def call(function, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return call


@pytest.fixture
def order_with(fake_stripe, placed, run):
    """An order paid with ``token`` through Stripe, processed as far as it goes by itself."""

    def make(token=THREE_DS, **kwargs):
        order, product = placed(token=token, **kwargs)
        run(services.order_process, order_id=order.pk)
        order.refresh_from_db()
        return order, product

    return make


def payment_of(order) -> Payment:
    return Payment.objects.get(order=order)


def browser(order) -> Client:
    client = Client()
    client.force_login(order.user)
    return client


def return_page(order, run):
    payment = payment_of(order)
    return run(
        browser(order).get, "/payments/return/", {"payment_intent": payment.gateway_reference}
    )


def stock(product) -> tuple[int, int]:
    item = StockItem.objects.get(product=product)
    return item.quantity, item.reserved


def post_event(event: dict, *, secret=STRIPE_WEBHOOK_SECRET, timestamp=None, run=None):
    payload = json.dumps(event)
    client = Client()
    headers = {"HTTP_STRIPE_SIGNATURE": sign(payload, secret, timestamp)}
    post = lambda: client.post(  # noqa: E731
        "/webhooks/stripe/", payload, content_type="application/json", **headers
    )
    return run(post) if run else post()


def events_of(fake_stripe, intent_id: str, kind: str | None = None) -> list[dict]:
    return [
        e
        for e in fake_stripe.events
        if e["data"]["object"].get("id") == intent_id and (kind is None or e["type"] == kind)
    ]


# --- without 3-D Secure ---------------------------------------------------------------------
def test_an_order_paid_with_a_stripe_card_is_authorized_then_captured(order_with, fake_stripe):
    order, product = order_with("pm_card_visa", quantity=2, stock=5)

    payment = payment_of(order)
    assert order.paid_at is not None and payment.status == Status.COMPLETED
    assert (payment.card_brand, payment.card_last4) == ("visa", "4242")
    intent = fake_stripe.intents[payment.gateway_reference]
    assert intent["status"] == "succeeded"
    assert intent["amount_received"] == int(order.total * 100) == int(payment.amount * 100)
    assert stock(product) == (3, 0)


def test_a_declined_stripe_card_cancels_the_order_and_releases_its_stock(order_with):
    order, product = order_with("pm_card_chargeDeclinedInsufficientFunds")

    assert order.status == OrderStatus.CANCELLED
    payment = payment_of(order)
    assert payment.status == Status.FAILED and payment.failure_code == "insufficient_funds"
    assert stock(product) == (5, 0)


def test_a_refund_of_a_stripe_payment_is_a_stripe_refund(order_with, fake_stripe):
    order, _ = order_with("pm_card_visa")

    refund = payment_refund(payment_id=payment_of(order).pk, amount="5.00", reason="scratch")

    assert refund.status == "succeeded" and refund.gateway_reference.startswith("re_")
    assert [r["amount"] for r in fake_stripe.refunds.values()] == [500]


# --- 3-D Secure -----------------------------------------------------------------------------
def test_a_card_needing_3d_secure_waits_for_the_customer_with_its_stock_held(order_with, user):
    order, product = order_with()

    payment = payment_of(order)
    assert order.status == OrderStatus.PROCESSING and order.paid_at is None
    assert payment.status == Status.ACTION_REQUIRED
    assert stock(product) == (5, 1)
    body = browser(order).get(f"/api/orders/{order.pk}/").json()
    action = body["payment"]["next_action"]
    assert action["type"] == "redirect_to_url"
    assert action["redirect_to_url"]["url"] == payment.next_action_url
    assert action["redirect_to_url"]["url"].endswith(f"/3ds/{payment.gateway_reference}")
    assert action["redirect_to_url"]["return_url"].endswith("/payments/return/")
    assert action["client_secret"].startswith(payment.gateway_reference)
    # Version 1 of the API knows no action_required: the payment reads processing, and
    # next_action says what the customer must do.
    assert body["payment"]["status"] == "processing"


def test_the_order_page_sends_the_customer_to_the_authentication(order_with):
    order, _ = order_with()

    page = browser(order).get(f"/orders/{order.number}/").content.decode()

    assert 'id="authenticate-payment"' in page
    assert payment_of(order).next_action_url in page
    assert 'http-equiv="refresh"' not in page  # no refresh pulling the customer away


def test_completing_3d_secure_returns_to_a_page_that_shows_the_order_paid(
    order_with, fake_stripe, run
):
    order, product = order_with()
    fake_stripe.authenticate(payment_of(order).gateway_reference, complete=True)

    response = return_page(order, run)

    assert response.status_code == 200
    assert "Your bank confirmed the payment" in response.content.decode()
    order.refresh_from_db()
    assert order.paid_at is not None and payment_of(order).status == Status.COMPLETED
    assert fake_stripe.intents[payment_of(order).gateway_reference]["status"] == "succeeded"
    assert stock(product) == (4, 0)


def test_a_failed_3d_secure_cancels_the_order_and_releases_its_stock(order_with, fake_stripe, run):
    order, product = order_with()
    fake_stripe.authenticate(payment_of(order).gateway_reference, complete=False)

    response = return_page(order, run)

    assert "The payment was not confirmed" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert payment_of(order).failure_code == "payment_intent_authentication_failure"
    assert stock(product) == (5, 0)


def test_an_abandoned_3d_secure_expires_into_failed_and_releases_the_stock(
    order_with, fake_stripe, run, settings
):
    order, product = order_with()
    reference = payment_of(order).gateway_reference
    later = timezone.now() + settings.PAYMENT_ACTION_EXPIRES + timedelta(minutes=1)

    run(payments_settle_stuck, now=later)

    payment = payment_of(order)
    assert payment.status == Status.FAILED and payment.failure_code == "authentication_abandoned"
    assert fake_stripe.intents[reference]["status"] == "canceled"
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert stock(product) == (5, 0)


def test_a_pending_authentication_is_left_alone_before_it_expires(
    order_with, fake_stripe, run, settings
):
    order, _ = order_with()
    soon = timezone.now() + settings.PAYMENT_STUCK_AFTER + timedelta(minutes=1)
    assert soon < timezone.now() + settings.PAYMENT_ACTION_EXPIRES

    run(payments_settle_stuck, now=soon)

    assert payment_of(order).status == Status.ACTION_REQUIRED


def test_cancelling_during_authentication_cancels_the_payment_intent(order_with, fake_stripe, run):
    order, product = order_with()

    run(services.order_cancel, order_id=order.pk, actor="customer", reason="changed my mind")

    payment = payment_of(order)
    assert payment.status == Status.FAILED
    assert fake_stripe.intents[payment.gateway_reference]["status"] == "canceled"
    assert stock(product) == (5, 0)


def test_the_return_page_shows_only_the_customers_own_payment(order_with, fake_stripe, run):
    order, _ = order_with()
    stranger = Client()
    stranger.force_login(UserFactory())

    response = stranger.get(
        "/payments/return/", {"payment_intent": payment_of(order).gateway_reference}
    )

    assert response.status_code == 404


# --- webhooks -------------------------------------------------------------------------------
def test_a_signed_webhook_completes_an_authenticated_order(order_with, fake_stripe, run):
    order, _ = order_with()
    reference = payment_of(order).gateway_reference
    fake_stripe.authenticate(reference, complete=True)
    (event,) = events_of(fake_stripe, reference, "payment_intent.amount_capturable_updated")

    response = post_event(event, run=run)

    assert response.status_code == 200 and response.json()["duplicate"] is False
    stored = StripeEvent.objects.get(event_id=event["id"])
    assert stored.outcome == StripeEvent.Outcome.APPLIED
    order.refresh_from_db()
    assert order.paid_at is not None and payment_of(order).status == Status.COMPLETED


def test_a_replayed_webhook_is_acknowledged_and_changes_nothing(order_with, fake_stripe, run):
    order, _ = order_with()
    reference = payment_of(order).gateway_reference
    fake_stripe.authenticate(reference, complete=True)
    (event,) = events_of(fake_stripe, reference, "payment_intent.amount_capturable_updated")
    post_event(event, run=run)
    requests = len(fake_stripe.requests)
    events = payment_of(order).events.count()

    response = post_event(event, run=run)

    assert response.status_code == 200 and response.json()["duplicate"] is True
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1
    assert len(fake_stripe.requests) == requests  # Stripe not even asked
    assert payment_of(order).events.count() == events


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param({"secret": "whsec_someone_else"}, id="wrong-secret"),
        pytest.param({"timestamp": 1_000_000_000}, id="stale-timestamp"),
    ],
)
def test_a_forged_webhook_is_a_400_and_changes_nothing(order_with, fake_stripe, run, forge):
    order, _ = order_with()
    reference = payment_of(order).gateway_reference
    fake_stripe.authenticate(reference, complete=True)
    (event,) = events_of(fake_stripe, reference, "payment_intent.amount_capturable_updated")

    response = post_event(event, run=run, **forge)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert not StripeEvent.objects.exists()
    assert payment_of(order).status == Status.ACTION_REQUIRED


def test_a_webhook_without_a_signature_is_a_400(fake_stripe, db):
    response = Client().post("/webhooks/stripe/", "{}", content_type="application/json")
    assert response.status_code == 400 and not StripeEvent.objects.exists()


def test_webhooks_in_any_order_leave_the_payment_where_stripe_has_it(order_with, fake_stripe, run):
    order, _ = order_with()
    reference = payment_of(order).gateway_reference
    fake_stripe.authenticate(reference, complete=True)
    run(return_page, order, run)  # the order goes on: captured
    assert payment_of(order).status == Status.COMPLETED
    every = events_of(fake_stripe, reference)

    for event in reversed(every):  # newest first, the oldest (requires_action) last
        assert post_event(event, run=run).status_code == 200

    assert payment_of(order).status == Status.COMPLETED
    order.refresh_from_db()
    assert order.paid_at is not None and order.status != OrderStatus.CANCELLED
    assert fake_stripe.captures(reference) == 1


def test_a_webhook_before_the_shop_heard_its_own_answer_settles_the_same_way(
    fake_stripe, placed, run
):
    order, _ = placed(token="pm_card_authorizeLost")
    with pytest.raises(Exception):  # noqa: B017 - the answer to the authorization is lost
        run(services.order_process, order_id=order.pk)
    assert payment_of(order).status == Status.PROCESSING
    reference = next(iter(fake_stripe.intents))
    (event,) = events_of(fake_stripe, reference, "payment_intent.amount_capturable_updated")

    post_event(event, run=run)
    assert payment_of(order).status == Status.AUTHORIZED
    run(services.order_process, order_id=order.pk)  # the task's retry

    order.refresh_from_db()
    assert order.paid_at is not None and fake_stripe.captures(reference) == 1


def test_an_unknown_event_is_acknowledged_and_ignored(fake_stripe, run, db):
    event = {"id": "evt_unknown", "object": "event", "type": "customer.created",
             "data": {"object": {"id": "cus_1", "object": "customer"}}}  # fmt: skip

    response = post_event(event, run=run)

    assert response.status_code == 200
    assert StripeEvent.objects.get(event_id="evt_unknown").outcome == "ignored"


# --- reconciliation and checks --------------------------------------------------------------
def test_the_reconciliation_agrees_with_stripe(order_with, fake_stripe, run):
    paid, _ = order_with("pm_card_visa")
    declined, _ = order_with("pm_card_chargeDeclined")
    payment_refund(payment_id=payment_of(paid).pk, amount="3.00")

    report = services.payments_reconcile(fix=True)

    assert report.counts()["found"] == 0 and report.checked == 2
    assert services.money_differences() == []
    assert len(StripeGateway().records(since=timezone.now() - timedelta(hours=1),
                                       until=timezone.now() + timedelta(hours=1))) == 2  # fmt: skip


@pytest.mark.parametrize(
    ("key", "debug", "allowed", "error"),
    [
        ("sk_live_abc", True, False, "shop.E005"),
        ("sk_test_abc", False, False, "shop.E006"),
        ("sk_test_abc", False, True, None),
        ("sk_live_abc", False, False, None),
        ("", False, False, "shop.E004"),
    ],
)
def test_system_checks_keep_live_and_test_stripe_keys_apart(settings, key, debug, allowed, error):
    from shop.checks import check_stripe_keys

    settings.PAYMENT_GATEWAY = "payments.gateways.stripe.StripeGateway"
    settings.STRIPE_SECRET_KEY = key
    settings.STRIPE_WEBHOOK_SECRET = "whsec_x"
    settings.DEBUG = debug
    settings.STRIPE_ALLOW_TEST_KEY = allowed

    assert [e.id for e in check_stripe_keys()] == ([error] if error else [])


def test_the_nightly_reconciliation_flags_money_stripe_holds_for_no_known_payment(
    order_with, fake_stripe
):
    from orders.models import ReconciliationIssue

    order_with("pm_card_visa")  # known to the shop: nothing to say
    stray = StripeGateway().authorize(Decimal("9.99"), "EUR", "pm_card_visa", "not-the-shops")

    services.payments_reconcile(fix=True, changed_within=timedelta(days=35))
    services.payments_reconcile(fix=True, changed_within=timedelta(days=35))  # again: one issue

    issue = ReconciliationIssue.objects.get(kind="unknown_at_gateway")
    assert issue.status == "open" and issue.details["reference"] == stray.reference


def test_the_stock_waits_for_the_customer_as_long_as_the_authentication_may_take(
    order_with, settings
):
    from inventory.services import reservations_expire

    order, product = order_with()
    past_reservation_ttl = (
        timezone.now() + settings.INVENTORY_RESERVATION_TTL + timedelta(minutes=1)
    )
    assert settings.PAYMENT_ACTION_EXPIRES > settings.INVENTORY_RESERVATION_TTL

    reservations_expire(now=past_reservation_ttl)

    assert stock(product) == (5, 1)
