from decimal import Decimal

import pytest

from catalog.models import Product
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def payload(cat, **overrides):
    return {
        "sku": "NEW-1",
        "name": "New phone",
        "price": "199.00",
        "category": cat.id,
        "attributes": {"color": "black"},
    } | overrides


def test_anonymous_cannot_create_products(api_client):
    response = api_client.post("/api/products/", payload(CategoryFactory()), format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert not Product.objects.exists()


def test_customers_cannot_change_products(user_client):
    product = ProductFactory()
    response = user_client.patch(f"/api/products/{product.id}/", {"price": "1.00"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    product.refresh_from_db()
    assert product.price == Decimal("10.00")


def test_staff_create_update_and_delete_a_product(staff_client):
    category = CategoryFactory()

    created = staff_client.post("/api/products/", payload(category), format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["slug"] and body["currency"] == "EUR" and body["price"] == "199.00"

    changed = staff_client.patch(f"/api/products/{body['id']}/", {"price": "149.50"}, format="json")
    assert changed.status_code == 200 and changed.json()["price"] == "149.50"

    assert staff_client.delete(f"/api/products/{body['id']}/").status_code == 204
    assert not Product.objects.filter(pk=body["id"]).exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"price": "-5.00"}, "price"),
        ({"price": "0"}, "price"),
        ({"currency": "euro"}, "currency"),
        ({"attributes": ["not", "an", "object"]}, "attributes"),
        ({"attributes": {"nested": {"x": 1}}}, "attributes"),
        ({"category": 987654}, "category"),
    ],
)
def test_bad_product_data_is_rejected_and_nothing_is_saved(staff_client, overrides, field):
    response = staff_client.post(
        "/api/products/", payload(CategoryFactory(), **overrides), format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]
    assert not Product.objects.exists()


def test_duplicate_sku_is_rejected(staff_client):
    existing = ProductFactory(sku="DUP-1")
    response = staff_client.post(
        "/api/products/", payload(existing.category, sku="DUP-1"), format="json"
    )
    assert response.status_code == 400
    assert "sku" in response.json()["error"]["details"]


def test_staff_can_build_the_category_tree(staff_client, api_client):
    parent = staff_client.post("/api/categories/", {"name": "Garden"}, format="json")
    assert parent.status_code == 201, parent.content
    child = staff_client.post(
        "/api/categories/", {"name": "Tools", "parent": parent.json()["id"]}, format="json"
    )
    assert child.status_code == 201
    ProductFactory(category_id=child.json()["id"])

    rows = {row["slug"]: row for row in api_client.get("/api/categories/").json()["results"]}

    assert rows["garden"]["product_count"] == 1  # counts the sub-category's product
    assert rows["tools"]["parent"] == parent.json()["id"]


def test_a_category_cannot_move_below_its_own_descendant(staff_client):
    top = CategoryFactory()
    below = CategoryFactory(parent=top)
    response = staff_client.patch(f"/api/categories/{top.id}/", {"parent": below.id}, format="json")
    assert response.status_code == 400
    assert "parent" in response.json()["error"]["details"]


def test_deleting_a_category_in_use_is_a_conflict(staff_client):
    product = ProductFactory()
    response = staff_client.delete(f"/api/categories/{product.category_id}/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "protected"
