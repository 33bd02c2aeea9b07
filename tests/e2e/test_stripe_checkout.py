"""Paying through Stripe in the browser, 3-D Secure included, against the local Stripe server.

Stripe.js cannot load here (no internet; its address is blocked so every run is the same), so
the checkout uses its test-mode fallback (Stripe's test cards mapped to Stripe's test
PaymentMethods) and the order page sends the customer to the authentication page by redirect
(``next_action.redirect_to_url``): a challenge page served by the local server, which comes
back to the shop's return page. Stripe Elements and Stripe.js's own dialog are not exercised.
"""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orders.models import Order, OrderStatus
from payments.models import Payment
from tests.e2e import helpers
from tests.factories import CategoryFactory, ProductFactory, StockItemFactory
from tests.fixtures import STRIPE_GATEWAY, STRIPE_WEBHOOK_SECRET
from tests.utils import WITH_WORKER

pytestmark = pytest.mark.django_db(transaction=True)
PROCESSED_MS = 30_000
THREE_DS_CARD = "4000 0025 0000 3155"


@pytest.fixture
def stripe_shop(fake_stripe, settings, live_url):
    """The shop on Stripe (the local server), sending customers back to the live server."""
    settings.SHOP_URL = live_url
    if not WITH_WORKER:
        yield fake_stripe
        return
    from tests.worker import running_worker

    env = {
        "PAYMENT_GATEWAY": STRIPE_GATEWAY,
        "STRIPE_API_BASE": fake_stripe.url,
        "STRIPE_SECRET_KEY": fake_stripe.api_key,
        "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET,
        "STRIPE_MAX_NETWORK_RETRIES": "0",
        "SHOP_URL": live_url,
    }
    with running_worker(concurrency=1, env=env):
        yield fake_stripe


@pytest.fixture
def moka():
    product = ProductFactory(
        name="Bialetti Moka Pot",
        slug="moka-pot",
        category=CategoryFactory(name="Kitchen", slug="kitchen"),
        price=Decimal("34.90"),
    )
    StockItemFactory(product=product, quantity=10)
    return product


@pytest.fixture
def shopper(logged_in_page):
    # Stripe.js is not reachable here: fail its request at once, as a blocked network would.
    logged_in_page.route("https://js.stripe.com/**", lambda route: route.abort())
    return logged_in_page


def pay(page, live_url, card: str):
    helpers.add_to_cart(page, live_url, slug="moka-pot")
    page.get_by_role("link", name="Proceed to checkout").click()
    expect(page.locator("#card-help")).to_contain_text("Stripe test mode")
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Address", exact=True).fill("12 Main Street")
    page.get_by_label("City").fill("Berlin")
    page.get_by_label("Postal code").fill("10115")
    page.get_by_label("Country code").fill("DE")
    page.get_by_label("Card number").fill(card)
    page.get_by_role("button", name="Place order").click()


def test_a_card_asking_for_3d_secure_is_authenticated_and_the_order_paid(
    shopper, live_url, moka, stripe_shop, screenshot
):
    pay(shopper, live_url, THREE_DS_CARD)

    # The order page sends the customer to the bank's page (the local server's challenge).
    expect(shopper.get_by_role("heading", name="3D Secure test authentication")).to_be_visible(
        timeout=PROCESSED_MS
    )
    assert shopper.url.startswith(stripe_shop.url + "/3ds/pi_")
    screenshot(shopper, "stripe-3ds-challenge")
    shopper.get_by_role("button", name="Complete authentication").click()

    expect(shopper.locator("#payment-outcome")).to_contain_text("Your bank confirmed the payment")
    assert shopper.url.startswith(f"{live_url}/payments/return/?payment_intent=pi_")
    screenshot(shopper, "stripe-3ds-returned")
    shopper.get_by_role("link", name="View order").click()
    expect(shopper.get_by_text("Thank you! Your payment was received")).to_be_visible(
        timeout=PROCESSED_MS
    )
    order = Order.objects.get()
    payment = Payment.objects.get(order=order)
    assert order.paid_at is not None and payment.status == Payment.Status.COMPLETED
    assert stripe_shop.intents[payment.gateway_reference]["status"] == "succeeded"


def test_a_failed_3d_secure_is_explained_and_the_order_cancelled(
    shopper, live_url, moka, stripe_shop
):
    pay(shopper, live_url, THREE_DS_CARD)
    expect(shopper.get_by_role("heading", name="3D Secure test authentication")).to_be_visible(
        timeout=PROCESSED_MS
    )

    shopper.get_by_role("button", name="Fail authentication").click()

    expect(shopper.locator("#payment-outcome")).to_contain_text("The payment was not confirmed")
    shopper.get_by_role("link", name="View order").click()
    expect(shopper.locator("#order-status")).to_have_text("Cancelled", timeout=PROCESSED_MS)
    assert Order.objects.get().status == OrderStatus.CANCELLED


def test_a_card_without_3d_secure_is_paid_straight_away(shopper, live_url, moka, stripe_shop):
    pay(shopper, live_url, "4242 4242 4242 4242")

    expect(shopper.get_by_text("Thank you! Your payment was received")).to_be_visible(
        timeout=PROCESSED_MS
    )
    payment = Payment.objects.get()
    assert (payment.card_brand, payment.card_last4) == ("visa", "4242")
