"""Fixtures shared by several test packages (registered in tests/conftest.py)."""

import pytest

from tests.factories import ProductFactory, StockItemFactory


@pytest.fixture
def stocked():
    """Make a product with ``quantity`` units in stock."""

    def make(quantity=10, **product):
        item = StockItemFactory(product=ProductFactory(**product), quantity=quantity)
        return item.product

    return make
