"""Cart, checkout and order pages, through the Django test client."""

from decimal import Decimal

import pytest

from orders.models import Cart, Order
from orders.services import cart_add_item, cart_get_or_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def checkout_form(token="tok_visa", key="key-1", **changes):
    return {
        "name": "Ada Lovelace",
        "line1": "12 Main St",
        "line2": "",
        "city": "Berlin",
        "postal_code": "10115",
        "country": "de",
        "phone": "",
        "payment_token": token,
        "idempotency_key": key,
        **changes,
    }


@pytest.fixture
def shopper(client):
    user = UserFactory()
    client.force_login(user)
    return user


def test_a_visitor_adds_to_the_cart_and_sees_totals(client, stocked):
    product = stocked(quantity=5, price=Decimal("12.50"), name="Green tea")

    response = client.post("/cart/add/", {"product": product.id, "quantity": 2}, follow=True)

    assert response.status_code == 200
    assert b"Added 2 \xc3\x97 Green tea to your cart." in response.content
    assert b"25.00" in response.content
    assert response.context["cart_count"] == 2


def test_asking_for_more_than_the_stock_shows_a_message_and_adds_nothing(client, stocked):
    product = stocked(quantity=2, name="Moka pot")
    response = client.post("/cart/add/", {"product": product.id, "quantity": 3}, follow=True)
    assert b"Only 2 of Moka pot left in stock." in response.content
    assert response.context["cart_count"] == 0


def test_a_product_in_another_currency_shows_a_message_and_adds_nothing(client, stocked):
    client.post("/cart/add/", {"product": stocked(currency="EUR").id, "quantity": 1})
    dollars = stocked(currency="USD", name="Diner mug")

    response = client.post("/cart/add/", {"product": dollars.id, "quantity": 1}, follow=True)

    assert "Diner mug is priced in USD" in response.content.decode()
    assert response.context["cart_count"] == 1


def test_the_anonymous_cart_joins_the_customer_cart_at_login(client, stocked):
    product = stocked(quantity=5)
    client.post("/cart/add/", {"product": product.id, "quantity": 2})
    user = UserFactory()

    client.post(
        "/accounts/login/", {"username": user.username, "password": "correct-horse-battery"}
    )

    assert Cart.objects.get(user=user).items.get().quantity == 2
    assert not Cart.objects.filter(user__isnull=True).exists()


def test_at_login_lines_in_another_currency_than_the_customers_cart_are_left_out(client, stocked):
    euros, dollars = stocked(currency="EUR"), stocked(currency="USD")
    user = UserFactory()
    cart_add_item(cart=cart_get_or_create(user=user), product_id=euros.id, quantity=1)
    client.post("/cart/add/", {"product": dollars.id, "quantity": 2})

    client.post(
        "/accounts/login/", {"username": user.username, "password": "correct-horse-battery"}
    )

    assert [i.product_id for i in Cart.objects.get(user=user).items.all()] == [euros.id]


def test_update_and_remove_lines(client, shopper, stocked):
    product = stocked(quantity=5)
    client.post("/cart/add/", {"product": product.id, "quantity": 1})
    client.post("/cart/update/", {"product": product.id, "quantity": 4})
    assert Cart.objects.get(user=shopper).items.get().quantity == 4
    response = client.post("/cart/update/", {"product": product.id, "quantity": 9}, follow=True)
    assert b"Only 5 of" in response.content
    client.post("/cart/remove/", {"product": product.id})
    assert not Cart.objects.get(user=shopper).items.exists()


def test_checkout_needs_a_login(client):
    response = client.get("/checkout/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_checkout_places_the_order_and_shows_it(
    client, shopper, stocked, django_capture_on_commit_callbacks
):
    product = stocked(quantity=5)
    client.post("/cart/add/", {"product": product.id, "quantity": 2})
    form = client.get("/checkout/").context["form"]
    assert form.initial["idempotency_key"]

    with django_capture_on_commit_callbacks(execute=True):
        placed = client.post("/checkout/", checkout_form())
    order = Order.objects.get(user=shopper)
    assert placed.url == f"/orders/{order.number}/"

    response = client.get(placed.url)
    assert order.shipping_address["country"] == "DE"
    assert b"Thank you! Your payment was received" in response.content
    assert response.context["cart_count"] == 0


def test_a_double_submitted_checkout_places_one_order(client, shopper, stocked):
    client.post("/cart/add/", {"product": stocked(quantity=5).id, "quantity": 1})
    first = client.post("/checkout/", checkout_form(key="double"))
    client.post("/cart/add/", {"product": stocked(quantity=5).id, "quantity": 1})
    second = client.post("/checkout/", checkout_form(key="double"))
    assert first.url == second.url
    assert Order.objects.filter(user=shopper).count() == 1


def test_a_declined_card_explains_why_and_keeps_the_cart(
    client, shopper, stocked, django_capture_on_commit_callbacks
):
    product = stocked(quantity=5)
    client.post("/cart/add/", {"product": product.id, "quantity": 2})

    with django_capture_on_commit_callbacks(execute=True):
        placed = client.post("/checkout/", checkout_form(token="tok_chargeDeclined"))
    response = client.get(placed.url)

    assert b"Your payment did not go through" in response.content
    assert Cart.objects.get(user=shopper).items.get().quantity == 2


def test_bad_checkout_input_keeps_what_was_typed(client, shopper, stocked):
    client.post("/cart/add/", {"product": stocked().id, "quantity": 1})
    response = client.post("/checkout/", checkout_form(country="Germany", payment_token=""))
    assert response.status_code == 200
    assert b"Use a two-letter country code" in response.content
    assert b"Enter your card details." in response.content
    assert b'value="12 Main St"' in response.content
    assert not Order.objects.exists()


def test_order_pages_show_only_the_customers_own_orders(client, shopper, stocked):
    client.post("/cart/add/", {"product": stocked().id, "quantity": 1})
    client.post("/checkout/", checkout_form())
    order = Order.objects.get()
    assert order.number.encode() in client.get("/orders/").content

    client.force_login(UserFactory())
    assert client.get(f"/orders/{order.number}/").status_code == 404
    assert client.post(f"/orders/{order.number}/cancel/").status_code == 404


def test_customer_cancels_from_the_order_page(client, shopper, stocked):
    client.post("/cart/add/", {"product": stocked().id, "quantity": 1})
    client.post("/checkout/", checkout_form())
    order = Order.objects.get()
    response = client.post(f"/orders/{order.number}/cancel/", follow=True)
    assert b"was cancelled" in response.content
    order.refresh_from_db()
    assert order.status == "cancelled"
