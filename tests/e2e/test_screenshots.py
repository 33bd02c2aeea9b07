"""Screenshots of the main pages at phone and desktop widths, with the checks a person
would otherwise make by eye: nothing wider than the screen, every field labelled, text
contrast at WCAG AA."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from catalog.models import Product
from tests.e2e import helpers

PAGES = [
    ("home", "/"),
    ("list", "/products/?category=electronics"),
    ("detail", None),  # the most popular product, known once the demo data exists
    ("login", "/accounts/login/"),
    ("register", "/accounts/register/"),
    ("404", "/products/no-such-product/"),
    ("list-invalid-filter", "/products/?search=phone&min_price=cheap&attr_color=black"),
]

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
            saved = screenshot(tab, f"{name}-{device}")
            overflow = tab.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} is {overflow}px wider than a {device} screen: {saved}"
            assert tab.evaluate(UNLABELLED) == [], f"{name} has unlabelled fields or images"
            assert tab.evaluate(LOW_CONTRAST) == [], f"{name} has text below WCAG AA contrast"
        # The header of a signed-in customer (a demo user from load_demo).
        helpers.log_in(tab, live_url, username="alice", password="alice-demo-2026")
        screenshot(tab, f"home-signed-in-{device}")
