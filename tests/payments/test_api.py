"""GET /api/payments/: customers see the payments of their own orders, staff see all."""

import pytest
from rest_framework.test import APIClient

from payments.services import payment_refund
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mine_and_theirs(new_payment, user, pay):
    mine = pay(new_payment(user=user).pk)
    payment_refund(payment_id=mine.pk, amount="5.00", reason="late delivery")
    theirs = new_payment(user=UserFactory())
    return mine, theirs


def test_a_customer_lists_only_payments_of_their_own_orders(user_client, mine_and_theirs):
    mine, _ = mine_and_theirs

    body = user_client.get("/api/payments/").json()

    assert body["count"] == 1
    row = body["results"][0]
    assert set(row) == {
        "id",
        "order",
        "amount",
        "currency",
        "status",
        "method",
        "card_brand",
        "card_last4",
        "created_at",
        "refunds",
        "next_action",
    }
    assert (row["id"], row["order"], row["status"]) == (mine.pk, mine.order_id, "completed")
    assert row["next_action"] is None
    assert (row["amount"], row["card_brand"], row["card_last4"]) == ("49.90", "visa", "4242")
    assert [(r["amount"], r["reason"]) for r in row["refunds"]] == [("5.00", "late delivery")]
    assert "token" not in str(row)


def test_another_customers_payment_is_not_found(user_client, mine_and_theirs):
    mine, theirs = mine_and_theirs
    assert user_client.get(f"/api/payments/{mine.pk}/").status_code == 200
    response = user_client.get(f"/api/payments/{theirs.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_staff_see_every_payment(staff_client, mine_and_theirs):
    assert staff_client.get("/api/payments/").json()["count"] == 2


def test_anonymous_clients_are_not_authenticated(mine_and_theirs):
    response = APIClient().get("/api/payments/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
