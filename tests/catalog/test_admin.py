"""Staff screens of the catalog: writes go through the catalog services (validation and cache
invalidation), and the bulk actions need the permission to change products."""

from decimal import Decimal

import pytest

from catalog import selectors
from catalog.models import Product, ProductRelation
from tests.factories import CategoryFactory, ProductFactory, staff_with_permissions

pytestmark = pytest.mark.django_db
PRODUCTS = "/admin/catalog/product/"


def product_form(product, **changes) -> dict:
    data = {
        "sku": product.sku,
        "slug": product.slug,
        "name": product.name,
        "description": product.description,
        "price": str(product.price),
        "currency": product.currency,
        "category": product.category_id,
        "attributes": "{}",
        "tax_class": product.tax_class,
        "weight": str(product.weight),
        "is_active": "on" if product.is_active else "",
        "outgoing_relations-TOTAL_FORMS": "0",
        "outgoing_relations-INITIAL_FORMS": "0",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
    }
    return {**data, **changes}


@pytest.mark.parametrize("action", ["activate", "deactivate"])
def test_a_view_only_staff_member_is_not_offered_the_product_actions(client, action):
    ProductFactory()
    client.force_login(staff_with_permissions("catalog.view_product"))

    response = client.get(PRODUCTS)

    assert response.status_code == 200
    assert f'value="{action}"' not in response.content.decode()


def test_a_view_only_staff_member_cannot_hide_products(client):
    product = ProductFactory()
    client.force_login(staff_with_permissions("catalog.view_product"))

    client.post(PRODUCTS, {"action": "deactivate", "_selected_action": [product.pk]})

    assert Product.objects.get(pk=product.pk).is_active


def test_hiding_products_in_the_admin_takes_them_out_of_the_cached_list(admin_client, api_client):
    product = ProductFactory()
    assert api_client.get("/api/products/").json()["count"] == 1  # now cached

    admin_client.post(PRODUCTS, {"action": "deactivate", "_selected_action": [product.pk]})

    assert api_client.get("/api/products/").json()["count"] == 0


def test_a_price_changed_in_the_admin_is_served_at_once(admin_client, api_client):
    product = ProductFactory(price=Decimal("10.00"))
    assert api_client.get(f"/api/products/{product.pk}/").json()["price"] == "10.00"  # cached

    response = admin_client.post(
        f"{PRODUCTS}{product.pk}/change/", product_form(product, price="12.50")
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert api_client.get(f"/api/products/{product.pk}/").json()["price"] == "12.50"


def test_a_product_added_in_the_admin_is_listed_at_once_with_its_relations(
    admin_client, api_client
):
    category = CategoryFactory()
    other = ProductFactory(category=category)
    assert api_client.get("/api/products/").json()["count"] == 1  # now cached
    new = Product(sku="NEW-1", slug="new-kettle", name="New kettle", price=Decimal("30.00"))
    new.category_id, new.currency, new.is_active, new.description = category.pk, "EUR", True, ""

    response = admin_client.post(
        f"{PRODUCTS}add/",
        product_form(
            new,
            **{
                "outgoing_relations-TOTAL_FORMS": "1",
                "outgoing_relations-0-to_product": other.pk,
                "outgoing_relations-0-kind": "accessory",
                "outgoing_relations-0-weight": "0.5",
            },
        ),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    created = Product.objects.get(sku="NEW-1")
    assert response["Location"] == PRODUCTS
    relation = ProductRelation.objects.get(from_product=created)
    assert (relation.to_product, relation.kind) == (other, "accessory")
    assert api_client.get("/api/products/").json()["count"] == 2


def test_a_product_deleted_in_the_admin_leaves_the_cached_list(admin_client, api_client):
    product = ProductFactory()
    assert api_client.get("/api/products/").json()["count"] == 1  # now cached

    admin_client.post(f"{PRODUCTS}{product.pk}/delete/", {"post": "yes"})

    assert not Product.objects.filter(pk=product.pk).exists()
    assert api_client.get("/api/products/").json()["count"] == 0


def test_a_category_renamed_in_the_admin_is_served_at_once(admin_client):
    category = CategoryFactory(name="Teas")
    assert [c["name"] for c in selectors.category_tree()] == ["Teas"]  # now cached

    response = admin_client.post(
        f"/admin/catalog/category/{category.pk}/change/",
        {"name": "Fine teas", "slug": category.slug, "position": 0, "description": ""},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert [c["name"] for c in selectors.category_tree()] == ["Fine teas"]


def test_a_category_cannot_be_moved_below_itself_in_the_admin(admin_client):
    parent = CategoryFactory(name="Kitchen")
    child = CategoryFactory(name="Kettles", parent=parent)

    response = admin_client.post(
        f"/admin/catalog/category/{parent.pk}/change/",
        {"name": "Kitchen", "slug": parent.slug, "parent": child.pk, "position": 0},
    )

    assert response.status_code == 200  # the form again, with the error
    assert "cannot be placed below itself" in response.content.decode()
    parent.refresh_from_db()
    assert parent.parent is None
