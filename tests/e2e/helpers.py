"""Steps shared by browser tests: find the browser, register, log in, log out, and the checks
a person would otherwise make by eye (labels, contrast)."""

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


# Form fields without a label, and images without a text alternative, in the page.
UNLABELLED = """() => {
  const fields = [...document.querySelectorAll('input, select, textarea')].filter(
    (el) => el.type !== 'hidden' && !el.labels.length && !el.getAttribute('aria-label'));
  const images = [...document.querySelectorAll('svg[role=img], img')].filter(
    (el) => !(el.getAttribute('aria-label') || el.getAttribute('alt')));
  return [...fields, ...images].map((el) => el.outerHTML.slice(0, 80));
}"""

# Text whose contrast with its background is below WCAG AA (4.5:1, or 3:1 for large text).
# Text over a gradient or an image is left out: its background has no single colour.
LOW_CONTRAST = """() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const s = getComputedStyle(el);
      if (s.backgroundImage !== 'none') return null;
      const c = rgb(s.backgroundColor);
      if (c.length === 3 || c[3] === 1) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const bad = [];
  for (const el of document.querySelectorAll('body *:not(svg):not(svg *)')) {
    const text = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!text || !el.checkVisibility() || el.closest('.visually-hidden, .skip-link')) continue;
    const s = getComputedStyle(el);
    const bg = background(el);
    if (!bg) continue;
    const [l1, l2] = [lum(rgb(s.color)), lum(bg)].sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(s.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
    const what = `${el.tagName} "${el.textContent.trim().slice(0, 30)}"`;
    if (ratio < (large ? 3 : 4.5)) bad.push(`${what} ${ratio.toFixed(2)}`);
  }
  return bad;
}"""


def horizontal_overflow(page: Page) -> int:
    """How many pixels the page is wider than the screen (0 or less: it fits)."""
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def expect_labelled_and_legible(page: Page, name: str):
    """Every field of ``page`` labelled, every image described, all text at WCAG AA contrast."""
    assert page.evaluate(UNLABELLED) == [], f"{name} has unlabelled fields or images"
    assert page.evaluate(LOW_CONTRAST) == [], f"{name} has text below WCAG AA contrast"


def pictures_shown(page: Page) -> int:
    """Scroll through the page so lazy pictures load, wait for them, and return how many product
    pictures were drawn; a picture that failed to load (a missing rendition) fails the test."""
    page.evaluate(
        """async () => {
            for (let y = 0; y < document.body.scrollHeight; y += window.innerHeight / 2) {
                window.scrollTo(0, y);
                await new Promise((done) => requestAnimationFrame(done));
            }
            window.scrollTo(0, 0);
        }"""
    )
    page.wait_for_function(
        "Array.from(document.querySelectorAll('picture img')).every((img) => img.complete)",
        timeout=60_000,
    )
    broken = page.evaluate(
        "Array.from(document.querySelectorAll('picture img'))"
        ".filter((img) => img.naturalWidth === 0).map((img) => img.currentSrc || img.src)"
    )
    assert broken == [], f"pictures that did not load: {broken}"
    return page.locator("picture img").count()
