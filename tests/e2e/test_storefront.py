"""A customer browsing the shop in a real browser: categories, search, filters, a product,
and an account."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.e2e import helpers
from tests.factories import CategoryFactory, ProductFactory, StockItemFactory


@pytest.fixture
def catalog(transactional_db):
    electronics = CategoryFactory(name="Electronics", slug="electronics", is_featured=True)
    phones = CategoryFactory(name="Phones", slug="phones", parent=electronics)
    home = CategoryFactory(name="Home & kitchen", slug="home", is_featured=True)
    kitchen = CategoryFactory(name="Kitchen", slug="kitchen", parent=home)
    products = {
        "phone": ProductFactory(
            name="Fairphone 5",
            slug="fairphone-5",
            category=phones,
            price=Decimal("699.00"),
            attributes={"color": "black", "storage_gb": 256},
            popularity=90,
        ),
        "cheap_phone": ProductFactory(
            name="Nokia Lite",
            slug="nokia-lite",
            category=phones,
            price=Decimal("149.00"),
            popularity=40,
        ),
        "kettle": ProductFactory(
            name="Electric Kettle",
            slug="electric-kettle",
            category=kitchen,
            price=Decimal("39.90"),
            popularity=70,
        ),
    }
    StockItemFactory(product=products["phone"], quantity=5, reserved=2)
    StockItemFactory(product=products["cheap_phone"], quantity=0)
    StockItemFactory(product=products["kettle"], quantity=40)
    return products


def card_titles(page):
    return page.locator(".results .card-title").all_inner_texts()


def test_browse_a_category_from_the_home_page(page, live_url, catalog):
    page.goto(live_url)
    page.get_by_role("region", name="Shop by category").get_by_role(
        "link", name="Electronics"
    ).first.click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Electronics")
    assert sorted(card_titles(page)) == ["Fairphone 5", "Nokia Lite"]
    # The category tree opens the current category; its child narrows the list.
    tree = page.get_by_role("complementary", name="Filters")
    tree.get_by_role("link", name="Phones").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Phones")
    expect(tree.get_by_role("link", name="Phones")).to_have_attribute("aria-current", "page")
    assert "category=phones" in page.url


def test_search_from_the_header(page, live_url, catalog):
    page.goto(live_url)
    page.get_by_role("searchbox", name="Search products").fill("kettle")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Results for “kettle”")
    assert card_titles(page) == ["Electric Kettle"]
    # The search box still shows what was typed.
    expect(page.get_by_role("searchbox", name="Search products")).to_have_value("kettle")


def test_filter_by_price_keeps_the_filter_in_the_address(page, live_url, catalog):
    page.goto(f"{live_url}/products/")
    page.get_by_label("From", exact=True).fill("100")
    page.get_by_label("To", exact=True).fill("500")
    page.get_by_role("button", name="Apply filters").click()

    expect(page.locator(".result-count")).to_have_text("1 product")
    assert card_titles(page) == ["Nokia Lite"]
    assert "min_price=100" in page.url and "max_price=500" in page.url
    # Empty fields are left out of the shareable address.
    assert "search=" not in page.url

    # A range that cannot match is explained, and the typed values stay.
    page.get_by_label("From", exact=True).fill("500")
    page.get_by_label("To", exact=True).fill("100")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("alert")).to_contain_text("Maximum price")
    expect(page.get_by_label("From", exact=True)).to_have_value("500")


def test_attribute_checkboxes_narrow_the_list(page, live_url, catalog):
    page.goto(f"{live_url}/products/?category=phones")
    filters = page.get_by_role("complementary", name="Filters")
    filters.get_by_role("checkbox", name="black").check()
    filters.get_by_role("button", name="Apply filters").click()

    assert card_titles(page) == ["Fairphone 5"]
    assert "attr_color=black" in page.url and "category=phones" in page.url
    expect(filters.get_by_role("checkbox", name="black")).to_be_checked()


def test_open_a_product_and_see_its_availability(page, live_url, catalog):
    page.goto(f"{live_url}/products/?category=phones&ordering=-price")
    page.get_by_role("link", name=re.compile("Fairphone 5")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Fairphone 5")
    expect(page.locator(".product-price")).to_have_text("€699.00")
    expect(page.locator("#availability")).to_have_text("Only 3 left")
    quantity = page.get_by_label("Quantity")
    expect(quantity).to_have_attribute("max", "3")
    expect(page.get_by_role("button", name="Add to cart")).to_be_enabled()
    expect(page.get_by_role("main")).to_contain_text("Storage (GB)")

    page.goto(f"{live_url}/products/nokia-lite/")
    expect(page.locator("#availability")).to_have_text("Out of stock")
    expect(page.get_by_role("button", name="Add to cart")).to_have_count(0)


def test_register_log_out_and_log_in_again(page, live_url, catalog):
    helpers.register(page, live_url, username="newcomer")
    expect(page.get_by_role("status").first).to_contain_text("Welcome, newcomer!")
    assert get_user_model().objects.filter(username="newcomer").exists()

    helpers.log_out(page)
    expect(page.get_by_role("status").first).to_contain_text("You have been logged out")

    # Logging in from a product page brings the customer back to it.
    page.goto(f"{live_url}/products/electric-kettle/")
    helpers.account_nav(page).get_by_role("link", name="Log in").click()
    page.get_by_label("Username").fill("newcomer")
    page.get_by_label("Password").fill(helpers.PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in").click()
    helpers.expect_logged_in(page, "newcomer")
    assert page.url == f"{live_url}/products/electric-kettle/"


def test_registration_errors_are_shown_next_to_the_fields(page, live_url, transactional_db):
    page.goto(f"{live_url}/accounts/register/")
    page.get_by_label("Username").fill("shopper")
    page.get_by_label("Email address").fill("not-an-email")
    page.get_by_label("Password", exact=True).fill("a-long-passphrase-42")
    page.get_by_label("Repeat the password").fill("a-different-one-42")
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("alert")).to_contain_text("Please correct the fields marked below")
    expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
    expect(page.get_by_text("The two passwords do not match.")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value("shopper")
    expect(page.get_by_label("Email address")).to_have_value("not-an-email")


def test_keyboard_users_can_skip_to_the_content_and_see_focus(page, live_url, catalog):
    page.goto(live_url)
    page.keyboard.press("Tab")

    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")

    # The focused element wears the shop's focus ring, not a faint browser default.
    page.keyboard.press("Tab")
    ring = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineColor, s.outlineWidth]; })()"
    )
    assert ring == ["solid", "rgb(242, 169, 0)", "3px"]
