from decimal import Decimal

import pytest

from catalog.models import ProductRelation
from tests.factories import (
    CategoryFactory,
    ProductFactory,
    ProductRelationFactory,
    StockItemFactory,
)

pytestmark = pytest.mark.django_db
URL = "/api/products/"


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def tree():
    electronics = CategoryFactory(slug="electronics", name="Electronics")
    phones = CategoryFactory(slug="phones", name="Phones", parent=electronics)
    android = CategoryFactory(slug="android", name="Android", parent=phones)
    books = CategoryFactory(slug="books", name="Books")
    return {"electronics": electronics, "phones": phones, "android": android, "books": books}


def test_list_returns_the_contract_fields(api_client):
    product = ProductFactory(price=Decimal("999.99"), attributes={"brand": "Apple"})
    StockItemFactory(product=product, quantity=3)

    body = api_client.get(URL).json()

    assert body["count"] == 1 and {"next", "previous"} <= body.keys()
    row = body["results"][0]
    assert row == {
        "id": product.id,
        "sku": product.sku,
        "slug": product.slug,
        "name": product.name,
        "price": "999.99",
        "currency": "EUR",
        "category": product.category_id,
        "attributes": {"brand": "Apple"},
        "structure": "standalone",
        "in_stock": True,
        "url": f"/products/{product.slug}/",
        "images": [],
        "thumbnail": None,
    }


def test_inactive_products_are_hidden(api_client):
    visible = ProductFactory()
    ProductFactory(is_active=False)
    assert ids(api_client.get(URL)) == {visible.id}


def test_category_filter_includes_every_descendant(api_client, tree):
    top = ProductFactory(category=tree["electronics"])
    middle = ProductFactory(category=tree["phones"])
    leaf = ProductFactory(category=tree["android"])
    ProductFactory(category=tree["books"])

    assert ids(api_client.get(URL, {"category": "electronics"})) == {top.id, middle.id, leaf.id}
    assert ids(api_client.get(URL, {"category": tree["phones"].id})) == {middle.id, leaf.id}
    assert ids(api_client.get(URL, {"category": "android"})) == {leaf.id}


def test_price_range_is_inclusive(api_client):
    cheap = ProductFactory(price=Decimal("5.00"))
    middle = ProductFactory(price=Decimal("50.00"))
    dear = ProductFactory(price=Decimal("500.00"))

    assert ids(api_client.get(URL, {"min_price": "50"})) == {middle.id, dear.id}
    assert ids(api_client.get(URL, {"max_price": "50.00"})) == {cheap.id, middle.id}
    assert ids(api_client.get(URL, {"min_price": "5", "max_price": "50"})) == {cheap.id, middle.id}


def test_attribute_filters_match_strings_numbers_and_booleans(api_client):
    black = ProductFactory(attributes={"color": "black", "storage_gb": 256, "wireless": True})
    white = ProductFactory(attributes={"color": "white", "storage_gb": 128, "wireless": False})
    ProductFactory(attributes={})

    assert ids(api_client.get(URL, {"attr_color": "black"})) == {black.id}
    assert ids(api_client.get(URL, {"attr_storage_gb": "128"})) == {white.id}
    assert ids(api_client.get(URL, {"attr_wireless": "true"})) == {black.id}
    assert ids(api_client.get(URL + "?attr_color=black&attr_color=white")) == {black.id, white.id}
    assert ids(api_client.get(URL, {"attr_color": "black", "attr_storage_gb": "128"})) == set()


def test_in_stock_filter_counts_reservations(api_client):
    available = StockItemFactory(quantity=5, reserved=2).product
    StockItemFactory(quantity=4, reserved=4)
    ProductFactory()  # no stock record at all

    assert ids(api_client.get(URL, {"in_stock": "true"})) == {available.id}
    assert len(ids(api_client.get(URL, {"in_stock": "false"}))) == 2


def test_text_search_finds_name_description_and_attributes(api_client):
    by_name = ProductFactory(name="Espresso machine")
    by_description = ProductFactory(name="Moka", description="Makes strong espresso on a stove")
    by_attribute = ProductFactory(name="Beans", attributes={"roast": "espresso"})
    ProductFactory(name="Teapot", description="For green tea")

    found = ids(api_client.get(URL, {"search": "espresso"}))

    assert found == {by_name.id, by_description.id, by_attribute.id}


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [("price", ["b", "c", "a"]), ("-price", ["a", "c", "b"]), ("name", ["a", "b", "c"])],
)
def test_ordering(api_client, ordering, expected):
    ProductFactory(name="a", price=Decimal("30"))
    ProductFactory(name="b", price=Decimal("10"))
    ProductFactory(name="c", price=Decimal("20"))

    rows = api_client.get(URL, {"ordering": ordering}).json()["results"]

    assert [row["name"] for row in rows] == expected


def test_page_size_is_capped_at_100(api_client):
    ProductFactory.create_batch(105)
    body = api_client.get(URL, {"page_size": 500}).json()
    assert len(body["results"]) == 100 and body["next"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"min_price": "20", "max_price": "10"}, "max_price"),
        ({"min_price": "cheap"}, "min_price"),
        ({"min_price": "-1"}, "min_price"),
        ({"category": "no-such-category"}, "category"),
        ({"ordering": "sku; drop table"}, "ordering"),
        ({"in_stock": "maybe"}, "in_stock"),
        ({"attr_bad__name": "x"}, "attr_bad__name"),
    ],
)
def test_bad_filters_are_a_400_in_the_error_format(api_client, params, field):
    response = api_client.get(URL, params)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"]
    assert field in error["details"]


def test_page_out_of_range_is_a_404_in_the_error_format(api_client):
    ProductFactory()
    response = api_client.get(URL, {"page": 99})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_unknown_product_is_a_json_404(api_client):
    response = api_client.get(f"{URL}999999/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_list_costs_a_fixed_number_of_queries(api_client, django_assert_max_num_queries):
    for product in ProductFactory.create_batch(40, category=CategoryFactory()):
        StockItemFactory(product=product)
    with django_assert_max_num_queries(3):
        body = api_client.get(URL, {"page_size": 40}).json()
    assert len(body["results"]) == 40


def test_detail_shows_the_graph_and_available_quantity(api_client, django_assert_max_num_queries):
    product = ProductFactory()
    StockItemFactory(product=product, quantity=7, reserved=2)
    case = ProductFactory(name="Case")
    ProductRelationFactory(
        from_product=product,
        to_product=case,
        kind=ProductRelation.Kind.ACCESSORY,
        weight=Decimal("0.5"),
    )
    ProductRelationFactory(from_product=product, to_product=ProductFactory(is_active=False))

    # product, relations, the pictures of each
    with django_assert_max_num_queries(5):
        body = api_client.get(f"{URL}{product.id}/").json()

    assert body["available_quantity"] == 5
    assert body["description"] == product.description
    assert [(r["product"]["id"], r["kind"], r["weight"]) for r in body["related"]] == [
        (case.id, "accessory", "0.500")
    ]
