"""Variants, the django-oscar way: a parent names the options, its children are the sellable
units with their own SKU, price and stock; lists show the parent once."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import selectors, services
from catalog.models import Product
from inventory.models import StockItem
from tests.factories import CategoryFactory, ProductFactory, StockItemFactory

pytestmark = pytest.mark.django_db
URL = "/api/products/"


def result_ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# --- the model and the services ----------------------------------------------------------


def test_a_variant_is_named_after_its_parent_and_options_in_axis_order(with_variants):
    parent, variants = with_variants(
        name="T-shirt", options={"size": ["S", "M"], "colour": ["Blue", "Black"]}
    )

    assert [v.name for v in variants] == [
        "T-shirt — S / Blue",
        "T-shirt — S / Black",
        "T-shirt — M / Blue",
        "T-shirt — M / Black",
    ]
    assert all(v.category_id == parent.category_id and v.parent_id == parent.pk for v in variants)
    assert parent.option_axes == [("size", ["S", "M"]), ("colour", ["Blue", "Black"])]


def test_the_parent_shows_the_lowest_price_of_its_active_variants(with_variants):
    parent, (small, large) = with_variants(
        options={"size": ["S", "L"]}, prices={("S",): "25.00", ("L",): "19.00"}
    )
    assert parent.price == Decimal("19.00")

    services.product_update(product=large, is_active=False)

    parent.refresh_from_db()
    assert parent.price == Decimal("25.00")


def test_renaming_a_parent_renames_its_variants(with_variants):
    parent, variants = with_variants(name="Tee", options={"size": ["S"]})

    services.product_update(product=parent, name="Organic tee")

    variants[0].refresh_from_db()
    assert variants[0].name == "Organic tee — S"


def test_a_new_option_value_is_added_to_the_parents_axis(with_variants):
    parent, _ = with_variants(options={"size": ["S", "M"]})

    services.variant_create(parent=parent, sku="TEE-XL", options={"size": "XL"}, price=Decimal(9))

    parent.refresh_from_db()
    assert parent.option_axes == [("size", ["S", "M", "XL"])]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"size": "S"}, "already"),  # the same options as an existing variant
        ({"colour": "Red"}, "has a value for each of: size"),
        ({"size": "S", "colour": "Red"}, "has a value for each of: size"),
        ({}, "names its value on each option"),
    ],
)
def test_a_variant_with_missing_unknown_or_taken_options_is_refused(
    with_variants, options, message
):
    parent, _ = with_variants(options={"size": ["S", "M"]})
    before = Product.objects.count()

    with pytest.raises(ValidationError) as error:
        services.variant_create(parent=parent, sku="NEW-1", options=options, price=Decimal(5))

    assert message in " ".join(error.value.messages)
    assert Product.objects.count() == before


def test_only_a_parent_can_have_variants():
    standalone = ProductFactory()

    with pytest.raises(ValidationError):
        services.variant_create(
            parent=standalone, sku="NEW-1", options={"size": "S"}, price=Decimal(5)
        )


def test_a_parent_cannot_drop_an_option_value_a_variant_uses(with_variants):
    parent, _ = with_variants(options={"size": ["S", "M"]})

    with pytest.raises(ValidationError):
        services.product_update(product=parent, options={"size": ["M"]})

    parent.refresh_from_db()
    assert parent.option_axes == [("size", ["S", "M"])]


def test_the_database_refuses_a_variant_without_a_parent():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(structure=Product.Structure.CHILD, parent=None)


# --- lists ------------------------------------------------------------------------------


def test_lists_show_the_parent_once_and_no_variant(api_client, with_variants):
    parent, variants = with_variants()
    standalone = ProductFactory(category=parent.category)
    StockItemFactory(product=standalone)

    assert sorted(result_ids(api_client.get(URL))) == sorted([parent.pk, standalone.pk])
    assert result_ids(api_client.get(URL, {"search": "T-shirt"})) == [parent.pk]
    assert sorted(result_ids(api_client.get(URL, {"category": parent.category.slug}))) == sorted(
        [parent.pk, standalone.pk]
    )
    assert selectors.category_product_counts()[parent.category_id] == 2


def test_facets_count_a_parent_once_and_never_its_variants(api_client, with_variants):
    parent, variants = with_variants(options={"size": ["S", "M", "L"]}, price="30.00")
    standalone = ProductFactory(
        category=parent.category, price=Decimal("12.00"), attributes={"brand": "Acme"}
    )
    StockItemFactory(product=standalone)
    services.product_update(product=parent, attributes={"brand": "Acme"})
    services.product_update(product=variants[0], attributes={"brand": "Other"})

    facets = api_client.get("/api/products/facets/").json()

    counts = {c["id"]: c["count"] for c in facets["categories"]}
    assert counts[parent.category_id] == 2
    assert facets["attributes"]["brand"] == [{"value": "Acme", "count": 2}]
    in_stock = api_client.get("/api/products/facets/", {"in_stock": "true"}).json()
    assert {c["id"]: c["count"] for c in in_stock["categories"]}[parent.category_id] == 2


def test_a_parent_is_in_stock_while_one_variant_is(api_client, with_variants):
    parent, variants = with_variants(options={"size": ["S", "M"]}, stock=0)
    sold_out = result_ids(api_client.get(URL, {"in_stock": "false"}))
    assert sold_out == [parent.pk]
    assert api_client.get(URL).json()["results"][0]["in_stock"] is False

    StockItem.objects.filter(product=variants[1]).update(quantity=3)
    cache.clear()

    assert result_ids(api_client.get(URL, {"in_stock": "true"})) == [parent.pk]
    row = api_client.get(URL).json()["results"][0]
    assert row["in_stock"] is True and row["structure"] == "parent"


def test_the_storefront_list_shows_the_parent_not_its_variants(client, with_variants):
    parent, variants = with_variants()

    html = client.get("/products/").content.decode()

    assert parent.get_absolute_url() in html
    assert not any(v.get_absolute_url() in html for v in variants)


def test_the_product_list_costs_the_same_queries_however_many_parents(api_client, with_variants):
    def queries() -> int:
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            assert api_client.get(URL).status_code == 200
        return len(captured)

    with_variants(name="Tee")
    few = queries()
    for name in ("Hoodie", "Sneaker", "Boot", "Cap"):
        with_variants(name=name, options={"size": ["S", "M", "L"], "colour": ["Red", "Blue"]})
    ProductFactory.create_batch(5)

    assert queries() == few


# --- detail -------------------------------------------------------------------------------


def test_a_parents_detail_lists_its_options_and_variants(api_client, with_variants):
    parent, variants = with_variants(
        options={"size": ["S", "M", "L"], "colour": ["Blue"]},
        prices={("M", "Blue"): "22.00"},
    )
    services.product_update(product=variants[2], is_active=False)  # L is not sold

    body = api_client.get(f"{URL}{parent.pk}/").json()

    assert body["structure"] == "parent" and body["parent"] is None
    assert body["options"] == {"size": ["S", "M"], "colour": ["Blue"]}
    assert list(body["options"]) == ["size", "colour"]
    assert body["variants"] == [
        {
            "id": variants[0].pk,
            "sku": variants[0].sku,
            "slug": variants[0].slug,
            "options": {"size": "S", "colour": "Blue"},
            "price": "20.00",
            "currency": "EUR",
            "in_stock": True,
        },
        {
            "id": variants[1].pk,
            "sku": variants[1].sku,
            "slug": variants[1].slug,
            "options": {"size": "M", "colour": "Blue"},
            "price": "22.00",
            "currency": "EUR",
            "in_stock": True,
        },
    ]
    assert body["available_quantity"] == 10


def test_a_variants_detail_names_its_parent(api_client, with_variants):
    parent, variants = with_variants(options={"size": ["S"]})

    body = api_client.get(f"{URL}{variants[0].pk}/").json()

    assert body["parent"] == parent.pk and body["structure"] == "child"
    assert body["options"] == {"size": "S"} and body["variants"] == []


def test_a_variant_of_a_hidden_parent_is_not_found(api_client, with_variants):
    parent, variants = with_variants(options={"size": ["S"]})
    services.product_update(product=parent, is_active=False)

    assert api_client.get(f"{URL}{variants[0].pk}/").status_code == 404


def test_a_parents_detail_costs_the_same_queries_however_many_variants(api_client, with_variants):
    def queries(product) -> int:
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            assert api_client.get(f"{URL}{product.pk}/").status_code == 200
        return len(captured)

    small, _ = with_variants(name="Tee", options={"size": ["S"]})
    large, _ = with_variants(
        name="Hoodie", options={"size": ["XS", "S", "M", "L", "XL"], "colour": ["A", "B", "C"]}
    )

    assert queries(large) == queries(small)


# --- staff writes -------------------------------------------------------------------------


def test_staff_create_a_parent_and_its_variants_through_the_api(api_client, staff):
    api_client.force_authenticate(staff)
    category = CategoryFactory()

    parent = api_client.post(
        URL,
        {
            "sku": "TEE",
            "name": "T-shirt",
            "price": "20.00",
            "category": category.pk,
            "structure": "parent",
            "options": {"size": ["S", "M"], "colour": ["Blue"]},
        },
        format="json",
    )
    assert parent.status_code == 201, parent.content
    variant = api_client.post(
        URL,
        {
            "sku": "TEE-M-BLUE",
            "parent": parent.json()["id"],
            "options": {"size": "M", "colour": "Blue"},
            "price": "18.00",
        },
        format="json",
    )

    assert variant.status_code == 201, variant.content
    body = variant.json()
    assert body["name"] == "T-shirt — M / Blue" and body["category"] == category.pk
    detail = api_client.get(f"{URL}{parent.json()['id']}/").json()
    assert detail["price"] == "18.00" and [v["sku"] for v in detail["variants"]] == ["TEE-M-BLUE"]


def test_staff_cannot_turn_a_variant_into_another_products_variant(
    api_client, staff, with_variants
):
    api_client.force_authenticate(staff)
    parent, variants = with_variants(options={"size": ["S"]})
    other, _ = with_variants(name="Other", options={"size": ["S"]})

    response = api_client.patch(f"{URL}{variants[0].pk}/", {"parent": other.pk}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["details"]["parent"]
    variants[0].refresh_from_db()
    assert variants[0].parent_id == parent.pk


def test_a_variant_with_a_bad_option_is_a_validation_error(api_client, staff, with_variants):
    api_client.force_authenticate(staff)
    parent, _ = with_variants(options={"size": ["S"]})

    response = api_client.post(
        URL,
        {"sku": "BAD", "parent": parent.pk, "options": {"colour": "Red"}, "price": "5.00"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert not Product.objects.filter(sku="BAD").exists()


# --- popularity ---------------------------------------------------------------------------


def test_a_parent_is_as_popular_as_its_variants_together(with_variants, settings):
    from recommendations import services as recommendation_services
    from tests.factories import InteractionFactory

    settings.RECOMMENDATIONS_WEIGHTS = {"view": 1, "cart": 3, "purchase": 5, "rating": 5}
    parent, (small, medium) = with_variants(options={"size": ["S", "M"]})
    InteractionFactory(product=small, kind="purchase")
    InteractionFactory(product=medium, kind="purchase")
    InteractionFactory(product=parent, kind="view")

    recommendation_services.popularity_refresh(days=30)

    parent.refresh_from_db()
    assert parent.popularity == 11
    assert selectors.product_popular(limit=1) == [parent]


def test_an_option_value_with_a_nul_character_is_a_validation_error(api_client, staff):
    api_client.force_authenticate(staff)

    response = api_client.post(
        URL,
        {
            "sku": "NUL",
            "name": "Tee",
            "price": "5.00",
            "category": CategoryFactory().pk,
            "structure": "parent",
            "options": {"size": ["S\x00"]},
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["details"]["options"]
