"""A customer browsing the shop in a real browser: categories, search, filters, a product,
and an account.

Each test is a journey through several pages rather than one check per test: every browser
test empties the whole database afterwards (the live server cannot share the test's
transaction), which costs a second or two on PostgreSQL, and the set must stay fast."""

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


def test_finding_products_by_category_search_and_filters(page, live_url, catalog):
    # From the home page into a category, then down the tree to a sub-category.
    page.goto(live_url)
    page.get_by_role("region", name="Shop by category").get_by_role(
        "link", name="Electronics"
    ).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Electronics")
    assert sorted(card_titles(page)) == ["Fairphone 5", "Nokia Lite"]
    filters = page.get_by_role("complementary", name="Filters")
    filters.get_by_role("link", name="Phones").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Phones")
    expect(filters.get_by_role("link", name="Phones")).to_have_attribute("aria-current", "page")
    assert "category=phones" in page.url

    # Attribute checkboxes narrow the list and stay ticked.
    filters.get_by_role("checkbox", name="black").check()
    filters.get_by_role("button", name="Apply filters").click()
    assert card_titles(page) == ["Fairphone 5"]
    assert "attr_color=black" in page.url and "category=phones" in page.url
    expect(filters.get_by_role("checkbox", name="black")).to_be_checked()

    # Search from the header; the box keeps what was typed.
    search = page.get_by_role("searchbox", name="Search products")
    search.fill("kettle")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Results for “kettle”")
    assert card_titles(page) == ["Electric Kettle"]
    expect(search).to_have_value("kettle")

    # A price range, kept in the shareable address without the empty fields.
    page.goto(f"{live_url}/products/")
    page.get_by_label("From", exact=True).fill("100")
    page.get_by_label("To", exact=True).fill("500")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator(".result-count")).to_have_text("1 product")
    assert card_titles(page) == ["Nokia Lite"]
    assert "min_price=100" in page.url and "max_price=500" in page.url
    assert "search=" not in page.url

    # A range that cannot match is explained, and the typed values stay.
    page.get_by_label("From", exact=True).fill("500")
    page.get_by_label("To", exact=True).fill("100")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("alert")).to_contain_text("Maximum price")
    expect(page.get_by_label("From", exact=True)).to_have_value("500")


def test_a_product_page_shows_availability_and_works_with_the_keyboard(page, live_url, catalog):
    page.goto(f"{live_url}/products/?category=phones&ordering=-price")
    page.get_by_role("link", name=re.compile("Fairphone 5")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Fairphone 5")
    expect(page.locator(".product-price")).to_have_text("€699.00")
    expect(page.locator("#availability")).to_have_text("Only 3 left")
    expect(page.get_by_label("Quantity")).to_have_attribute("max", "3")
    expect(page.get_by_role("button", name="Add to cart")).to_be_enabled()
    expect(page.get_by_role("main")).to_contain_text("Storage (GB)")

    page.goto(f"{live_url}/products/nokia-lite/")
    expect(page.locator("#availability")).to_have_text("Out of stock")
    expect(page.get_by_role("button", name="Add to cart")).to_have_count(0)

    # Keyboard users can skip the header, and see where the focus is.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    page.keyboard.press("Tab")
    ring = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineColor, s.outlineWidth]; })()"
    )
    assert ring == ["solid", "rgb(242, 169, 0)", "3px"]  # the shop's ring, not a faint default


def test_register_log_out_and_log_in_again(page, live_url, catalog):
    # A first attempt with mistakes: each is explained next to its field, nothing is lost.
    page.goto(f"{live_url}/accounts/register/")
    page.get_by_label("Username").fill("newcomer")
    page.get_by_label("Email address").fill("not-an-email")
    page.get_by_label("Password", exact=True).fill("a-long-passphrase-42")
    page.get_by_label("Repeat the password").fill("a-different-one-42")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("Please correct the fields marked below")
    expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
    expect(page.get_by_text("The two passwords do not match.")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value("newcomer")
    expect(page.get_by_label("Email address")).to_have_value("not-an-email")
    assert not get_user_model().objects.filter(username="newcomer").exists()

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
