"""The priced checkout in the browser, at phone and desktop width: the delivery method and a
voucher re-price the summary in place, and a price that changed while the page was open is
shown before anything is charged.

The cart of every test: a moka pot (34.90, 19% VAT) and a field guide (12.50, a book: 7%),
47.40 of goods delivered to Germany, so standard delivery costs 4.90 (it is free from 50.00).
"""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from catalog.models import Product
from orders.models import Order
from pricing.models import Voucher
from tests.e2e import helpers
from tests.factories import CategoryFactory, ProductFactory, StockItemFactory

pytestmark = pytest.mark.django_db(transaction=True)
CARD = "4242 4242 4242 4242"


@pytest.fixture
def products():
    kitchen = CategoryFactory(name="Kitchen", slug="kitchen")
    books = CategoryFactory(name="Books", slug="books")
    moka = ProductFactory(
        name="Bialetti Moka Pot", slug="moka-pot", category=kitchen, price=Decimal("34.90")
    )
    guide = ProductFactory(
        name="Field Guide to Birds",
        slug="field-guide",
        category=books,
        price=Decimal("12.50"),
        tax_class=Product.TaxClass.REDUCED,
    )
    for product in (moka, guide):
        StockItemFactory(product=product, quantity=10)
    return {"moka": moka, "guide": guide}


@pytest.fixture(params=["phone", "desktop"])
def device(request) -> str:
    return request.param


@pytest.fixture
def checkout_page(request, device, live_url, customer, products):
    """The checkout page of a signed-in customer with the moka pot and the guide in the cart."""
    page = request.getfixturevalue("phone_page" if device == "phone" else "page")
    helpers.log_in(page, live_url, username=customer.username)
    helpers.add_to_cart(page, live_url, slug="moka-pot")
    helpers.add_to_cart(page, live_url, slug="field-guide")
    page.get_by_role("link", name="Proceed to checkout").click()
    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    # The page's script is running once it has removed the update button (the heading shows
    # before the scripts at the end of the page have run).
    expect(page.get_by_role("button", name="Update delivery and total")).to_have_count(0)
    return page


def summary(page):
    return page.get_by_role("complementary", name="Order summary")


def total(page):
    return page.locator("#summary-total")


def fill_address(page):
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Address", exact=True).fill("12 Main Street")
    page.get_by_label("City").fill("Berlin")
    page.get_by_label("Postal code").fill("10115")


def check_by_eye(page, name: str, screenshot):
    """What a person would check on the screenshot: it fits, it is labelled and legible."""
    page.evaluate("window.scrollTo(0, 0)")  # the summary sticks where the page was scrolled to
    saved = screenshot(page, name)
    assert helpers.horizontal_overflow(page) <= 0, f"{name} is wider than the screen: {saved}"
    helpers.expect_labelled_and_legible(page, name)


def test_choosing_express_delivery_reprices_the_summary_and_the_order(
    checkout_page, device, screenshot
):
    page = checkout_page
    expect(total(page)).to_have_text("€52.30")
    expect(summary(page)).to_contain_text("Standard delivery (3-5 days)")
    page.get_by_label("Card number").fill(CARD)  # typed before re-pricing: it must stay

    page.get_by_role("radio", name="Express delivery").check()

    expect(total(page)).to_have_text("€57.30")
    expect(summary(page)).to_contain_text("Express delivery (next day)")
    expect(summary(page)).to_contain_text("incl. 19% VAT €7.15")  # 5.57 goods + 1.58 shipping
    expect(summary(page)).to_contain_text("incl. 7% VAT €0.82")
    expect(page.get_by_role("radio", name="Express delivery")).to_be_checked()
    expect(page.get_by_role("button", name="Update delivery and total")).to_have_count(0)
    expect(page.get_by_label("Card number")).to_have_value(CARD)
    expect(page.get_by_role("status").filter(has_text="Total updated")).to_have_text(
        "Total updated: €57.30"
    )
    check_by_eye(page, f"checkout-express-{device}", screenshot)

    fill_address(page)
    page.get_by_role("button", name="Place order · €57.30").click()
    expect(page.get_by_role("heading", name="Order NW-")).to_be_visible()
    order = Order.objects.get()
    assert (order.shipping_method, order.shipping, order.total) == (
        "express",
        Decimal("9.90"),
        Decimal("57.30"),
    )


