"""Placing orders through the API: snapshots, reservations, payment, idempotency."""

from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection

from inventory.models import StockItem
from orders.models import Cart, IdempotencyRecord, Order
from payments.models import Payment
from tests.factories import UserFactory
from tests.orders.conftest import ADDRESS, order_payload

pytestmark = pytest.mark.django_db


def place(client, payload, **headers):
    return client.post("/api/orders/", payload, format="json", headers=headers)


def test_placing_an_order_snapshots_prices_reserves_stock_and_creates_a_payment(
    user_client, user, stocked, django_capture_on_commit_callbacks
):
    phone = stocked(quantity=5, price=Decimal("199.99"))
    case = stocked(quantity=5, price=Decimal("15.00"))

    with django_capture_on_commit_callbacks() as callbacks:
        response = place(user_client, order_payload((phone, 2), (case, 1)))

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "created" and body["number"].startswith("NW-")
    assert body["total"] == "414.98" and body["currency"] == "EUR"
    assert [
        (line["product"], line["quantity"], line["unit_price"], line["line_total"])
        for line in body["lines"]
    ] == [(phone.id, 2, "199.99", "399.98"), (case.id, 1, "15.00", "15.00")]
    assert body["payment"]["status"] == "pending"
    assert body["shipping_address"]["city"] == "London"
    assert [e["to_status"] for e in body["events"]] == ["created"]
    assert StockItem.objects.get(product=phone).reserved == 2
    assert Payment.objects.get(order_id=body["id"]).amount == Decimal("414.98")
    queued = sorted(
        c.task.name
        for c in callbacks
        if getattr(c, "task", None) and c.task.name.startswith("orders.")
    )
    assert queued == ["orders.tasks.order_email_send_task", "orders.tasks.order_process_task"]


def test_the_order_total_and_lines_never_change_after_placement(user_client, stocked):
    product = stocked(price=Decimal("10.00"))
    order_id = place(user_client, order_payload((product, 3))).json()["id"]

    product.price = Decimal("99.00")
    product.save()

    order = Order.objects.get(pk=order_id)
    assert order.total == Decimal("34.90")  # 30.00 of goods and 4.90 of standard shipping
    lines = order.lines.all()
    assert order.total == sum(line.line_total - line.discount for line in lines) + order.shipping
    assert order.lines.get().unit_price == Decimal("10.00")


def test_insufficient_stock_is_a_409_and_creates_nothing(user_client, stocked):
    plenty = stocked(quantity=50)
    scarce = stocked(quantity=1)

    response = place(user_client, order_payload((plenty, 1), (scarce, 2)))

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "insufficient_stock"
    assert error["details"]["product_id"] == scarce.id
    assert not Order.objects.exists() and not Payment.objects.exists()
    assert StockItem.objects.get(product=plenty).reserved == 0


def test_one_product_listed_twice_is_held_to_the_line_cap_once_merged(user_client, stocked):
    product = stocked(quantity=500)

    response = place(user_client, order_payload((product, 60), (product, 60)))

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"] == {"product_id": product.id, "quantity": 120}
    assert not Order.objects.exists()
    assert StockItem.objects.get(product=product).reserved == 0


def test_order_from_the_cart_empties_the_cart(user_client, user, stocked):
    product = stocked()
    user_client.post("/api/cart/items/", {"product": product.id, "quantity": 2}, format="json")

    response = place(
        user_client,
        {"from_cart": True, "shipping_address": ADDRESS, "payment": {"token": "tok_visa"}},
    )

    assert response.status_code == 201, response.content
    assert response.json()["lines"][0]["quantity"] == 2
    assert not Cart.objects.get(user=user).items.exists()


def test_an_empty_cart_cannot_be_ordered(user_client):
    response = place(
        user_client,
        {"from_cart": True, "shipping_address": ADDRESS, "payment": {"token": "tok_visa"}},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "empty_order"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"shipping_address": {**ADDRESS, "country": "Germany"}}, "shipping_address"),
        ({"shipping_address": {"name": "x"}}, "shipping_address"),
        ({"payment": {}}, "payment"),
        ({"items": []}, "items"),
        ({"items": [{"product": 1, "quantity": 0}]}, "items"),
        ({"from_cart": True}, "items"),
    ],
)
def test_bad_order_input_is_a_400_and_creates_nothing(user_client, stocked, change, field):
    payload = order_payload((stocked(), 1)) | change
    response = place(user_client, payload)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]
    assert not Order.objects.exists()


