"""Fixtures shared by several test packages (registered in tests/conftest.py)."""

from decimal import Decimal

import pytest

from tests.factories import ProductFactory, StockItemFactory


@pytest.fixture
def stocked():
    """Make a product with ``quantity`` units in stock."""

    def make(quantity=10, **product):
        item = StockItemFactory(product=ProductFactory(**product), quantity=quantity)
        return item.product

    return make


@pytest.fixture
def placed(user, stocked):
    """Make an order placed through the service (its processing not run yet); returns the
    order and its product."""
    from orders import services
    from tests.orders.conftest import ADDRESS

    def make(token="tok_visa", quantity=1, stock=5, price="20.00", buyer=None):
        product = stocked(quantity=stock, price=Decimal(price))
        order = services.order_place(
            user=buyer or user,
            shipping_address=ADDRESS,
            payment_token=token,
            lines=[(product.pk, quantity)],
        )
        return order, product

    return make


@pytest.fixture
def with_variants():
    """Make a parent product (made through the catalog services) with one variant per
    combination of ``options`` (``{"size": ["S", "M"], "colour": ["Blue", "Black"]}``), each
    with ``stock`` units; ``prices`` maps a combination ("M", "Blue") to its price. Returns the
    parent and its variants, in the order of the combinations."""
    import itertools

    from catalog import services
    from inventory.services import stock_add
    from tests.factories import CategoryFactory

    counter = itertools.count(1)

    def make(name="T-shirt", options=None, stock=5, prices=None, price="20.00", category=None):
        options = options or {"size": ["S", "M"], "colour": ["Blue", "Black"]}
        family = f"FAM{next(counter)}-{name.upper().replace(' ', '')[:10]}"
        parent = services.product_create(
            sku=family,
            name=name,
            price=Decimal(price),
            category=category or CategoryFactory(),
            structure="parent",
            options=options,
        )
        variants = []
        for combination in itertools.product(*options.values()):
            variant = services.variant_create(
                parent=parent,
                sku=f"{family}-{'-'.join(combination)}".upper(),
                options=dict(zip(options, combination, strict=True)),
                price=Decimal((prices or {}).get(combination, price)),
            )
            if stock:  # through the service, so the stock ledger matches the levels
                stock_add(product_id=variant.pk, quantity=stock, reason="initial stock")
            else:
                StockItemFactory(product=variant, quantity=0)
            variants.append(variant)
        parent.refresh_from_db()
        return parent, variants

    return make


@pytest.fixture
def delivered(user, stocked):
    """Make a paid, shipped and delivered order for Germany of a book (7 % VAT) and a lamp
    (19 % VAT), through the services as a worker and staff would; returns the order."""
    from orders import services
    from tests.orders.conftest import ADDRESS

    def make(*, books=2, lamps=1, buyer=None):
        book = stocked(quantity=10, price=Decimal("12.50"), tax_class="reduced", name="Cookbook")
        lamp = stocked(quantity=10, price=Decimal("30.00"), name="Desk lamp")
        order = services.order_place(
            user=buyer or user,
            shipping_address={**ADDRESS, "country": "DE"},
            payment_token="tok_visa",
            lines=[(book.pk, books), (lamp.pk, lamps)],
        )
        services.order_process(order_id=order.pk)
        services.order_ship(order_id=order.pk, actor="staff")
        return services.order_deliver(order_id=order.pk, actor="staff")

    return make


STRIPE_GATEWAY = "payments.gateways.stripe.StripeGateway"
STRIPE_WEBHOOK_SECRET = "whsec_test_local"


@pytest.fixture
def fake_stripe(settings):
    """The local Stripe server (tests/payments/stripe_server.py), with the shop's Stripe
    gateway pointed at it. The library does not retry by itself here (the tests that show its
    retries turn them on), so a lost answer reaches the shop."""
    from tests.payments.stripe_server import FakeStripe

    server = FakeStripe().start()
    settings.PAYMENT_GATEWAY = STRIPE_GATEWAY
    settings.STRIPE_API_BASE = server.url
    settings.STRIPE_SECRET_KEY = server.api_key
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_local"
    settings.STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_TIMEOUT = 10
    yield server
    server.stop()
