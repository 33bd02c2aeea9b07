"""Screenshots of the main pages at phone and desktop widths, with the checks a person
would otherwise make by eye: nothing wider than the screen, every field labelled, text
contrast at WCAG AA."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from catalog.models import Product
from tests.e2e import helpers

# Pages that show product pictures (the demo draws one for every product).
WITH_PICTURES = {"home", "list", "detail"}
PAGES = [
    ("home", "/"),
    ("list", "/products/?category=electronics"),
    ("detail", None),  # the most popular product, known once the demo data exists
    ("login", "/accounts/login/"),
    ("register", "/accounts/register/"),
    ("404", "/products/no-such-product/"),
    ("list-invalid-filter", "/products/?search=phone&min_price=cheap&attr_color=black"),
]


@pytest.fixture
def demo_shop(transactional_db):
    call_command("load_demo", products=60, no_progress=True, verbosity=0)
    return Product.objects.order_by("-popularity", "id").first()


def test_main_pages_fit_the_screen_and_are_labelled(
    page, phone_page, live_url, demo_shop, screenshot
):
    for device, tab in (("phone", phone_page), ("desktop", page)):
        for name, path in PAGES:
            tab.goto(live_url + (path or demo_shop.get_absolute_url()))
            expect(tab.get_by_role("heading", level=1)).to_be_visible()
            if name in WITH_PICTURES:
                assert helpers.pictures_shown(tab) > 0, f"{name} shows no product picture"
            saved = screenshot(tab, f"{name}-{device}")
            overflow = helpers.horizontal_overflow(tab)
            assert overflow <= 0, f"{name} is {overflow}px wider than a {device} screen: {saved}"
            helpers.expect_labelled_and_legible(tab, name)
        # The header of a signed-in customer (a demo user from load_demo).
        helpers.log_in(tab, live_url, username="alice", password="alice-demo-2026")
        screenshot(tab, f"home-signed-in-{device}")


ACCOUNT_PAGES = [
    ("account", "/accounts/"),
    ("account-wishlist", "/accounts/wishlist/"),
    ("account-addresses", "/accounts/addresses/"),
    ("account-delete", "/accounts/delete/"),
]


@pytest.fixture
def regular_customer(customer):
    """A customer with an address, a placed order and two saved products."""
    from customers import wishlist
    from orders import services as orders
    from tests.customers.factories import ADDRESS, make_address
    from tests.factories import ProductFactory, StockItemFactory

    make_address(customer)
    chair = StockItemFactory(product=ProductFactory(name="Oak Reading Chair"), quantity=5).product
    lamp = StockItemFactory(product=ProductFactory(name="Brass Desk Lamp"), quantity=0).product
    orders.order_place(
        user=customer, shipping_address=ADDRESS, payment_token="tok_visa", lines=[(chair.pk, 1)]
    )
    for product in (chair, lamp):
        wishlist.wishlist_add(owner=customer, product=product)
    return customer, lamp


def test_account_pages_fit_the_screen_and_are_labelled(
    page, phone_page, live_url, regular_customer, screenshot
):
    customer, sold_out = regular_customer
    for device, tab in (("phone", phone_page), ("desktop", page)):
        helpers.log_in(tab, live_url, username=customer.username, password=helpers.PASSWORD)
        for name, path in [*ACCOUNT_PAGES, ("detail-sold-out", sold_out.get_absolute_url())]:
            tab.goto(live_url + path)
            expect(tab.get_by_role("heading", level=1)).to_be_visible()
            saved = screenshot(tab, f"{name}-{device}")
            overflow = helpers.horizontal_overflow(tab)
            assert overflow <= 0, f"{name} is {overflow}px wider than a {device} screen: {saved}"
            helpers.expect_labelled_and_legible(tab, name)
