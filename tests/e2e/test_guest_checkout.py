"""Buying without an account and following the order through the mailed link; a customer
saving an address at checkout and choosing it again with one click the next time."""

import email
import re
from decimal import Decimal
from email import policy

import pytest
from playwright.sync_api import expect

from customers.models import Address
from orders.models import Order
from tests.customers.factories import make_address
from tests.e2e import helpers
from tests.factories import CategoryFactory, ProductFactory, StockItemFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def moka():
    kitchen = CategoryFactory(name="Kitchen", slug="kitchen")
    product = ProductFactory(
        name="Bialetti Moka Pot", slug="moka-pot", category=kitchen, price=Decimal("34.90")
    )
    StockItemFactory(product=product, quantity=10)
    return product


@pytest.fixture
def mail_dir(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    return tmp_path


def mails_in(mail_dir) -> list:
    """Every mail the file-based backend wrote, as a mail client reads them."""
    return [
        email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(mail_dir.iterdir())
    ]


def fill_address(page, *, name="Ada Lovelace", city="Berlin"):
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Address", exact=True).fill("12 Main Street")
    page.get_by_label("City").fill(city)
    page.get_by_label("Postal code").fill("10115")
    page.get_by_label("Country code").fill("DE")


def test_a_guest_buys_and_opens_the_order_from_the_mailed_link(
    page, phone_page, live_url, moka, mail_dir, screenshot
):
    helpers.add_to_cart(page, live_url, slug="moka-pot")
    page.get_by_role("link", name="Proceed to checkout").click()
    expect(page.get_by_text("Checking out without an account")).to_be_visible()
    page.get_by_label("Email address").fill("ada@example.com")
    fill_address(page)
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    screenshot(page, "guest-checkout-desktop")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", name="Order NW-")).to_be_visible()
    order = Order.objects.get()
    assert order.user is None and order.email == "ada@example.com"

    [placed] = [m for m in mails_in(mail_dir) if "We received your order" in m["Subject"]]
    assert placed["To"] == "ada@example.com"
    text = placed.get_body(preferencelist=("plain",)).get_content()
    assert text.startswith("Hello Ada Lovelace,")
    link = re.search(r"https?://\S+/orders/\S+\?key=\S+", text)[0]
    # SHOP_URL is where customers reach the shop; the live server stands in for it here.
    path = link.split("/orders/", 1)[1]

    # Another device, no account, no session: the link alone opens the order.
    phone_page.goto(f"{live_url}/orders/{order.number}/")
    expect(phone_page.get_by_role("heading", name="Log in")).to_be_visible()
    phone_page.goto(f"{live_url}/orders/{path}")
    expect(phone_page.get_by_role("heading", name=f"Order {order.number}")).to_be_visible()
    assert "key=" not in phone_page.url  # the key does not stay in the address bar
    expect(phone_page.get_by_text("Thank you! Your payment was received")).to_be_visible()
    screenshot(phone_page, "guest-order-phone")
    assert helpers.horizontal_overflow(phone_page) <= 0


def test_a_customer_saves_an_address_at_checkout_and_reuses_it(
    logged_in_page, live_url, moka, customer, screenshot
):
    page = logged_in_page
    make_address(customer, name="Ada at work", city="Potsdam", postal_code="14467")

    helpers.add_to_cart(page, live_url, slug="moka-pot")
    page.get_by_role("link", name="Proceed to checkout").click()
    expect(page.get_by_label("City")).to_have_value("Potsdam")  # the default, filled in
    fill_address(page, name="Ada at home", city="Berlin")
    page.get_by_label("Save this address to my address book").check()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", name="Order NW-")).to_be_visible()
    expect(page.get_by_text("The address was saved to your address book.")).to_be_visible()
    assert Address.objects.filter(owner=customer).count() == 2

    helpers.add_to_cart(page, live_url, slug="moka-pot")
    page.get_by_role("link", name="Proceed to checkout").click()
    saved = page.locator("#saved-addresses")
    expect(saved).to_contain_text("Ada at home")
    saved.get_by_role("listitem").filter(has_text="Ada at home").get_by_role(
        "button", name="Deliver here"
    ).click()
    expect(page.get_by_label("Full name")).to_have_value("Ada at home")
    expect(page.get_by_label("City")).to_have_value("Berlin")
    screenshot(page, "checkout-saved-addresses-desktop")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", name="Order NW-")).to_be_visible()

    latest = Order.objects.filter(user=customer).first()
    assert latest.shipping_address["name"] == "Ada at home"
    assert latest.shipping_address["city"] == "Berlin"
