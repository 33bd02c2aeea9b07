"""GET /api/products/facets/ and the storefront sidebar: counts checked against a brute force."""

import random
from decimal import Decimal

import pytest

from tests.factories import CategoryFactory, ProductFactory, StockItemFactory

pytestmark = pytest.mark.django_db
URL = "/api/products/facets/"
COLORS = ["black", "white", "red"]


@pytest.fixture
def catalog():
    """60 products over a small tree, with colours, storage sizes, booleans, stock, prices."""
    electronics = CategoryFactory(slug="electronics", name="Electronics")
    phones = CategoryFactory(slug="phones", name="Phones", parent=electronics)
    laptops = CategoryFactory(slug="laptops", name="Laptops", parent=electronics)
    books = CategoryFactory(slug="books", name="Books")
    leaves = [phones, laptops, books]
    rng = random.Random(4)
    products = []
    for i in range(60):
        attributes = {"color": rng.choice(COLORS)}
        if rng.random() < 0.6:
            attributes["storage_gb"] = rng.choice([64, 128, 256])
        if rng.random() < 0.5:
            attributes["wireless"] = rng.choice([True, False])
        if rng.random() < 0.1:
            attributes["dimensions"] = {"w": 1}  # not a scalar: never a facet
        product = ProductFactory(
            name=f"Gadget {i}" if i % 3 else f"Novel {i}",
            category=leaves[i % 3],
            price=Decimal(rng.randrange(100, 20000)) / 100,
            attributes=attributes,
            is_active=i % 17 != 0,
        )
        StockItemFactory(product=product, quantity=rng.choice([0, 0, 3, 10]))
        products.append(product)
    return {"categories": [electronics, phones, laptops, books], "products": products}


