"""Staff make a parent in the admin and edit its variants inline, through the services."""

from decimal import Decimal

import pytest

from catalog.models import Product
from tests.catalog.test_admin import PRODUCTS, product_form
from tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db


def variant_rows(*rows, initial=0) -> dict:
    data = {
        "variants-TOTAL_FORMS": str(len(rows)),
        "variants-INITIAL_FORMS": str(initial),
        "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        data.update({f"variants-{i}-{key}": value for key, value in row.items()})
    return data


def test_staff_add_a_parent_then_its_variants_inline(admin_client):
    category = CategoryFactory()
    new = Product(sku="TEE", slug="tee", name="T-shirt", price=Decimal("20.00"))
    new.category_id, new.currency, new.is_active, new.description = category.pk, "EUR", True, ""
    response = admin_client.post(
        f"{PRODUCTS}add/",
        product_form(new, structure="parent", options='{"size": ["S", "M"], "colour": ["Blue"]}'),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    parent = Product.objects.get(sku="TEE")
    assert parent.option_axes == [("size", ["S", "M"]), ("colour", ["Blue"])]

    page = admin_client.get(f"{PRODUCTS}{parent.pk}/change/").content.decode()
    assert "Variants (the sellable units" in page
    response = admin_client.post(
        f"{PRODUCTS}{parent.pk}/change/",
        {
            **product_form(parent, options='{"size": ["S", "M"], "colour": ["Blue"]}'),
            **variant_rows(
                {
                    "sku": "TEE-S",
                    "options": '{"size": "S", "colour": "Blue"}',
                    "price": "18.00",
                    "is_active": "on",
                },
                {
                    "sku": "TEE-M",
                    "options": '{"size": "M", "colour": "Blue"}',
                    "price": "19.00",
                    "is_active": "on",
                },
            ),
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    variants = Product.objects.filter(parent=parent).order_by("sku")
    assert [(v.name, v.category_id) for v in variants] == [
        ("T-shirt — M / Blue", category.pk),
        ("T-shirt — S / Blue", category.pk),
    ]
    parent.refresh_from_db()
    assert parent.price == Decimal("18.00")


def test_a_variant_row_with_an_unknown_option_is_refused_and_nothing_is_saved(
    admin_client, with_variants
):
    parent, variants = with_variants(name="Tee", options={"size": ["S"]})

    response = admin_client.post(
        f"{PRODUCTS}{parent.pk}/change/",
        {
            **product_form(parent, options='{"size": ["S"]}', name="Renamed tee"),
            **variant_rows(
                {
                    "id": str(variants[0].pk),
                    "parent": str(parent.pk),
                    "sku": variants[0].sku,
                    "options": '{"size": "S"}',
                    "price": "20.00",
                    "is_active": "on",
                },
                {
                    "sku": "TEE-RED",
                    "options": '{"colour": "Red"}',
                    "price": "18.00",
                    "is_active": "on",
                },
                initial=1,
            ),
        },
    )

    assert response.status_code == 200  # the form again, with the error
    assert "has a value for each of: size" in response.content.decode()
    assert not Product.objects.filter(sku="TEE-RED").exists()
    parent.refresh_from_db()
    assert parent.name == "Tee"
