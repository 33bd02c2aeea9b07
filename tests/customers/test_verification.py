"""Verifying the e-mail address of a new account, and the guest orders that join it then."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail, signing
from django.core.cache import cache
from django.test import Client

from customers import services
from customers.models import EmailAddress
from orders import services as order_services
from orders.models import Order
from tests.factories import UserFactory
from tests.orders.conftest import ADDRESS

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-passphrase-42"


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()
    yield
    cache.clear()


def register(client, *, username="dana", email="dana@example.com"):
    return client.post(
        "/accounts/register/",
        {
            "username": username,
            "email": email,
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
    )


def mailed_verify_path() -> str:
    [message] = [m for m in mail.outbox if "Confirm your e-mail" in m.subject]
    assert message.alternatives and "Confirm my e-mail address" in message.alternatives[0][0]
    match = re.search(r"https?://[^/\s]+(/accounts/verify/\S+/)", message.body)
    assert match, message.body
    return match[1]


def guest_order(stocked, *, email):
    product = stocked(quantity=5)
    return order_services.order_place(
        user=None,
        email=email,
        shipping_address=ADDRESS,
        payment_token="tok_visa",
        lines=[(product.pk, 1)],
    )


def test_registering_mails_a_link_that_verifies_the_address(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        register(client)
    user = EmailAddress.objects.get().user
    assert not services.email_is_verified(user)

    response = Client().get(mailed_verify_path())  # another device, not signed in

    assert response.status_code == 200 and b"is confirmed" in response.content
    assert services.email_is_verified(user)


def test_registering_over_the_api_mails_the_link_too(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/auth/register/",
            {"username": "erin", "email": "erin@example.com", "password": PASSWORD},
            content_type="application/json",
        )
    assert response.status_code == 201
    assert mailed_verify_path().startswith("/accounts/verify/")


def test_an_unverified_account_can_still_shop(client, stocked):
    register(client)
    client.post("/cart/add/", {"product": stocked(quantity=3).id, "quantity": 1})
    assert client.get("/checkout/").status_code == 200


def test_verification_claims_the_guest_orders_placed_with_that_address(
    client, stocked, django_capture_on_commit_callbacks
):
    mine = guest_order(stocked, email="Dana@Example.com")
    someone_elses = guest_order(stocked, email="other@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        register(client)
    user = EmailAddress.objects.get().user
    assert not Order.objects.filter(user=user).exists()  # unverified: nothing claimed

    response = client.get(mailed_verify_path())

    assert b"1 order you placed without an account is now in" in response.content
    assert list(Order.objects.filter(user=user)) == [mine]
    assert Order.objects.get(pk=someone_elses.pk).user is None
    assert mine.number.encode() in client.get("/orders/").content


def test_an_unverified_account_does_not_get_guest_orders_at_login(client, stocked):
    order = guest_order(stocked, email="dana@example.com")
    user = UserFactory(email="dana@example.com")
    user.set_password(PASSWORD)
    user.save()
    client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert Order.objects.get(pk=order.pk).user is None


def test_a_verified_customer_gets_later_guest_orders_at_login(client, stocked):
    user = UserFactory(email="dana@example.com")
    user.set_password(PASSWORD)
    user.save()
    services.email_verify(key=services.email_verification_key(user))
    later = guest_order(stocked, email="dana@example.com")

    client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})

    assert Order.objects.get(pk=later.pk).user == user


def test_a_link_for_an_old_address_verifies_nothing(client):
    user = UserFactory(email="old@example.com")
    key = services.email_verification_key(user)
    user.email = "new@example.com"
    user.save()
    response = client.get(f"/accounts/verify/{key}/")
    assert response.status_code == 400
    assert not services.email_is_verified(user)


def test_changing_the_address_after_verifying_unverifies_it():
    user = UserFactory(email="old@example.com")
    services.email_verify(key=services.email_verification_key(user))
    user.email = "new@example.com"
    user.save()
    assert not services.email_is_verified(user)


def test_an_expired_or_forged_link_is_refused(client, settings):
    settings.EMAIL_VERIFICATION_MAX_AGE_DAYS = 7
    user = UserFactory(email="dana@example.com")
    key = services.email_verification_key(user)
    later = signing.time.time() + timedelta(days=8).total_seconds()
    with mock.patch("django.core.signing.time.time", return_value=later):
        assert client.get(f"/accounts/verify/{key}/").status_code == 400
    assert client.get(f"/accounts/verify/{key[:-3]}abc/").status_code == 400
    assert not services.email_is_verified(user)


def test_the_resend_page_mails_a_new_link_and_is_rate_limited(
    client, django_capture_on_commit_callbacks
):
    user = UserFactory(email="dana@example.com")
    client.force_login(user)
    assert b"not confirmed yet" in client.get("/accounts/verify/").content

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/verify/")
    assert mailed_verify_path()

    for _ in range(10):
        response = client.post("/accounts/verify/")
    assert response.status_code == 429


def test_a_verified_address_gets_no_more_mails(client, django_capture_on_commit_callbacks):
    user = UserFactory(email="dana@example.com")
    services.email_verify(key=services.email_verification_key(user))
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/verify/", follow=True)
    assert b"already confirmed" in response.content
    assert not mail.outbox


def test_registering_with_an_address_of_another_account_says_nothing_about_it(client):
    UserFactory(email="dana@example.com")
    response = register(client, username="someone")
    assert response.status_code == 302  # same answer as for a fresh address
