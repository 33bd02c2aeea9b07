"""A customer who forgot the password gets a mail, chooses a new one through its link, and
finds the account page; the link does not work a second time."""

import email
import re
from email import policy

from playwright.sync_api import expect

from tests.customers.factories import make_address
from tests.e2e import helpers

NEW_PASSWORD = "a-new-long-passphrase-7"


def reset_link_in(mail_dir) -> str:
    """The link of the one mail the file-based backend wrote (it is read as a mail client
    reads it: the text part, decoded)."""
    (path,) = list(mail_dir.iterdir())
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"https?://\S+/accounts/password-reset/\S+/", text)[0]


def test_a_forgotten_password_is_reset_through_the_mailed_link(
    page, phone_page, live_url, customer, settings, tmp_path, screenshot
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    make_address(customer)

    page.goto(f"{live_url}/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(customer.email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your mail")

    link = reset_link_in(tmp_path)
    assert link.startswith(live_url)
    page.goto(link)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your new password is set")

    page.goto(link)
    expect(page.get_by_role("alert")).to_contain_text("already been used or has expired")

    for device, tab in (("desktop", page), ("phone", phone_page)):
        helpers.log_in(tab, live_url, username=customer.username, password=NEW_PASSWORD)
        tab.goto(f"{live_url}/accounts/")
        expect(tab.get_by_role("heading", level=1, name="Your account")).to_be_visible()
        expect(tab.get_by_text(customer.email)).to_be_visible()
        saved = screenshot(tab, f"account-{device}")
        assert helpers.horizontal_overflow(tab) <= 0, f"the account page is too wide: {saved}"
        helpers.expect_labelled_and_legible(tab, f"account-{device}")
