"""The order state machine driven by processing, customers and staff (Celery eager)."""

from decimal import Decimal

import pytest
from django.core import mail

from inventory.models import StockItem
from orders import services
from orders.models import CartItem, Order, OrderEvent
from payments.models import Payment
from tests.orders.conftest import order_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def place(user_client, django_capture_on_commit_callbacks):
    """Place an order and let its processing run, as a worker would after commit."""

    def run(*lines, token="tok_visa"):
        with django_capture_on_commit_callbacks(execute=True):
            response = user_client.post(
                "/api/orders/", order_payload(*lines, token=token), format="json"
            )
        assert response.status_code == 201, response.content
        return Order.objects.get(pk=response.json()["id"])

    return run


def stock(product):
    return StockItem.objects.get(product=product)


def trail(order):
    return [
        (e.from_status, e.to_status)
        for e in order.events.order_by("at", "id")
        if e.from_status != e.to_status
    ]


def test_a_good_card_takes_the_order_to_paid_processing_and_commits_stock(place, stocked):
    product = stocked(quantity=10)
    order = place((product, 3))

    assert order.status == "processing" and order.paid_at is not None
    assert trail(order) == [("", "created"), ("created", "confirmed"), ("confirmed", "processing")]
    assert Payment.objects.get(order=order).status == "completed"
    assert (stock(product).quantity, stock(product).reserved) == (7, 0)


def test_a_declined_card_cancels_releases_stock_emails_and_restores_the_cart(place, stocked, user):
    product = stocked(quantity=10)
    order = place((product, 2), token="tok_chargeDeclined")

    assert order.status == "cancelled" and order.paid_at is None
    assert "payment failed" in order.cancel_reason
    assert Payment.objects.get(order=order).status == "failed"
    assert (stock(product).quantity, stock(product).reserved) == (10, 0)
    assert any("Payment for order" in m.subject for m in mail.outbox)
    assert CartItem.objects.get(cart__user=user, product=product).quantity == 2


def test_a_gateway_that_keeps_failing_is_retried_then_the_order_cancelled(place, stocked):
    product = stocked(quantity=4)
    order = place((product, 1), token="tok_processingError")

    payment = Payment.objects.get(order=order)
    assert payment.status == "failed" and payment.attempts > 1
    assert order.status == "cancelled"
    assert stock(product).reserved == 0


def test_processing_twice_changes_nothing(place, stocked):
    product = stocked(quantity=10)
    order = place((product, 2))
    events = order.events.count()

    again = services.order_process(order_id=order.id)

    assert again.status == "processing" and order.events.count() == events
    assert (stock(product).quantity, stock(product).reserved) == (8, 0)
    assert Payment.objects.filter(order=order).count() == 1


def test_customer_cancels_before_payment_and_stock_is_released(user_client, stocked):
    product = stocked(quantity=5)
    order_id = user_client.post("/api/orders/", order_payload((product, 2)), format="json").json()[
        "id"
    ]  # processing not run yet

    response = user_client.post(f"/api/orders/{order_id}/cancel/")

    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert stock(product).reserved == 0
    assert response.json()["events"][-1]["actor"] == "customer"
    again = user_client.post(f"/api/orders/{order_id}/cancel/")
    assert again.status_code == 200  # cancelling twice is harmless
    assert Order.objects.get(pk=order_id).events.filter(to_status="cancelled").count() == 1


def test_cancelling_after_payment_refunds_and_returns_the_stock(
    place, stocked, user_client, django_capture_on_commit_callbacks
):
    product = stocked(quantity=5, price=Decimal("20.00"))
    order = place((product, 2))

    with django_capture_on_commit_callbacks(execute=True):  # the refund follows the commit
        response = user_client.post(f"/api/orders/{order.id}/cancel/")

    assert response.status_code == 200
    assert Payment.objects.get(order=order).status == "refunded"
    assert (stock(product).quantity, stock(product).reserved) == (5, 0)


def test_shipping_and_delivery_are_staff_actions(
    place, stocked, user_client, staff_client, django_capture_on_commit_callbacks
):
    order = place((stocked(), 1))
    assert user_client.post(f"/api/orders/{order.id}/ship/").status_code == 403

    with django_capture_on_commit_callbacks(execute=True):
        shipped = staff_client.post(f"/api/orders/{order.id}/ship/")
    assert shipped.status_code == 200 and shipped.json()["status"] == "shipped"
    assert any("on its way" in m.subject for m in mail.outbox)

    cancel = user_client.post(f"/api/orders/{order.id}/cancel/")
    assert cancel.status_code == 409
    assert cancel.json()["error"]["code"] == "invalid_transition"

    delivered = staff_client.post(f"/api/orders/{order.id}/deliver/")
    assert delivered.json()["status"] == "delivered"
    assert OrderEvent.objects.filter(order=order, actor="staff").count() == 2


def test_an_unpaid_order_cannot_ship(user_client, staff_client, stocked):
    order_id = user_client.post(
        "/api/orders/", order_payload((stocked(), 1)), format="json"
    ).json()["id"]
    response = staff_client.post(f"/api/orders/{order_id}/ship/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"


def test_customers_never_see_each_others_orders(place, stocked, api_client):
    from tests.factories import UserFactory

    order = place((stocked(), 1))
    api_client.force_authenticate(UserFactory())
    assert api_client.get(f"/api/orders/{order.id}/").status_code == 404
    assert api_client.post(f"/api/orders/{order.id}/cancel/").status_code == 404
    assert api_client.get("/api/orders/").json()["count"] == 0


def test_staff_list_every_order_and_filter_by_state_and_user(place, stocked, staff_client, user):
    paid = place((stocked(), 1))
    declined = place((stocked(), 1), token="tok_chargeDeclined")

    everything = staff_client.get("/api/orders/").json()
    cancelled = staff_client.get("/api/orders/", {"status": "cancelled"}).json()
    mine = staff_client.get("/api/orders/", {"user": user.id}).json()

    assert everything["count"] == 2
    assert [o["id"] for o in cancelled["results"]] == [declined.id]
    assert {o["id"] for o in mine["results"]} == {paid.id, declined.id}
    bad = staff_client.get("/api/orders/", {"status": "lost"})
    assert bad.status_code == 400


def test_stuck_orders_are_resumed(user_client, stocked, django_capture_on_commit_callbacks):
    from datetime import timedelta

    product = stocked(quantity=3)
    order_id = user_client.post("/api/orders/", order_payload((product, 1)), format="json").json()[
        "id"
    ]  # the worker never ran it

    resumed = services.orders_resume_stuck(older_than=timedelta(0))

    assert resumed == [order_id]
    order = Order.objects.get(pk=order_id)
    assert order.status == "processing" and order.paid_at is not None
