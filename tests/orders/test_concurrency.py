"""Many customers at once, on PostgreSQL with real threads."""

import pytest
from rest_framework.test import APIClient

from inventory.models import StockItem
from orders.models import Order
from payments.models import Payment
from tests.factories import UserFactory
from tests.orders.conftest import order_payload
from tests.utils import requires_postgres, run_together

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_twenty_replays_of_one_key_make_one_order_and_one_payment(stocked):
    product = stocked(quantity=50)
    user = UserFactory()
    payload = order_payload((product, 1))

    def place(_):
        client = APIClient()
        client.force_authenticate(user)
        response = client.post(
            "/api/orders/", payload, format="json", headers={"Idempotency-Key": "same-key"}
        )
        return response.status_code, response.json()

    results = run_together(20, place)

    assert {status for status, _ in results} == {201}
    assert len({body["id"] for _, body in results}) == 1
    assert Order.objects.count() == 1 and Payment.objects.count() == 1
    assert StockItem.objects.get(product=product).available == 49


def test_customers_racing_for_the_last_units_buy_exactly_what_is_there(stocked):
    product = stocked(quantity=5)
    users = [UserFactory() for _ in range(25)]

    def place(i):
        client = APIClient()
        client.force_authenticate(users[i])
        response = client.post("/api/orders/", order_payload((product, 1)), format="json")
        return response.status_code, response.json()

    results = run_together(25, place)

    codes = sorted(status for status, _ in results)
    assert codes.count(201) == 5 and codes.count(409) == 20
    assert all(
        body["error"]["code"] == "insufficient_stock" for status, body in results if status == 409
    )
    item = StockItem.objects.get(product=product)
    assert item.available == 0 and item.reserved >= 0
    assert Order.objects.count() == 5