def test_a_voucher_is_refused_with_a_reason_or_applied_to_the_total(
    checkout_page, device, screenshot
):
    page = checkout_page
    Voucher.objects.create(code="SPRING10", kind="percentage", value=Decimal("10"))
    voucher = page.get_by_label("Voucher code")

    voucher.fill("NOPE")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#voucher-errors")).to_have_text("There is no such voucher.")
    expect(page.get_by_label("Voucher code")).to_have_attribute("aria-invalid", "true")
    expect(total(page)).to_have_text("€52.30")
    check_by_eye(page, f"checkout-voucher-refused-{device}", screenshot)

    page.get_by_label("Voucher code").fill("spring10")
    page.get_by_label("Voucher code").press("Enter")  # Enter applies the voucher, never pays

    expect(summary(page)).to_contain_text("Voucher SPRING10 applied.")
    expect(page.locator("#summary-discount")).to_have_text("−€4.74")
    expect(summary(page)).to_contain_text("Discount −€3.49")  # the moka pot's share
    expect(total(page)).to_have_text("€47.56")
    assert not Order.objects.exists()
    check_by_eye(page, f"checkout-voucher-{device}", screenshot)

    fill_address(page)
    page.get_by_label("Card number").fill(CARD)
    page.get_by_role("button", name="Place order · €47.56").click()
    expect(page.get_by_role("heading", name="Order NW-")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("Discount (voucher SPRING10)")
    order = Order.objects.get()
    assert (order.voucher, order.discount, order.total) == (
        "SPRING10",
        Decimal("4.74"),
        Decimal("47.56"),
    )


def test_a_price_changed_while_the_page_was_open_is_shown_before_anything_is_charged(
    checkout_page, device, products, screenshot
):
    page = checkout_page
    expect(total(page)).to_have_text("€52.30")
    fill_address(page)
    page.get_by_label("Card number").fill(CARD)
    Product.objects.filter(pk=products["moka"].pk).update(price=Decimal("44.90"))

    page.get_by_role("button", name="Place order").click()

    expect(page.get_by_role("alert").filter(has_text="The total has changed")).to_contain_text(
        "The total changed from €52.30 to €57.40 since you loaded this page."
        " Please check it and place the order again."
    )
    expect(total(page)).to_have_text("€57.40")
    expect(summary(page)).to_contain_text("Standard delivery (3-5 days) Free")
    expect(page.get_by_label("Full name")).to_have_value("Ada Lovelace")
    assert not Order.objects.exists()
    check_by_eye(page, f"checkout-price-changed-{device}", screenshot)

    page.get_by_label("Card number").fill(CARD)
    page.get_by_role("button", name="Place order · €57.40").click()

    expect(page.get_by_role("heading", name="Order NW-")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("Total €57.40")
    assert Order.objects.get().total == Decimal("57.40")
    check_by_eye(page, f"order-breakdown-{device}", screenshot)


def test_a_country_the_shop_does_not_deliver_to_is_explained_beside_the_field(
    checkout_page, device, screenshot
):
    page = checkout_page
    page.get_by_label("Country code").fill("US")
    page.get_by_label("Country code").press("Tab")  # leaving the field re-prices the page

    expect(page.locator("#field-country")).to_contain_text("The shop does not deliver to US.")
    expect(page.get_by_label("Country code")).to_have_attribute("aria-invalid", "true")
    expect(summary(page)).to_contain_text("shown once the address has a country we deliver to")
    expect(page.locator("#place-order")).to_have_text("Place order")
    expect(page.get_by_label("Phone (optional)")).to_be_focused()
    check_by_eye(page, f"checkout-country-{device}", screenshot)

    page.get_by_label("Country code").fill("fr")
    page.get_by_label("Country code").press("Tab")

    expect(summary(page)).to_contain_text("incl. 20% VAT")
    expect(page.locator("#field-country")).not_to_contain_text("does not deliver")
    expect(total(page)).to_have_text("€52.30")
