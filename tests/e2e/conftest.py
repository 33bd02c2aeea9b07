"""The browser-test harness: a live Django server driven by Playwright in Debian's Chromium.

Fixtures for every e2e test module (tests/e2e/test_*.py):

- ``live_url``: the base address of the live server, e.g. ``http://localhost:40123``.
- ``page``: a fresh Playwright page (own cookies) at desktop size; ``phone_page`` at phone size.
- ``customer``: a saved user whose password is ``helpers.PASSWORD``.
- ``logged_in_page``: ``page`` already logged in as ``customer`` through the login form.
- ``screenshot``: ``screenshot(page, "name")`` saves a full-page PNG under ``SCREENSHOT_DIR``.

The browser is never downloaded: tests use /usr/bin/chromium and skip without it, unless
CHROMIUM_REQUIRED=1 (as in CI), where a missing browser is a failure.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings

from tests.e2e import helpers
from tests.factories import UserFactory

# Playwright's sync API drives the browser from an asyncio event loop that it runs in the
# test's own thread. Django sees that running loop and refuses every ORM call from the test
# (SynchronousOnlyOperation) although the calls are ordinary blocking ones made between two
# browser steps, never from inside a coroutine. Django documents this variable for such
# environments (notebooks, REPLs with a loop); it must be set before the first query.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SCREENSHOT_DIR = Path(
    os.environ.get("SCREENSHOT_DIR", Path(settings.BASE_DIR) / "artifacts" / "screenshots")
)
# Fail fast: a page of this shop loads in milliseconds; waiting 30 s hides broken selectors.
TIMEOUT_MS = 5_000
# Navigation gets more room: the first request of a run may import heavy modules.
NAVIGATION_TIMEOUT_MS = 20_000

_saved_screenshots: list[Path] = []


@pytest.hookimpl(tryfirst=True)  # before ``-m e2e`` selects by marker
def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    # Lets the ``page`` fixture know whether the test failed, to keep a screenshot of it.
    setattr(item, f"_report_{report.when}", report)
    return report


def pytest_terminal_summary(terminalreporter):
    if _saved_screenshots:
        terminalreporter.write_sep("-", "browser screenshots")
        terminalreporter.write_line(f"{len(_saved_screenshots)} saved under {SCREENSHOT_DIR}")


@pytest.fixture(scope="package")
def browser():
    executable = helpers.chromium_or_skip(CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="package")
def _warm_urlconf():
    """Import every view module once (the live server runs in this process), so that the
    first page a test opens is not also the one paying for the imports."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018


@pytest.fixture
def live_url(live_server, _warm_urlconf) -> str:
    return live_server.url


def _new_page(request, browser, viewport):
    context = browser.new_context(viewport=viewport, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    failed = getattr(request.node, "_report_call", None)
    if failed is not None and failed.failed:
        path = SCREENSHOT_DIR / "failures" / f"{request.node.name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot of the failure: {path}")
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


@pytest.fixture
def page(request, browser, live_url):
    yield from _new_page(request, browser, DESKTOP)


@pytest.fixture
def phone_page(request, browser, live_url):
    yield from _new_page(request, browser, PHONE)


@pytest.fixture
def customer(transactional_db):
    return UserFactory(username="e2e-customer", password=helpers.PASSWORD)


@pytest.fixture
def logged_in_page(page, live_url, customer):
    helpers.log_in(page, live_url, username=customer.username, password=helpers.PASSWORD)
    return page


@pytest.fixture
def screenshot():
    def save(page, name: str) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        _saved_screenshots.append(path)
        return path

    return save
