"""A variant is sold like any product: customers racing for the last units of one size and
colour buy exactly what is there, and the other variants' stock is untouched."""

import pytest
from rest_framework.test import APIClient

from inventory import selectors
from inventory.models import StockItem
from orders.models import Order
from tests.factories import UserFactory
from tests.orders.conftest import order_payload
from tests.utils import requires_postgres, run_together

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_customers_racing_for_the_last_units_of_a_variant_never_oversell_it(with_variants):
    parent, variants = with_variants(
        name="Sneaker", options={"size": ["41", "42"], "colour": ["White"]}, stock=4
    )
    wanted, other = variants[1], variants[0]  # 42 / White, 41 / White
    users = [UserFactory() for _ in range(20)]

    def place(i):
        client = APIClient()
        client.force_authenticate(users[i])
        response = client.post("/api/orders/", order_payload((wanted, 1)), format="json")
        return response.status_code, response.json()

    results = run_together(20, place)

    codes = sorted(status for status, _ in results)
    assert codes.count(201) == 4 and codes.count(409) == 16
    assert all(
        body["error"]["code"] == "insufficient_stock" for status, body in results if status == 409
    )
    item = StockItem.objects.get(product=wanted)
    assert item.available == 0 and item.reserved >= 0
    assert selectors.ledger_totals(wanted.pk) == (item.quantity, item.reserved)
    assert StockItem.objects.get(product=other).available == 4
    assert Order.objects.count() == 4
    assert not StockItem.objects.filter(product=parent).exists()
