"""A customer saves a product to the wishlist from its page and finds it on the wishlist page;
a customer deletes the account, confirming with the password, and cannot sign in again."""

from playwright.sync_api import expect

from customers.models import WishlistItem
from tests.customers.factories import make_address
from tests.e2e import helpers
from tests.factories import ProductFactory, StockItemFactory


def test_a_product_saved_from_its_page_is_on_the_wishlist(logged_in_page, live_url, customer):
    page = logged_in_page
    product = StockItemFactory(product=ProductFactory(name="Oak Reading Chair"), quantity=3).product

    page.goto(live_url + product.get_absolute_url())
    page.get_by_role("button", name="Save to wishlist").click()

    expect(page.get_by_role("button", name="Saved to wishlist")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.goto(f"{live_url}/accounts/")
    page.get_by_role("link", name="Your wishlist").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your wishlist")
    item = page.locator(f"#wishlist-{product.pk}")
    expect(item.get_by_role("link", name="Oak Reading Chair")).to_be_visible()

    item.get_by_role("button", name="Remove").click()
    expect(page.get_by_text("Nothing saved yet")).to_be_visible()
    assert not WishlistItem.objects.filter(owner=customer).exists()


def test_a_customer_deletes_the_account_with_the_password(logged_in_page, live_url, customer):
    page = logged_in_page
    make_address(customer)

    page.goto(f"{live_url}/accounts/")
    page.get_by_role("link", name="Delete your account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete your account")
    page.get_by_label("Your password").fill("not-my-password")
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_text("That is not the account's password.")).to_be_visible()

    page.get_by_label("Your password").fill(helpers.PASSWORD)
    page.get_by_role("button", name="Delete my account").click()

    expect(page.get_by_text("Your account was deleted")).to_be_visible()
    expect(helpers.account_nav(page).get_by_role("link", name="Log in")).to_be_visible()
    page.goto(f"{live_url}/accounts/login/")
    page.get_by_label("Username").fill(customer.username)
    page.get_by_label("Password").fill(helpers.PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(helpers.account_nav(page).get_by_role("link", name="Log in")).to_be_visible()
