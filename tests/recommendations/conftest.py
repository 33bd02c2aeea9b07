import pytest

from tests.factories import (
    CategoryFactory,
    InteractionFactory,
    ProductFactory,
    StockItemFactory,
    UserFactory,
    bought_line,
)


@pytest.fixture
def products(db):
    """Two tastes of three products each, plus one everybody buys; all in stock."""
    category = CategoryFactory()
    made = [ProductFactory(category=category) for _ in range(7)]
    for product in made:
        StockItemFactory(product=product)
    return made


@pytest.fixture
def shoppers(db, products):
    """Eight customers: four of taste A (products 0-2), four of taste B (products 3-5).

    Shopper 0 has not met product 2, shopper 4 not product 5.
    """
    pattern = [
        [0, 1, 6],
        [0, 1, 2, 6],
        [0, 2, 6],
        [1, 2],
        [3, 4, 6],
        [3, 4, 5, 6],
        [3, 5, 6],
        [4, 5],
    ]
    users = [UserFactory() for _ in pattern]
    for user, items in zip(users, pattern, strict=True):
        for index in items:
            InteractionFactory(user=user, product=products[index], kind="cart")
    return users


@pytest.fixture
def paid_line(db):
    """A product and a customer who bought and paid for it (and kept it)."""
    return bought_line()
