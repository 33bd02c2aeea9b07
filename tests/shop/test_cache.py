"""The area cache: read-through, O(1) invalidation, hit/miss totals, and its use by the catalog."""

from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import services
from shop import cache as shop_cache
from tests.factories import CategoryFactory, ProductFactory, StockItemFactory

pytestmark = pytest.mark.django_db


def test_a_value_is_built_once_then_served_from_the_cache():
    calls = []

    def build():
        calls.append(1)
        return {"answer": 42}

    first = shop_cache.cached("test-area", ("k", 1), build, timeout=60)
    second = shop_cache.cached("test-area", ("k", 1), build, timeout=60)

    assert first == second == {"answer": 42}
    assert len(calls) == 1
    assert shop_cache.stats("test-area") == {"hits": 1, "misses": 1, "hit_rate": 0.5}


def test_invalidating_an_area_rebuilds_every_key_of_that_area_only():
    versions = {"a": 1, "b": 1, "other": 1}
    for key in ("a", "b"):
        shop_cache.cached("area-one", key, lambda key=key: versions[key])
    shop_cache.cached("area-two", "other", lambda: versions["other"])
    versions.update(a=2, b=2, other=2)

    shop_cache.invalidate("area-one")

    assert shop_cache.cached("area-one", "a", lambda: versions["a"]) == 2
    assert shop_cache.cached("area-one", "b", lambda: versions["b"]) == 2
    assert shop_cache.cached("area-two", "other", lambda: versions["other"]) == 1


def test_an_area_whose_version_was_evicted_never_serves_old_values():
    from django.core.cache import cache

    shop_cache.cached("evicted", "k", lambda: "old")
    cache.delete("cache-area:evicted:version")

    assert shop_cache.cached("evicted", "k", lambda: "new") == "new"


def test_none_is_not_cached():
    shop_cache.cached("nones", "k", lambda: None)

    assert shop_cache.cached("nones", "k", lambda: "built") == "built"


def test_invalidation_inside_a_transaction_also_applies_on_commit(
    django_capture_on_commit_callbacks,
):
    shop_cache.cached("tx", "k", lambda: "before")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        shop_cache.invalidate("tx")
        # A reader racing the transaction caches what it still sees under the new version...
        shop_cache.cached("tx", "k", lambda: "stale, read before the commit")
    for callback in callbacks:
        callback()

    # ...and the bump on commit makes that value unreachable.
    assert shop_cache.cached("tx", "k", lambda: "after") == "after"


# --- the catalog on the cache ---------------------------------------------------------------
@pytest.fixture
def product():
    product = ProductFactory(price=Decimal("10.00"))
    StockItemFactory(product=product, quantity=5)
    return product


def test_a_second_identical_product_list_request_is_a_cache_hit_without_queries(
    api_client, product
):
    first = api_client.get("/api/products/", {"ordering": "price", "page_size": "10"})
    with CaptureQueriesContext(connection) as queries:
        # The same query in another order is the same normalised request.
        second = api_client.get("/api/products/", {"page_size": "10", "ordering": "price"})

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert len(queries) == 0
    assert shop_cache.stats("catalog")["hits"] >= 1


def test_customers_share_the_anonymous_cached_list(api_client, user_client, product):
    api_client.get("/api/products/")
    with CaptureQueriesContext(connection) as queries:
        response = user_client.get("/api/products/")

    assert response.status_code == 200
    assert len(queries) == 0


def test_a_second_product_detail_request_is_a_cache_hit(api_client, product):
    url = f"/api/products/{product.id}/"
    first = api_client.get(url)
    with CaptureQueriesContext(connection) as queries:
        second = api_client.get(url)

    assert second.json() == first.json()
    assert len(queries) == 0


def test_a_price_change_is_visible_at_once_in_list_and_detail(api_client, product):
    url = f"/api/products/{product.id}/"
    api_client.get("/api/products/")
    api_client.get(url)

    services.product_update(product=product, price=Decimal("12.50"))

    assert api_client.get(url).json()["price"] == "12.50"
    assert api_client.get("/api/products/").json()["results"][0]["price"] == "12.50"


