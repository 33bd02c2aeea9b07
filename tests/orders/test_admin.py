"""Staff screens of orders: the state actions need the permission to change orders."""

import pytest

from orders.models import CartItem, Order, OrderStatus
from orders.services import cart_add_item, cart_get_or_create
from tests.factories import (
    OrderFactory,
    ProductFactory,
    StockItemFactory,
    UserFactory,
    staff_with_permissions,
)

pytestmark = pytest.mark.django_db
URL = "/admin/orders/order/"


@pytest.mark.parametrize("action", ["ship", "deliver", "cancel"])
def test_a_view_only_staff_member_is_not_offered_the_order_actions(client, action):
    OrderFactory()
    client.force_login(staff_with_permissions("orders.view_order"))

    response = client.get(URL)

    assert response.status_code == 200
    assert f'value="{action}"' not in response.content.decode()


def test_a_view_only_staff_member_cannot_post_an_order_action(client):
    order = OrderFactory()
    client.force_login(staff_with_permissions("orders.view_order"))

    client.post(URL, {"action": "cancel", "_selected_action": [order.pk]})

    assert Order.objects.get(pk=order.pk).status == OrderStatus.CREATED


def test_staff_who_may_change_orders_run_the_actions(client):
    order = OrderFactory()
    client.force_login(staff_with_permissions("orders.view_order", "orders.change_order"))

    assert 'value="ship"' in client.get(URL).content.decode()
    client.post(URL, {"action": "cancel", "_selected_action": [order.pk]})

    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED


def test_carts_are_shown_to_staff_but_not_edited(admin_client):
    product = StockItemFactory(product=ProductFactory()).product
    cart = cart_get_or_create(user=UserFactory())
    cart_add_item(cart=cart, product_id=product.pk, quantity=2)

    page = admin_client.get(f"/admin/orders/cart/{cart.pk}/change/")
    admin_client.post(
        f"/admin/orders/cart/{cart.pk}/change/",
        {
            "user": cart.user_id,
            "session_key": "",
            "items-TOTAL_FORMS": "1",
            "items-INITIAL_FORMS": "1",
            "items-0-id": CartItem.objects.get().pk,
            "items-0-cart": cart.pk,
            "items-0-product": product.pk,
            "items-0-quantity": "500",
        },
    )

    assert page.status_code == 200
    assert CartItem.objects.get().quantity == 2
