"""Steps shared by browser tests: find the browser, register, log in, log out."""

import os

import pytest
from playwright.sync_api import Page, expect

PASSWORD = "e2e-passphrase-2026"


def chromium_or_skip(path: str) -> str:
    """The browser to drive. Without it the browser tests are skipped, except where
    CHROMIUM_REQUIRED=1 (CI): there a missing browser must not pass as a green run."""
    if os.path.exists(path):
        return path
    message = f"Chromium not found at {path} (CI installs Debian's chromium)"
    if os.environ.get("CHROMIUM_REQUIRED") == "1":
        pytest.fail(f"{message}; CHROMIUM_REQUIRED=1 makes this an error", pytrace=False)
    pytest.skip(message)


def register(
    page: Page, live_url: str, *, username: str, email: str = "", password: str = PASSWORD
):
    """Create an account through the registration form; the visitor ends up logged in."""
    page.goto(f"{live_url}/accounts/register/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email address").fill(email or f"{username}@example.com")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Repeat the password").fill(password)
    page.get_by_role("button", name="Create account").click()
    expect_logged_in(page, username)


def log_in(page: Page, live_url: str, *, username: str, password: str = PASSWORD, next: str = ""):
    """Log in through the login form (``next`` is where to land afterwards)."""
    page.goto(f"{live_url}/accounts/login/" + (f"?next={next}" if next else ""))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("main").get_by_role("button", name="Log in").click()
    expect_logged_in(page, username)


def log_out(page: Page):
    account_nav(page).get_by_role("button", name="Log out").click()
    expect(account_nav(page).get_by_role("link", name="Log in")).to_be_visible()


def account_nav(page: Page):
    """The account links in the header."""
    return page.get_by_role("navigation", name="Account", exact=True)


def expect_logged_in(page: Page, username: str):
    expect(account_nav(page)).to_contain_text(f"Hi, {username}")


def add_to_cart(page: Page, live_url: str, *, slug: str, quantity: int = 1):
    """Open a product page and submit its add-to-cart form (checkout flows start here)."""
    page.goto(f"{live_url}/products/{slug}/")
    page.get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
