"""The staff inventory API: levels, adjustments, reorder requests, permissions."""

import pytest
from rest_framework.test import APIClient

from inventory.models import ReorderRequest, StockMovement
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/inventory/"),
        ("get", "/api/inventory/{id}/"),
        ("post", "/api/inventory/{id}/adjust/"),
        ("get", "/api/inventory/reorders/"),
    ],
)
def test_customers_are_forbidden_and_anonymous_clients_unauthenticated(
    user_client, stocked, method, path
):
    url = path.format(id=stocked(5).pk)
    body = {"delta": 1, "reason": "x"}

    anonymous = getattr(APIClient(), method)(url, body, format="json")
    customer = getattr(user_client, method)(url, body, format="json")

    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    assert customer.status_code == 403
    assert customer.json()["error"]["code"] == "permission_denied"
    assert StockMovement.objects.count() == 1  # only the initial stock


def test_staff_read_the_levels(staff_client, stocked):
    product = stocked(8, reorder_point=3, reorder_quantity=12)

    listed = staff_client.get("/api/inventory/").json()
    detail = staff_client.get(f"/api/inventory/{product.pk}/").json()

    assert listed["count"] == 1
    assert {k: detail[k] for k in ("quantity", "reserved", "available")} == {
        "quantity": 8,
        "reserved": 0,
        "available": 8,
    }
    assert (detail["reorder_point"], detail["reorder_quantity"]) == (3, 12)


def test_staff_adjust_the_stock_with_a_reason(staff_client, staff, stocked):
    product = stocked(8)

    added = staff_client.post(
        f"/api/inventory/{product.pk}/adjust/", {"delta": 5, "reason": "delivery"}, format="json"
    )
    removed = staff_client.post(
        f"/api/inventory/{product.pk}/adjust/", {"delta": -3, "reason": "broken"}, format="json"
    )

    assert added.status_code == 200 and added.json()["quantity"] == 13
    assert removed.status_code == 200 and removed.json()["available"] == 10
    assert StockMovement.objects.filter(actor=staff, kind="adjustment").count() == 2


def test_adjusting_a_product_without_stock_record_creates_it(staff_client):
    product = ProductFactory()
    response = staff_client.post(
        f"/api/inventory/{product.pk}/adjust/", {"delta": 4, "reason": "first count"}, format="json"
    )
    assert response.status_code == 200 and response.json()["quantity"] == 4


def test_removing_more_than_available_is_insufficient_stock(staff_client, stocked):
    product = stocked(2)

    response = staff_client.post(
        f"/api/inventory/{product.pk}/adjust/", {"delta": -3, "reason": "count"}, format="json"
    )

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "insufficient_stock"
    assert error["details"] == {"product_id": product.pk, "requested": 3, "available": 2}
    assert staff_client.get(f"/api/inventory/{product.pk}/").json()["quantity"] == 2


@pytest.mark.parametrize(
    "body, field",
    [
        ({"delta": 0, "reason": "nothing"}, "delta"),
        ({"delta": 2}, "reason"),
        ({"delta": 2, "reason": ""}, "reason"),
        ({"delta": "many", "reason": "x"}, "delta"),
        ({"reason": "x"}, "delta"),
    ],
)
def test_invalid_adjustments_are_validation_errors(staff_client, stocked, body, field):
    product = stocked(2)

    response = staff_client.post(f"/api/inventory/{product.pk}/adjust/", body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in error["details"]


def test_unknown_products_are_not_found(staff_client):
    assert staff_client.get("/api/inventory/999999/").status_code == 404
    response = staff_client.post(
        "/api/inventory/999999/adjust/", {"delta": 1, "reason": "x"}, format="json"
    )
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_staff_list_reorder_requests(staff_client, stocked):
    product = stocked(6, reorder_point=5, reorder_quantity=25)
    staff_client.post(
        f"/api/inventory/{product.pk}/adjust/", {"delta": -1, "reason": "count"}, format="json"
    )

    body = staff_client.get("/api/inventory/reorders/").json()

    assert body["count"] == 1
    row = body["results"][0]
    assert (row["product"], row["quantity"], row["status"]) == (product.pk, 25, "open")
    assert ReorderRequest.objects.get().pk == row["id"]


def test_the_schema_documents_the_inventory_and_payments_api(staff_client):
    response = staff_client.get("/api/schema/", {"format": "json"})
    paths = response.json()["paths"]
    assert "/api/v1/inventory/{product_id}/adjust/" in paths
    adjust = paths["/api/v1/inventory/{product_id}/adjust/"]["post"]
    schema_ref = adjust["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema_ref.endswith("/AdjustRequest")
    assert "/api/v1/inventory/reorders/" in paths and "/api/v1/payments/{id}/" in paths
