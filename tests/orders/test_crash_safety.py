"""A worker may die at any step of processing; running the task again must end in the same
state as an uninterrupted run: paid once, stock moved once, every step audited once."""

import pytest

from inventory.models import StockItem, StockMovement
from orders import services
from orders.models import Order
from payments.models import Payment, TestGatewayCharge
from tests.orders.conftest import order_payload

pytestmark = pytest.mark.django_db


class Crash(Exception):
    """Stands for the process dying at this point."""


def crash_on(monkeypatch, target, name, *, when=lambda *a, **k: True):
    original = getattr(target, name)

    def crashing(*args, **kwargs):
        if when(*args, **kwargs):
            raise Crash(name)
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, crashing)


def _after_gateway_capture(payment, name, *args, **kwargs):
    return name == "complete"  # the gateway captured; the shop had not recorded it yet


CRASH_POINTS = {
    "after confirming": ("orders.services.lifecycle", "reservation_extend", None),
    "after the gateway captured": ("payments.services", "_change", _after_gateway_capture),
    "before committing stock": ("orders.services.lifecycle", "stock_commit", None),
    "after committing stock": ("orders.services.lifecycle", "_note", None),
    "while recording the payment": ("orders.services.lifecycle", "order_email_due", None),
}


@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_processing_resumes_after_a_crash_at_any_step(point, monkeypatch, user_client, stocked):
    import importlib

    product = stocked(quantity=10)
    order_id = user_client.post("/api/orders/", order_payload((product, 3)), format="json").json()[
        "id"
    ]
    module, name, when = CRASH_POINTS[point]
    target = importlib.import_module(module)
    with monkeypatch.context() as patch:
        crash_on(patch, target, name, **({"when": when} if when else {}))
        with pytest.raises(Crash):
            services.order_process(order_id=order_id)

    order = services.order_process(order_id=order_id)  # the task, delivered again

    assert order.status == "processing" and order.paid_at is not None
    payment = Payment.objects.get(order=order)
    assert payment.status == "completed"
    captures = TestGatewayCharge.objects.filter(
        operation="capture", approved=True, parent_reference=payment.gateway_reference
    )
    assert captures.count() == 1
    item = StockItem.objects.get(product=product)
    assert (item.quantity, item.reserved) == (7, 0)
    assert StockMovement.objects.filter(product=product, kind="sale").count() == 1
    steps = [
        (e.from_status, e.to_status)
        for e in Order.objects.get(pk=order_id).events.all()
        if e.from_status != e.to_status
    ]
    assert steps == [("", "created"), ("created", "confirmed"), ("confirmed", "processing")]