def test_creating_and_deleting_products_invalidates_the_list(api_client, product):
    category = CategoryFactory()
    assert api_client.get("/api/products/").json()["count"] == 1

    created = services.product_create(
        sku="NEW-1", name="New thing", price=Decimal("1.00"), category=category
    )
    assert api_client.get("/api/products/").json()["count"] == 2

    services.product_delete(product=created)
    assert api_client.get("/api/products/").json()["count"] == 1


def test_other_pages_and_orderings_of_a_list_reuse_its_count_until_the_catalog_changes(
    api_client, product
):
    ProductFactory.create_batch(3)
    first = api_client.get("/api/products/", {"page_size": "2"})
    with CaptureQueriesContext(connection) as queries:
        second = api_client.get("/api/products/", {"page_size": "2", "page": "2"})
        by_price = api_client.get("/api/products/", {"page_size": "3", "ordering": "price"})

    assert first.json()["count"] == second.json()["count"] == by_price.json()["count"] == 4
    assert not any("COUNT(" in query["sql"] for query in queries.captured_queries)

    services.product_delete(product=product)
    assert api_client.get("/api/products/", {"page_size": "2", "page": "2"}).json()["count"] == 3


def test_a_category_change_invalidates_the_category_tree(api_client):
    from catalog.selectors import category_tree

    category = CategoryFactory(name="Old name")
    assert [c["name"] for c in category_tree()] == ["Old name"]

    services.category_update(category=category, name="New name")

    assert [c["name"] for c in category_tree()] == ["New name"]


def test_a_stock_availability_change_shows_after_the_inventory_invalidates(api_client, product):
    api_client.get("/api/products/")
    product.stock.quantity = 0
    product.stock.save()

    # What inventory.services calls when availability crosses zero:
    shop_cache.invalidate("catalog")

    assert api_client.get("/api/products/").json()["results"][0]["in_stock"] is False


def test_staff_always_read_the_database(staff_client, product):
    staff_client.get("/api/products/")
    with CaptureQueriesContext(connection) as queries:
        staff_client.get("/api/products/")

    assert len(queries) > 0


def test_an_invalid_filter_is_a_400_and_nothing_is_cached(api_client, product):
    first = api_client.get("/api/products/", {"min_price": "abc"})
    second = api_client.get("/api/products/", {"min_price": "abc"})

    assert first.status_code == second.status_code == 400
    assert shop_cache.stats("catalog")["hits"] == 0


class BrokenCache:
    """A cache whose server is unreachable."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("cache server unreachable")

        return fail


def test_a_cache_outage_serves_the_catalog_from_the_database(api_client, product):
    with mock.patch.object(shop_cache, "cache", BrokenCache()):
        response = api_client.get(f"/api/products/{product.id}/")
        updated = services.product_update(product=product, price=Decimal("11.00"))

    assert response.status_code == 200
    assert response.json()["price"] == "10.00"
    assert updated.price == Decimal("11.00")


def test_statistics_read_as_zero_while_the_cache_is_down():
    with mock.patch.object(shop_cache, "cache", BrokenCache()):
        assert shop_cache.stats("catalog") == {"hits": 0, "misses": 0, "hit_rate": None}


def test_checkout_charges_the_database_price_even_when_the_cache_is_stale(
    api_client, user_client, product
):
    from catalog.models import Product
    from tests.orders.conftest import order_payload

    api_client.get(f"/api/products/{product.id}/")  # cached at 10.00
    Product.objects.filter(pk=product.pk).update(price=Decimal("15.00"))  # behind the cache
    assert api_client.get(f"/api/products/{product.id}/").json()["price"] == "10.00"

    response = user_client.post("/api/orders/", order_payload((product, 2)), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["subtotal"] == "30.00"  # 2 x 15.00, not 2 x 10.00
    assert response.json()["total"] == "34.90"  # and standard shipping
