"""A parent product is not sold itself; its variants are, and carts, orders, invoices and
mails name the variant ("T-shirt — M / Blue")."""

import pytest
from django.core import mail

from inventory.models import StockItem
from orders import services
from orders.models import CartItem, Order, OrderEmail
from orders.services import emails
from tests.orders.conftest import ADDRESS, order_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def tshirt(with_variants):
    return with_variants(name="T-shirt", options={"size": ["S", "M"], "colour": ["Blue"]})


def test_a_parent_cannot_be_put_in_the_cart(user_client, tshirt):
    parent, variants = tshirt

    response = user_client.post(
        "/api/cart/items/", {"product": parent.id, "quantity": 1}, format="json"
    )

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "product_unavailable"
    assert error["message"] == "Choose a size and colour of T-shirt: it is sold by size and colour."
    assert error["details"]["variants"] == [v.pk for v in variants]
    assert not CartItem.objects.exists()


def test_a_parent_cannot_be_ordered(user_client, tshirt):
    parent, _ = tshirt

    response = user_client.post("/api/orders/", order_payload((parent, 1)), format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "product_unavailable"
    assert not Order.objects.exists()


def test_a_variant_is_in_the_cart_by_its_own_name_and_price(user_client, with_variants):
    _, variants = with_variants(
        name="T-shirt", options={"size": ["M"], "colour": ["Blue"]}, price="21.00"
    )

    body = user_client.post(
        "/api/cart/items/", {"product": variants[0].id, "quantity": 2}, format="json"
    ).json()

    [item] = body["items"]
    assert item["name"] == "T-shirt — M / Blue" and item["line_total"] == "42.00"


def test_an_ordered_variant_reserves_its_own_stock_and_names_the_line(user, tshirt):
    parent, (small, medium) = tshirt

    order = services.order_place(
        user=user, shipping_address=ADDRESS, payment_token="tok_visa", lines=[(medium.pk, 2)]
    )

    [line] = order.lines.all()
    assert line.product_name == "T-shirt — M / Blue" and line.sku == medium.sku
    assert StockItem.objects.get(product=medium).reserved == 2
    assert StockItem.objects.get(product=small).reserved == 0
    email = OrderEmail.objects.get(order=order, kind=OrderEmail.Kind.PLACED)
    mail.outbox.clear()
    assert emails.order_email_send(email_id=email.pk) is True
    [message] = mail.outbox
    assert "T-shirt — M / Blue" in message.body
    assert "T-shirt — M / Blue" in message.alternatives[0][0]


def test_a_variant_of_a_hidden_parent_cannot_be_bought(user_client, tshirt):
    from catalog import services as catalog_services

    parent, variants = tshirt
    catalog_services.product_update(product=parent, is_active=False)

    response = user_client.post(
        "/api/cart/items/", {"product": variants[0].id, "quantity": 1}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "product_unavailable"
