"""The quote and the order share one pricing path; vouchers are counted race-free."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from orders import services
from orders.models import Order, OrderEvent
from pricing.models import Voucher, VoucherUse
from tests.factories import UserFactory
from tests.orders.conftest import ADDRESS, order_payload
from tests.utils import requires_postgres, run_together

pytestmark = pytest.mark.django_db
DE = {**ADDRESS, "country": "DE"}


def body(*lines, **extra):
    payload = order_payload(*lines, **extra)
    payload["shipping_address"] = DE
    return payload


def quote_body(*lines, **extra):
    payload = body(*lines, **extra)
    payload.pop("payment")
    return payload


def test_the_quote_shows_lines_tax_shipping_and_the_methods(user_client, stocked):
    book = stocked(price=D("12.50"), tax_class="reduced")
    lamp = stocked(price=D("30.00"))

    response = user_client.post(
        "/api/checkout/quote/", quote_body((book, 2), (lamp, 1)), format="json"
    )

    assert response.status_code == 200, response.json()
    quote = response.json()
    assert [(line["product"], line["tax_rate"], line["tax_amount"]) for line in quote["lines"]] == [
        (book.pk, "0.0700", "1.64"),
        (lamp.pk, "0.1900", "4.79"),
    ]
    assert (quote["subtotal"], quote["shipping"], quote["total"]) == ("55.00", "0.00", "55.00")
    assert quote["tax"] == [
        {"rate": "0.1900", "amount": "4.79"},
        {"rate": "0.0700", "amount": "1.64"},
    ]
    assert quote["tax_total"] == "6.43" and quote["currency"] == "EUR"
    assert quote["shipping_methods"] == [
        {"code": "standard", "name": "Standard delivery (3-5 days)", "price": "0.00"},
        {"code": "express", "name": "Express delivery (next day)", "price": "9.90"},
    ]


def test_the_quote_reserves_and_counts_nothing(user_client, stocked):
    product = stocked(quantity=1)
    Voucher.objects.create(code="ONE", kind="percentage", value=D("10"), usage_limit=1)

    for _ in range(3):
        response = user_client.post(
            "/api/checkout/quote/", quote_body((product, 1), voucher="one"), format="json"
        )
        assert response.status_code == 200

    assert Voucher.objects.get(code="ONE").times_used == 0
    assert product.stock.reserved == 0 and not Order.objects.exists()


@pytest.mark.parametrize("method", ["standard", "express"])
def test_the_order_costs_exactly_what_the_quote_said(user_client, stocked, method):
    book = stocked(price=D("12.50"), tax_class="reduced")
    lamp = stocked(price=D("19.99"))
    Voucher.objects.create(code="TEN", kind="percentage", value=D("10"))
    lines = [(book, 3), (lamp, 1)]

    quote = user_client.post(
        "/api/checkout/quote/",
        quote_body(*lines, shipping_method=method, voucher="TEN"),
        format="json",
    ).json()
    order = user_client.post(
        "/api/orders/", body(*lines, shipping_method=method, voucher="TEN"), format="json"
    ).json()

    for field in (
        "subtotal",
        "discount",
        "shipping",
        "shipping_method",
        "tax",
        "tax_total",
        "total",
        "currency",
    ):
        assert order[field] == quote[field], field
    assert [(x["product"], x["tax_rate"], x["tax_amount"]) for x in order["lines"]] == [
        (x["product"], x["tax_rate"], x["tax_amount"]) for x in quote["lines"]
    ]
    assert order["voucher"] == "TEN" and order["payment"]["amount"] == quote["total"]


def test_a_changed_price_is_a_409_and_places_nothing(user_client, stocked):
    product = stocked(price=D("20.00"))

    response = user_client.post(
        "/api/orders/", body((product, 1), expected_total="20.00"), format="json"
    )

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "price_changed"
    assert error["details"] == {"expected": "20.00", "actual": "24.90"}
    assert not Order.objects.exists() and product.stock.reserved == 0


def test_the_expected_total_when_it_matches_places_the_order(user_client, stocked):
    product = stocked(price=D("20.00"))

    response = user_client.post(
        "/api/orders/", body((product, 1), expected_total="24.90"), format="json"
    )

    assert response.status_code == 201 and response.json()["total"] == "24.90"


def test_a_destination_nobody_serves_is_a_400(user_client, stocked):
    payload = quote_body((stocked(), 1))
    payload["shipping_address"] = {**DE, "country": "US"}

    response = user_client.post("/api/checkout/quote/", payload, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unsupported_country"


def test_an_unknown_voucher_is_a_400_and_an_exhausted_one_a_409(user_client, stocked):
    product = stocked()
    Voucher.objects.create(code="GONE", kind="fixed", value=D("5"), usage_limit=1)
    Voucher.objects.filter(code="GONE").update(times_used=1)

    unknown = user_client.post("/api/orders/", body((product, 1), voucher="NOPE"), format="json")
    gone = user_client.post("/api/orders/", body((product, 1), voucher="GONE"), format="json")

    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "voucher_invalid"
    assert gone.status_code == 409 and gone.json()["error"]["code"] == "voucher_exhausted"
    assert not Order.objects.exists()


def test_a_customer_uses_a_voucher_only_as_often_as_allowed(user_client, stocked):
    product = stocked(quantity=5)
    Voucher.objects.create(code="WELCOME", kind="fixed", value=D("5"), per_customer_limit=1)

    first = user_client.post("/api/orders/", body((product, 1), voucher="WELCOME"), format="json")
    again = user_client.post("/api/orders/", body((product, 1), voucher="WELCOME"), format="json")

    assert first.status_code == 201
    assert again.status_code == 400
    assert again.json()["error"]["details"]["reason"] == "per_customer_limit"


def test_cancelling_an_unpaid_order_gives_the_voucher_use_back(user, stocked):
    product = stocked()
    Voucher.objects.create(code="BACK", kind="fixed", value=D("5"), usage_limit=1)
    order = services.order_place(
        user=user,
        shipping_address=DE,
        payment_token="tok_visa",
        lines=[(product.pk, 1)],
        voucher="BACK",
    )
    assert Voucher.objects.get(code="BACK").times_used == 1

    services.order_cancel(order_id=order.pk, actor=OrderEvent.Actor.CUSTOMER, user=user)

    assert Voucher.objects.get(code="BACK").times_used == 0
    assert VoucherUse.objects.get(order=order).released_at is not None
    services.order_cancel(order_id=order.pk, actor=OrderEvent.Actor.CUSTOMER, user=user)
    assert Voucher.objects.get(code="BACK").times_used == 0  # once


def test_cancelling_a_paid_order_keeps_the_voucher_used(
    user, stocked, django_capture_on_commit_callbacks
):
    product = stocked()
    Voucher.objects.create(code="KEPT", kind="fixed", value=D("5"))
    order = services.order_place(
        user=user,
        shipping_address=DE,
        payment_token="tok_visa",
        lines=[(product.pk, 1)],
        voucher="KEPT",
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.order_process(order_id=order.pk)
        services.order_cancel(order_id=order.pk, actor=OrderEvent.Actor.CUSTOMER, user=user)

    assert Voucher.objects.get(code="KEPT").times_used == 1


# --- staff ----------------------------------------------------------------------------------
def test_staff_create_and_change_vouchers(staff_client):
    created = staff_client.post(
        "/api/vouchers/",
        {
            "code": "summer",
            "kind": "percentage",
            "value": "15",
            "usage_limit": 100,
            "ends_at": (timezone.now() + timedelta(days=30)).isoformat(),
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["code"] == "SUMMER" and created.json()["times_used"] == 0

    voucher_id = created.json()["id"]
    changed = staff_client.patch(f"/api/vouchers/{voucher_id}/", {"usage_limit": 10}, format="json")
    assert changed.status_code == 200 and changed.json()["usage_limit"] == 10
    assert staff_client.get("/api/vouchers/").json()["count"] == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"code": "BAD", "kind": "percentage", "value": "150"},
        {"code": "BAD", "kind": "nonsense", "value": "5"},
        {
            "code": "BAD",
            "kind": "fixed",
            "value": "5",
            "starts_at": "2026-12-01T00:00:00Z",
            "ends_at": "2026-11-01T00:00:00Z",
        },
    ],
)
def test_a_bad_voucher_is_a_400(staff_client, payload):
    response = staff_client.post("/api/vouchers/", payload, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert not Voucher.objects.exists()


def test_a_duplicate_code_is_a_400_whatever_its_case(staff_client):
    Voucher.objects.create(code="TWICE", kind="fixed", value=D("5"))

    response = staff_client.post(
        "/api/vouchers/", {"code": "twice", "kind": "fixed", "value": "5"}, format="json"
    )

    assert response.status_code == 400


def test_customers_cannot_see_vouchers(user_client):
    assert user_client.get("/api/vouchers/").status_code == 403


# --- the race -------------------------------------------------------------------------------
@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_hundred_customers_racing_for_fifty_uses_get_exactly_fifty(stocked):
    product = stocked(quantity=1000, price=D("20.00"))
    Voucher.objects.create(code="RACE", kind="percentage", value=D("10"), usage_limit=50)
    customers = [UserFactory() for _ in range(200)]
    per_thread = 5  # 40 connections, 5 customers each

    def attempt(i):
        outcomes = []
        for user in customers[i * per_thread : (i + 1) * per_thread]:
            try:
                services.order_place(
                    user=user,
                    shipping_address=DE,
                    payment_token="tok_visa",
                    lines=[(product.pk, 1)],
                    voucher="RACE",
                )
                outcomes.append("placed")
            except Exception as exc:  # the outcome is what the test counts
                outcomes.append(getattr(exc, "code", repr(exc)))
        return outcomes

    results = [o for chunk in run_together(40, attempt) for o in chunk]

    assert results.count("placed") == 50
    assert set(results) == {"placed", "voucher_exhausted"}
    voucher = Voucher.objects.get(code="RACE")
    assert voucher.times_used == 50 == VoucherUse.objects.filter(voucher=voucher).count()
    assert Order.objects.filter(voucher="RACE").count() == 50


# --- cost -----------------------------------------------------------------------------------
@pytest.mark.parametrize("lines", [1, 5])
def test_placing_an_order_costs_a_bounded_number_of_statements(
    user_client, stocked, django_assert_max_num_queries, lines
):
    """Pricing reads its configuration once per order: the statements grow by one stock update
    per line, nothing else (savepoints included, as the test's own transaction adds them)."""
    products = [stocked(price=D("20.00")) for _ in range(lines)]
    Voucher.objects.create(code="COUNT", kind="percentage", value=D("5"))
    user_client.post("/api/orders/", body((products[0], 1)), format="json")  # warm the session

    with django_assert_max_num_queries(44 + (lines - 1)):
        response = user_client.post(
            "/api/orders/", body(*[(p, 1) for p in products], voucher="COUNT"), format="json"
        )

    assert response.status_code == 201