def _text(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _matches(product, filters: dict, *, skip: str) -> bool:
    """The list's filters, written out by hand over Python objects."""
    if not product.is_active:
        return False
    category = filters.get("category")
    if skip != "category" and category is not None:
        ids = {c.id for c in category["within"]}
        if product.category_id not in ids:
            return False
    if skip != "price":
        if "min_price" in filters and product.price < Decimal(filters["min_price"]):
            return False
        if "max_price" in filters and product.price > Decimal(filters["max_price"]):
            return False
    if "in_stock" in filters:
        stock = product.stock
        if (stock.quantity > stock.reserved) != filters["in_stock"]:
            return False
    for name, values in filters.get("attributes", {}).items():
        if skip == f"attr:{name}":
            continue
        if name not in product.attributes or _text(product.attributes[name]) not in values:
            return False
    return True


def brute_force(catalog, filters: dict) -> dict:
    products = catalog["products"]
    categories = []
    for category in catalog["categories"]:
        within = {category.id} | {c.id for c in catalog["categories"] if c.parent_id == category.id}
        count = sum(
            1 for p in products if p.category_id in within and _matches(p, filters, skip="category")
        )
        if count:
            categories.append({"id": category.id, "count": count})
    attributes: dict[str, dict[str, int]] = {}
    names = {name for p in products for name in p.attributes}
    for name in names:
        for p in products:
            value = p.attributes.get(name)
            if isinstance(value, (str, int, float, bool)) and _matches(
                p, filters, skip=f"attr:{name}"
            ):
                bucket = attributes.setdefault(name, {})
                bucket[_text(value)] = bucket.get(_text(value), 0) + 1
    prices = [p.price for p in products if _matches(p, filters, skip="price")]
    return {
        "categories": sorted(categories, key=lambda c: c["id"]),
        "attributes": attributes,
        "price": {
            "min": f"{min(prices):.2f}" if prices else None,
            "max": f"{max(prices):.2f}" if prices else None,
        },
    }


def query_of(catalog, filters: dict) -> dict:
    params: dict = {}
    if "category" in filters:
        params["category"] = filters["category"]["slug"]
    for key in ("min_price", "max_price"):
        if key in filters:
            params[key] = filters[key]
    if "in_stock" in filters:
        params["in_stock"] = "true" if filters["in_stock"] else "false"
    for name, values in filters.get("attributes", {}).items():
        params[f"attr_{name}"] = list(values)
    return params


def category_filter(catalog, slug: str) -> dict:
    category = next(c for c in catalog["categories"] if c.slug == slug)
    within = [category] + [c for c in catalog["categories"] if c.parent_id == category.id]
    return {"slug": slug, "within": within}


@pytest.mark.parametrize(
    "make_filters",
    [
        lambda c: {},
        lambda c: {"category": category_filter(c, "electronics")},
        lambda c: {"category": category_filter(c, "phones"), "in_stock": True},
        lambda c: {"min_price": "20.00", "max_price": "120.00"},
        lambda c: {"attributes": {"color": ["black", "red"]}},
        lambda c: {
            "category": category_filter(c, "electronics"),
            "attributes": {"color": ["white"], "storage_gb": ["128", "256"]},
            "in_stock": False,
        },
        lambda c: {"attributes": {"wireless": ["true"]}, "max_price": "100"},
    ],
    ids=["none", "category", "category+stock", "price", "one-attr", "everything", "boolean"],
)
def test_facet_counts_equal_a_brute_force_count(api_client, catalog, make_filters):
    filters = make_filters(catalog)
    expected = brute_force(catalog, filters)

    response = api_client.get(URL, query_of(catalog, filters))

    assert response.status_code == 200, response.content
    body = response.json()
    got_categories = sorted(
        ({"id": c["id"], "count": c["count"]} for c in body["categories"]), key=lambda c: c["id"]
    )
    assert got_categories == expected["categories"]
    got_attributes = {
        name: {v["value"]: v["count"] for v in values}
        for name, values in body["attributes"].items()
    }
    assert got_attributes == expected["attributes"]
    assert body["price"] == expected["price"]


def test_values_come_most_common_first(api_client):
    phones = CategoryFactory(slug="phones")
    for color in ["red", "black", "black", "white", "black", "white"]:
        ProductFactory(category=phones, attributes={"color": color})

    body = api_client.get(URL).json()

    assert body["attributes"]["color"] == [
        {"value": "black", "count": 3},
        {"value": "white", "count": 2},
        {"value": "red", "count": 1},
    ]
    assert body["categories"] == [
        {"id": phones.id, "slug": "phones", "name": phones.name, "parent": None, "count": 6}
    ]


def test_facets_of_nothing_are_empty(api_client):
    body = api_client.get(URL, {"min_price": "5", "max_price": "6"}).json()

    assert body == {"categories": [], "attributes": {}, "price": {"min": None, "max": None}}


@pytest.mark.parametrize(
    "params",
    [{"min_price": "cheap"}, {"category": "no-such"}, {"attr_bad name": "x"}, {"in_stock": "y"}],
)
def test_bad_filters_are_a_validation_error(api_client, params):
    response = api_client.get(URL, params)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_facets_cost_a_fixed_number_of_queries(api_client, catalog, django_assert_max_num_queries):
    params = {"category": "electronics", "attr_color": "black", "attr_storage_gb": "64"}
    # Category lookups (3), categories, price, the attributes, each filtered attribute (2).
    with django_assert_max_num_queries(8):
        assert api_client.get(URL, params).status_code == 200


def test_the_sidebar_shows_the_exact_counts(client):
    phones = CategoryFactory(slug="phones", name="Phones")
    books = CategoryFactory(slug="books", name="Books")
    for color in ["black", "black", "white"]:
        ProductFactory(category=phones, attributes={"color": color})
    ProductFactory(category=books, attributes={"color": "black"})

    html = client.get("/products/", {"category": "phones", "attr_color": "white"}).content.decode()

    assert 'value="black"><label for="f-color-1">black <span class="facet-count">(2)' in html
    assert (
        'value="white" checked><label for="f-color-2">white <span class="facet-count">(1)' in html
    )
    # Category counts follow the other filters (white only): no white book.
    assert '>Books <span class="facet-count">(0)</span>' in html
    assert '>All products <span class="facet-count">(1)</span>' in html