def test_anonymous_cannot_place_orders(api_client, stocked):
    response = place(api_client, order_payload((stocked(), 1)))
    assert response.status_code == 401


def test_a_replayed_idempotency_key_returns_the_first_answer(user_client, stocked):
    product = stocked(quantity=5)
    first = place(user_client, order_payload((product, 1)), **{"Idempotency-Key": "k-1"})
    again = place(user_client, order_payload((product, 1)), **{"Idempotency-Key": "k-1"})

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1 and Payment.objects.count() == 1
    assert StockItem.objects.get(product=product).reserved == 1


def test_the_same_key_with_another_body_is_a_conflict(user_client, stocked):
    product = stocked(quantity=5)
    place(user_client, order_payload((product, 1)), **{"Idempotency-Key": "k-2"})
    response = place(user_client, order_payload((product, 2)), **{"Idempotency-Key": "k-2"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"
    assert Order.objects.count() == 1


@pytest.mark.parametrize("key", ["k" * 256, "nul\x00byte", "tab\tkey", "clé"])
def test_a_malformed_idempotency_key_is_a_400_and_creates_nothing(user_client, stocked, key):
    response = place(
        user_client, order_payload((stocked(quantity=5), 1)), **{"Idempotency-Key": key}
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"
    assert not Order.objects.exists() and not IdempotencyRecord.objects.exists()


def test_keys_belong_to_one_customer(user_client, api_client, stocked):
    product = stocked(quantity=5)
    place(user_client, order_payload((product, 1)), **{"Idempotency-Key": "shared"})
    api_client.force_authenticate(UserFactory())
    response = place(api_client, order_payload((product, 1)), **{"Idempotency-Key": "shared"})
    assert response.status_code == 201
    assert Order.objects.count() == 2


def test_a_failed_placement_leaves_the_key_free_for_a_retry(user_client, stocked):
    product = stocked(quantity=1)
    failed = place(user_client, order_payload((product, 2)), **{"Idempotency-Key": "k-3"})
    assert failed.status_code == 409
    assert not IdempotencyRecord.objects.exists()


def test_confirmation_email_is_sent_after_commit(
    user_client, user, stocked, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        number = place(user_client, order_payload((stocked(), 1))).json()["number"]
    subjects = [m.subject for m in mail.outbox]
    assert f"We received your order {number}" in subjects
    assert all(m.to == [user.email] for m in mail.outbox)


def test_the_stored_first_answer_keeps_no_personal_data_in_plaintext(user_client, stocked):
    product = stocked(quantity=2)
    first = place(user_client, order_payload((product, 1)), **{"Idempotency-Key": "k-pii"})

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT response_body FROM orders_idempotencyrecord WHERE key = %s", ["k-pii"]
        )
        (raw,) = cursor.fetchone()
    assert ADDRESS["line1"] not in raw and ADDRESS["phone"] not in raw
    assert first.json()["number"] not in raw  # the whole answer is one encrypted token
    again = place(user_client, order_payload((product, 1)), **{"Idempotency-Key": "k-pii"})
    assert again.json() == first.json()


def test_an_order_whose_amounts_add_up_only_in_decimal_is_placed(user_client, stocked):
    """SQLite computes the total's check in binary floating point, where 47.40 - 4.74 + 4.90
    is 47.559999..., not 47.56: the check compares whole cents."""
    from pricing.models import Voucher

    moka, guide = stocked(price=Decimal("34.90")), stocked(price=Decimal("12.50"))
    Voucher.objects.create(code="SPRING10", kind="percentage", value=Decimal("10"))

    response = place(user_client, order_payload((moka, 1), (guide, 1), voucher="SPRING10"))

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["subtotal"], body["discount"], body["shipping"], body["total"]) == (
        "47.40",
        "4.74",
        "4.90",
        "47.56",
    )


def test_the_database_refuses_a_total_a_cent_off_its_parts(user_client, stocked):
    from django.db import IntegrityError, transaction
    from django.db.models import F

    order_id = place(user_client, order_payload((stocked(), 1))).json()["id"]

    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order_id).update(total=F("total") + Decimal("0.01"))
