"""Checking out without an account: an e-mail address, the order's mails there with a signed,
expiring link to the order page, and that page for whoever holds the link."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail, signing
from django.core.cache import cache

from orders import links
from orders.models import Order
from tests.factories import UserFactory
from tests.orders.test_storefront import checkout_form, shown_total

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()
    yield
    cache.clear()


def guest_buys(client, stocked, *, email="ada@example.com", **changes):
    client.post("/cart/add/", {"product": stocked(quantity=5).id, "quantity": 1})
    return client.post(
        "/checkout/",
        checkout_form(email=email, expected_total=shown_total(client), **changes),
    )


def mailed_order_link(number: str) -> str:
    placed = [m for m in mail.outbox if number in m.subject and "received" in m.subject]
    assert placed, "no order confirmation was sent"
    match = re.search(
        r"https?://[^/\s]+(/orders/" + re.escape(number) + r"/\?key=\S+)", placed[0].body
    )
    assert match, placed[0].body
    return match[1]  # the path and query, for the test client


def test_a_guest_places_an_order_with_an_email_and_no_account(
    client, stocked, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = guest_buys(client, stocked)

    order = Order.objects.get()
    assert order.user is None and order.email == "ada@example.com"
    assert response.url == f"/orders/{order.number}/"
    page = client.get(response.url)  # the session that placed it sees it
    assert page.status_code == 200 and order.number.encode() in page.content


def test_a_guest_must_give_an_email_address(client, stocked):
    response = guest_buys(client, stocked, email="")
    assert response.status_code == 200
    assert b"Enter your e-mail address" in response.content
    assert not Order.objects.exists()


def test_the_confirmation_greets_the_guest_by_the_shipping_name(
    client, stocked, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        guest_buys(client, stocked, name="Ada Lovelace")
    placed = next(m for m in mail.outbox if "received" in m.subject)
    assert placed.to == ["ada@example.com"]
    assert placed.body.startswith("Hello Ada Lovelace,")


def test_the_mailed_link_opens_the_order_in_another_browser(
    client, stocked, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        guest_buys(client, stocked)
    order = Order.objects.get()
    link = mailed_order_link(order.number)

    other = client_class_new()
    assert other.get(f"/orders/{order.number}/").status_code == 302  # no link: sign in
    opened = other.get(link)
    assert opened.status_code == 302 and opened.url == f"/orders/{order.number}/"
    page = other.get(opened.url)
    assert page.status_code == 200 and order.number.encode() in page.content


def client_class_new():
    from django.test import Client

    return Client()


def test_a_link_for_one_order_does_not_open_another(client, stocked):
    guest_buys(client, stocked)
    guest_buys(client, stocked, key="key-2")
    first, second = Order.objects.order_by("id")
    key = links.order_link_key(first)

    other = client_class_new()
    assert other.get(f"/orders/{second.number}/?key={key}").status_code == 403
    assert other.get(f"/orders/{second.number}/").status_code == 302


def test_a_tampered_link_is_refused(client, stocked):
    guest_buys(client, stocked)
    order = Order.objects.get()
    key = links.order_link_key(order)
    other = client_class_new()
    assert other.get(f"/orders/{order.number}/?key={key[:-2]}xx").status_code == 403


def test_the_link_expires_after_the_configured_age(client, stocked, settings):
    settings.ORDER_LINK_MAX_AGE_DAYS = 30
    guest_buys(client, stocked)
    order = Order.objects.get()
    key = links.order_link_key(order)
    other = client_class_new()
    later = signing.time.time() + timedelta(days=31).total_seconds()
    with mock.patch("django.core.signing.time.time", return_value=later):
        assert other.get(f"/orders/{order.number}/?key={key}").status_code == 403
    assert other.get(f"/orders/{order.number}/?key={key}").status_code == 302


def test_the_link_stops_working_when_the_orders_address_is_removed(client, stocked):
    guest_buys(client, stocked)
    order = Order.objects.get()
    key = links.order_link_key(order)
    Order.objects.filter(pk=order.pk).update(email="erased@invalid")
    assert client_class_new().get(f"/orders/{order.number}/?key={key}").status_code == 403


def test_a_guest_cancels_through_the_link(client, stocked):
    guest_buys(client, stocked)
    order = Order.objects.get()
    other = client_class_new()
    other.get(f"/orders/{order.number}/?key={links.order_link_key(order)}")
    response = other.post(f"/orders/{order.number}/cancel/", follow=True)
    assert b"was cancelled" in response.content
    order.refresh_from_db()
    assert order.status == "cancelled"


def test_a_signed_in_stranger_without_the_link_gets_a_404(client, stocked):
    guest_buys(client, stocked)
    order = Order.objects.get()
    other = client_class_new()
    other.force_login(UserFactory())
    assert other.get(f"/orders/{order.number}/").status_code == 404
    assert other.post(f"/orders/{order.number}/cancel/").status_code == 404


def test_a_double_submitted_guest_checkout_places_one_order(client, stocked):
    client.post("/cart/add/", {"product": stocked(quantity=5).id, "quantity": 1})
    form = checkout_form(email="ada@example.com", key="double", expected_total=shown_total(client))
    first = client.post("/checkout/", form)
    client.post("/cart/add/", {"product": stocked(quantity=5).id, "quantity": 1})
    second = client.post("/checkout/", form)
    assert first.url == second.url
    assert Order.objects.count() == 1


def test_two_guests_with_the_same_form_key_get_their_own_orders(client, stocked):
    guest_buys(client, stocked, key="same")
    other = client_class_new()
    guest_buys(other, stocked, key="same", email="bob@example.com")
    assert sorted(Order.objects.values_list("email", flat=True)) == [
        "ada@example.com",
        "bob@example.com",
    ]


def test_guest_orders_are_rate_limited_per_address(client, stocked, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "guest_checkout": "2/hour",
        },
    }
    with mock.patch(
        "rest_framework.throttling.SimpleRateThrottle.THROTTLE_RATES",
        settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
    ):
        guest_buys(client, stocked, key="k1")
        guest_buys(client, stocked, key="k2")
        third = guest_buys(client, stocked, key="k3")
    assert third.status_code == 429
    assert Order.objects.count() == 2


def test_a_voucher_limited_per_customer_needs_an_account(client, stocked):
    from pricing.models import Voucher

    Voucher.objects.create(code="ONCE", kind="percentage", value=10, per_customer_limit=1)
    response = guest_buys(client, stocked, voucher="ONCE")
    assert response.status_code == 200
    assert b"Sign in to use this voucher." in response.content
    assert not Order.objects.exists()
