"""Orders processed by a real Celery worker over Redis, on PostgreSQL; then a worker killed
with SIGKILL in the middle of processing, restarted, and every order still ends consistent."""

from datetime import timedelta

import pytest
from django.db.models import Sum
from rest_framework.test import APIClient

from inventory.models import StockItem
from orders import services
from orders.models import Order
from payments.models import Payment
from tests.factories import UserFactory
from tests.orders.conftest import order_payload
from tests.utils import requires_worker
from tests.worker import running_worker, wait_until

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    requires_worker,
]

ORDERS = 24


def settled(order_ids):
    def check():
        orders = Order.objects.filter(pk__in=order_ids)
        return all(
            o.status == "cancelled" or (o.status == "processing" and o.paid_at) for o in orders
        )

    return check


def customer_client():
    client = APIClient()
    client.force_authenticate(UserFactory())
    return client


def assert_consistent(product, initial):
    """Stock, payments and orders agree: nothing oversold, nothing charged twice."""
    paid = Order.objects.filter(lines__product=product, paid_at__isnull=False)
    sold = paid.aggregate(n=Sum("lines__quantity"))["n"] or 0
    item = StockItem.objects.get(product=product)
    assert item.reserved == 0
    assert item.quantity == initial - sold
    for order in Order.objects.filter(lines__product=product):
        payments = list(Payment.objects.filter(order=order))
        assert len(payments) == 1
        expected = "completed" if order.paid_at else ("failed", "refunded")
        assert payments[0].status in expected, (order.number, payments[0].status)


def test_the_worker_processes_paid_and_declined_orders(stocked):
    product = stocked(quantity=20)
    client = customer_client()
    with running_worker():
        good = client.post("/api/orders/", order_payload((product, 2)), format="json")
        bad = client.post(
            "/api/orders/", order_payload((product, 3), token="tok_chargeDeclined"), format="json"
        )
        ids = [good.json()["id"], bad.json()["id"]]
        wait_until(settled(ids), what="both orders to finish processing")

    assert Order.objects.get(pk=ids[0]).status == "processing"
    assert Order.objects.get(pk=ids[1]).status == "cancelled"
    assert_consistent(product, 20)


def test_a_worker_killed_mid_processing_loses_no_order_and_charges_no_one_twice(stocked):
    product = stocked(quantity=100)
    client = customer_client()
    with running_worker(concurrency=1, start=False) as worker:
        responses = [
            client.post("/api/orders/", order_payload((product, 1)), format="json")
            for _ in range(ORDERS)
        ]  # queued in Redis; no worker yet
        assert {r.status_code for r in responses} == {201}, responses[-1].content
        ids = [r.json()["id"] for r in responses]
        worker.start()
        wait_until(
            lambda: Order.objects.filter(pk__in=ids, paid_at__isnull=False).exists(),
            interval=0.02,
            what="the worker to start paying orders",
        )
        worker.kill()
        unfinished = Order.objects.filter(pk__in=ids, paid_at__isnull=True).count()

        worker.start()
        # The beat sweeper's job: hand every order left behind to a worker again.
        services.orders_resume_stuck(older_than=timedelta(0))
        wait_until(settled(ids), what="every order to settle after the restart")

    assert unfinished > 0, "the worker was killed after it had finished: nothing was tested"
    assert Order.objects.filter(pk__in=ids, paid_at__isnull=False).count() == ORDERS
    assert_consistent(product, 100)
