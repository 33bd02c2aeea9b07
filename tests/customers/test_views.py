"""The customer's pages: the account overview, the address book, password change and reset."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from customers.models import Address
from tests.customers.factories import ADDRESS, make_address
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
NEW_PASSWORD = "a-new-long-passphrase-7"


@pytest.fixture
def customer():
    return UserFactory(username="dana", email="dana@example.com", password=PASSWORD)


@pytest.fixture
def signed_in(client, customer):
    client.force_login(customer)
    return client


def reset_link_of(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/password-reset/[^\s\"]+/)", message.body)[1]


@pytest.mark.parametrize("name", ["account", "address-list", "address-create", "password_change"])
def test_the_account_pages_ask_an_anonymous_visitor_to_log_in(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_the_account_page_shows_the_profile_and_links_to_the_rest(signed_in, customer):
    make_address(customer)

    html = signed_in.get("/accounts/").content.decode()

    assert "dana@example.com" in html
    assert ADDRESS["line1"] in html
    for link in ("/orders/", "/accounts/addresses/", "/accounts/password-change/"):
        assert f'href="{link}"' in html


def test_a_customer_adds_an_address_through_the_form(signed_in, customer):
    response = signed_in.post(reverse("address-create"), {**ADDRESS, "country": "at"})

    assert response.status_code == 302
    address = Address.objects.get(owner=customer)
    assert (address.country, address.is_default) == ("AT", True)


def test_the_form_explains_a_bad_country_and_saves_nothing(signed_in):
    response = signed_in.post(reverse("address-create"), {**ADDRESS, "country": "Austria"})

    assert response.status_code == 200
    assert "two-letter country code" in response.content.decode()
    assert not Address.objects.exists()


def test_a_customer_edits_makes_default_and_deletes_addresses(signed_in, customer):
    first = make_address(customer)
    second = make_address(customer)

    signed_in.post(reverse("address-edit", args=[second.pk]), {**ADDRESS, "city": "Kiel"})
    signed_in.post(reverse("address-default", args=[second.pk]))
    signed_in.post(reverse("address-delete", args=[first.pk]))

    (remaining,) = Address.objects.filter(owner=customer)
    assert (remaining.pk, remaining.city, remaining.is_default) == (second.pk, "Kiel", True)


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("address-edit", "get"),
        ("address-edit", "post"),
        ("address-delete", "post"),
        ("address-default", "post"),
    ],
)
def test_another_customers_address_is_a_404_on_every_page(signed_in, name, method):
    theirs = make_address(UserFactory())

    response = getattr(signed_in, method)(reverse(name, args=[theirs.pk]), ADDRESS)

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert (theirs.city, theirs.is_default) == (ADDRESS["city"], True)


def test_a_signed_in_customer_changes_the_password(signed_in, customer):
    response = signed_in.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD)
    assert signed_in.get("/accounts/").status_code == 200  # still signed in


def test_a_wrong_old_password_changes_nothing(signed_in, customer):
    response = signed_in.post(
        reverse("password_change"),
        {"old_password": "guess", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)


def test_a_reset_mail_has_a_text_and_an_html_part_and_names_the_shop(client, customer, settings):
    response = client.post(reverse("password_reset"), {"email": "dana@example.com"})

    assert response["Location"] == reverse("password_reset_done")
    (message,) = mail.outbox
    assert message.to == ["dana@example.com"]
    assert settings.SHOP_NAME in message.subject
    assert message.alternatives[0][1] == "text/html"
    assert reset_link_of(message) in message.alternatives[0][0]


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})

    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_a_reset_link_works_once(client, customer):
    client.post(reverse("password_reset"), {"email": customer.email})
    link = reset_link_of(mail.outbox[0])

    form_page = client.get(link, follow=True)
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD)

    again = client.get(link, follow=True)
    assert "already been used or has expired" in again.content.decode()
    assert again.context["validlink"] is False
