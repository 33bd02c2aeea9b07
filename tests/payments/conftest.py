from decimal import Decimal

import pytest

from payments.gateways import get_gateway
from payments.services import payment_create
from tests.factories import OrderFactory


@pytest.fixture(autouse=True)
def _no_backoff(settings):
    """Retries without waiting, a fixed number of attempts, the test gateway."""
    settings.PAYMENT_RETRY_BACKOFF = 0
    settings.PAYMENT_MAX_ATTEMPTS = 3
    settings.PAYMENT_GATEWAY = "payments.gateways.test.TestGateway"


@pytest.fixture
def gateway():
    return get_gateway()


@pytest.fixture
def new_payment(db):
    """A pending payment made through the service, for a fresh order of ``amount``."""

    def make(token="tok_visa", amount="49.90", **order):
        order = OrderFactory(total=Decimal(amount), **order)
        return payment_create(order=order, amount=Decimal(amount), currency="EUR", token=token)

    return make
