"""Buying in the browser: cart, registration, checkout with the test cards, order tracking.

On PostgreSQL with Redis (CI) a real Celery worker processes the orders, so the order page
is seen advancing by itself; elsewhere Celery runs eagerly inside the live server and the
order is already processed when its page first shows (the same pages, one step sooner).
"""

import io
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from orders.models import Order
from tests.e2e import helpers
from tests.factories import CategoryFactory, ProductFactory, StockItemFactory
from tests.utils import WITH_WORKER

pytestmark = pytest.mark.django_db(transaction=True)
# The order page refreshes itself every 3 seconds while a worker processes the order.
PROCESSED_MS = 30_000


@pytest.fixture
def worker():
    if not WITH_WORKER:
        yield None
        return
    from tests.worker import running_worker

    with running_worker(concurrency=1) as running:
        yield running


@pytest.fixture
def products():
    kitchen = CategoryFactory(name="Kitchen", slug="kitchen")
    moka = ProductFactory(
        name="Bialetti Moka Pot", slug="moka-pot", category=kitchen, price=Decimal("34.90")
    )
    kettle = ProductFactory(
        name="Stovetop Kettle", slug="kettle", category=kitchen, price=Decimal("49.00")
    )
    StockItemFactory(product=moka, quantity=10)
    StockItemFactory(product=kettle, quantity=2)
    return {"moka": moka, "kettle": kettle}


def fill_checkout(page, card: str):
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Address", exact=True).fill("12 Main Street")
    page.get_by_label("City").fill("Berlin")
    page.get_by_label("Postal code").fill("10115")
    page.get_by_label("Country code").fill("DE")
    page.get_by_label("Card number").fill(card)
    page.get_by_role("button", name="Place order").click()


def cart_row(page, product):
    return page.locator(f"tr[data-product='{product.id}']")


def test_a_visitor_fills_a_cart_registers_pays_and_follows_the_order(
    page, live_url, products, worker, screenshot
):
    helpers.add_to_cart(page, live_url, slug="moka-pot")
    helpers.add_to_cart(page, live_url, slug="kettle")
    expect(page.get_by_role("table")).to_contain_text("Stovetop Kettle")

    row = cart_row(page, products["moka"])
    row.get_by_label("Quantity of Bialetti Moka Pot").fill("2")
    row.get_by_role("button", name="Update").click()
    expect(page.locator("#cart-total")).to_contain_text("118.80")

    helpers.register(page, live_url, username="grace")
    page.goto(f"{live_url}/cart/")
    expect(page.locator("#cart-total")).to_contain_text("118.80")  # the cart came along
    page.get_by_role("link", name="Proceed to checkout").click()
    screenshot(page, "checkout-desktop")
    fill_checkout(page, "4242 4242 4242 4242")

    expect(page.get_by_role("heading", name="Order NW-")).to_be_visible()
    expect(page.locator("#order-status")).to_have_text("Processing", timeout=PROCESSED_MS)
    expect(page.get_by_text("Thank you! Your payment was received")).to_be_visible(
        timeout=PROCESSED_MS
    )
    screenshot(page, "order-paid-desktop")
    order = Order.objects.get(user__username="grace")
    assert order.total == Decimal("118.80") and order.paid_at is not None

    page.reload()  # the paid order's invoice is linked from its page
    with page.expect_download() as download:
        page.get_by_role("link", name="Download invoice (PDF)").click()
    pdf = download.value.path().read_bytes()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert pdf.startswith(b"%PDF") and order.number in text and "118.80" in text

    page.get_by_role("link", name="All your orders").click()
    expect(page.get_by_role("table")).to_contain_text(order.number)
    expect(page.get_by_role("table")).to_contain_text("Processing")


def test_a_declined_card_is_explained_and_the_cart_is_kept(
    logged_in_page, live_url, products, worker
):
    page = logged_in_page
    helpers.add_to_cart(page, live_url, slug="moka-pot", quantity=3)
    page.get_by_role("link", name="Proceed to checkout").click()

    fill_checkout(page, "4000 0000 0000 0002")

    expect(page.get_by_text("Your payment did not go through")).to_be_visible(timeout=PROCESSED_MS)
    expect(page.locator("#order-status")).to_have_text("Cancelled")
    page.get_by_role("link", name="your cart").click()
    expect(
        cart_row(page, products["moka"]).get_by_label("Quantity of Bialetti Moka Pot")
    ).to_have_value("3")


def test_an_unknown_card_number_never_leaves_the_page(logged_in_page, live_url, products):
    page = logged_in_page
    helpers.add_to_cart(page, live_url, slug="moka-pot")
    page.get_by_role("link", name="Proceed to checkout").click()

    fill_checkout(page, "1234 5678 9012 3456")

    expect(page.locator("#card-error")).to_contain_text("not accepted")
    assert not Order.objects.exists()


def test_asking_for_more_than_the_stock_shows_the_message(logged_in_page, live_url, products):
    page = logged_in_page
    helpers.add_to_cart(page, live_url, slug="kettle", quantity=2)
    row = cart_row(page, products["kettle"])

    row.get_by_label("Quantity of Stovetop Kettle").fill("5")
    row.get_by_role("button", name="Update").click()

    expect(page.get_by_role("status")).to_contain_text("Only 2 of Stovetop Kettle left in stock.")
    expect(row.get_by_label("Quantity of Stovetop Kettle")).to_have_value("2")


def test_the_checkout_page_on_a_phone(phone_page, live_url, products, customer, screenshot):
    helpers.log_in(phone_page, live_url, username=customer.username)
    helpers.add_to_cart(phone_page, live_url, slug="moka-pot")
    phone_page.get_by_role("link", name="Proceed to checkout").click()
    expect(phone_page.get_by_label("Card number")).to_be_visible()
    screenshot(phone_page, "checkout-phone")
