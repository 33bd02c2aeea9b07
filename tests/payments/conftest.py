from decimal import Decimal

import pytest

from payments.gateways import get_gateway
from payments.services import payment_authorize, payment_capture, payment_create
from tests.factories import OrderFactory


@pytest.fixture(autouse=True)
def _test_gateway(settings):
    """A fixed number of unanswered attempts before a lookup, the test gateway."""
    settings.PAYMENT_MAX_ATTEMPTS = 3
    settings.PAYMENT_GATEWAY = "payments.gateways.test.TestGateway"


@pytest.fixture
def pay():
    """Authorize, then capture (what an order does once its goods are secured)."""

    def run(payment_id: int):
        payment = payment_authorize(payment_id=payment_id)
        if payment.status == "authorized":
            payment = payment_capture(payment_id=payment_id)
        return payment

    return run


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
