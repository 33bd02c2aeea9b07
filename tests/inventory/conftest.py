import pytest

from inventory.services import stock_add
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory


@pytest.fixture
def stocked(db):
    """A product with ``quantity`` units put in through the service, so the ledger matches."""

    def make(quantity=10, *, reorder_point=0, reorder_quantity=20):
        product = ProductFactory()
        item = stock_add(product_id=product.pk, quantity=quantity, reason="initial stock")
        item.reorder_point, item.reorder_quantity = reorder_point, reorder_quantity
        item.save(update_fields=["reorder_point", "reorder_quantity"])
        return product

    return make


@pytest.fixture
def order_for(db):
    """An order with one line per (product, quantity)."""

    def make(*lines):
        order = OrderFactory()
        for product, quantity in lines:
            OrderLineFactory(order=order, product=product, quantity=quantity)
        return order

    return make
