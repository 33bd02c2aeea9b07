"""The area cache: read-through, O(1) invalidation, hit/miss totals, and its use by the catalog."""

import re
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from catalog import services
from inventory.services import stock_add, stock_adjust
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


def test_a_stock_availability_change_shows_after_the_inventory_invalidates(
    api_client, product, django_capture_on_commit_callbacks
):
    api_client.get("/api/products/")

    # A list page learns of it when the change commits (catalog.availability).
    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(product_id=product.id, delta=-5, reason="damaged")

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


# --- invalidation by tag --------------------------------------------------------------------
def test_dropping_a_tag_rebuilds_the_values_recorded_under_it_and_no_other():
    built = {"a": 1, "b": 1, "c": 1}

    def build(name, tags):
        def builder():
            shop_cache.tag("tagged", name, tags, timeout=60)
            return built[name]

        return builder

    for name, tags in (("a", ["p:1"]), ("b", ["p:1", "p:2"]), ("c", ["p:3"])):
        shop_cache.cached("tagged", name, build(name, tags), timeout=60)
    built.update(a=2, b=2, c=2)

    shop_cache.invalidate_tagged("tagged", ["p:1"])

    values = {name: shop_cache.cached("tagged", name, build(name, []), 60) for name in built}
    assert values == {"a": 2, "b": 2, "c": 1}


def test_a_tagged_drop_inside_a_transaction_applies_again_on_commit(
    django_capture_on_commit_callbacks,
):
    built = {"value": 1}

    def builder():
        shop_cache.tag("tx-tags", "key", ["p:9"], timeout=60)
        return built["value"]

    shop_cache.cached("tx-tags", "key", builder, timeout=60)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            shop_cache.invalidate_tagged("tx-tags", ["p:9"])
            # A request rebuilds the value from the rows as they were before the commit.
            assert shop_cache.cached("tx-tags", "key", builder, timeout=60) == 1
        built["value"] = 2

    assert shop_cache.cached("tx-tags", "key", builder, timeout=60) == 2


# --- notes on tagged values -----------------------------------------------------------------
@pytest.fixture(params=["redis", "local-memory"])
def any_cache(request, settings):
    """The tests below on the cache the shop runs on (Redis, when REDIS_URL is set) and on the
    local-memory cache of the embedded default."""
    if request.param == "redis" and not shop_cache.on_redis():
        pytest.skip("REDIS_URL is not set")
    if request.param == "local-memory":
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
        assert not shop_cache.on_redis()
    return request.param


def _stored(name: str, tags: list[str]) -> None:
    def builder():
        shop_cache.tag("noted", name, tags, timeout=60)
        return name

    shop_cache.cached("noted", name, builder, timeout=60)


def test_notes_go_to_the_values_recorded_under_the_tag_in_order(any_cache):
    for name, tags in (("a", ["p:1"]), ("b", ["p:1", "p:2"]), ("c", ["p:3"])):
        _stored(name, tags)

    shop_cache.annotate_tagged("noted", {"p:1": b"1=0;"}, timeout=60)
    shop_cache.annotate_tagged("noted", {"p:1": b"1=1;", "p:2": b"2=0;"}, timeout=60)

    notes = {name: shop_cache.lookup("noted", name, notes=True).notes for name in "abc"}
    assert notes == {"a": b"1=0;1=1;", "b": b"1=0;1=1;2=0;", "c": None}
    # The values themselves stay cached.
    assert [shop_cache.lookup("noted", name).stored[1] for name in "abc"] == ["a", "b", "c"]


def test_a_value_whose_notes_outgrow_the_limit_is_dropped_with_them(any_cache):
    _stored("busy", ["p:1"])
    _stored("quiet", ["p:2"])
    note = b"1=0;" * 100

    for _ in range(shop_cache.NOTES_LIMIT // len(note) + 1):
        shop_cache.annotate_tagged("noted", {"p:1": note}, timeout=60)

    busy = shop_cache.lookup("noted", "busy", notes=True)
    assert (busy.stored, busy.notes) == (None, None)
    assert shop_cache.lookup("noted", "quiet").stored[1] == "quiet"


def test_notes_are_not_read_unless_asked_for(any_cache):
    _stored("a", ["p:1"])
    shop_cache.annotate_tagged("noted", {"p:1": b"1=0;"}, timeout=60)

    assert shop_cache.lookup("noted", "a").notes is None


@pytest.fixture
def last_unit():
    """A product with one unit left, and another one in a category of its own."""
    product = ProductFactory(name="Last Lamp", price=Decimal("10.00"))
    StockItemFactory(product=product, quantity=1)
    other = ProductFactory(name="Plenty Pan", price=Decimal("20.00"))
    StockItemFactory(product=other, quantity=50)
    return product, other


def _committed(change):
    """``change()``, then what its commit runs (the test's own transaction never commits):
    the API's list pages learn of stock crossing zero on commit (catalog.availability)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return change()


def _sell_out(product) -> None:
    _committed(lambda: stock_adjust(product_id=product.id, delta=-1, reason="the last unit broke"))


def test_a_sell_out_shows_at_once_on_the_products_page_and_its_list_page(client, last_unit):
    product, _ = last_unit
    list_url = f"/products/?category={product.category.slug}"
    assert "Only 1 left" in client.get(list_url).content.decode()
    assert "Only 1 left" in client.get(product.get_absolute_url()).content.decode()

    _sell_out(product)

    assert "Out of stock" in client.get(list_url).content.decode()
    page = client.get(product.get_absolute_url()).content.decode()
    assert "Out of stock" in page
    assert "Only 1 left" not in page


def test_a_sell_out_shows_at_once_in_the_api_list_and_detail(api_client, last_unit):
    product, _ = last_unit
    detail = f"/api/products/{product.id}/"
    assert api_client.get("/api/products/").json()["count"] == 2
    assert api_client.get(detail).json()["in_stock"] is True
    assert api_client.get("/api/products/", {"in_stock": "true"}).json()["count"] == 2

    _sell_out(product)

    by_id = {p["id"]: p for p in api_client.get("/api/products/").json()["results"]}
    assert by_id[product.id]["in_stock"] is False
    assert api_client.get(detail).json()["available_quantity"] == 0
    in_stock = api_client.get("/api/products/", {"in_stock": "true"}).json()
    assert [p["id"] for p in in_stock["results"]] == [last_unit[1].id]
    assert in_stock["count"] == 1


def test_a_sell_out_leaves_an_unrelated_categorys_pages_cached(client, api_client, last_unit):
    product, other = last_unit
    html = f"/products/?category={other.category.slug}"
    api = f"/api/products/?category={other.category.slug}"
    for url in (html, other.get_absolute_url()):
        client.get(url)
    api_client.get(api)

    _sell_out(product)

    misses = shop_cache.stats("catalog")["misses"]
    with CaptureQueriesContext(connection) as queries:
        pages = [client.get(html), client.get(other.get_absolute_url()), api_client.get(api)]

    assert [page.status_code for page in pages] == [200, 200, 200]
    assert len(queries) == 0
    assert shop_cache.stats("catalog")["misses"] == misses


def test_back_in_stock_shows_at_once(client, api_client, last_unit):
    product, _ = last_unit
    _sell_out(product)
    assert "Out of stock" in client.get(product.get_absolute_url()).content.decode()
    assert api_client.get("/api/products/", {"in_stock": "true"}).json()["count"] == 1

    _committed(lambda: stock_add(product_id=product.id, quantity=20, reason="delivery"))

    assert "In stock" in client.get(product.get_absolute_url()).content.decode()
    assert api_client.get("/api/products/", {"in_stock": "true"}).json()["count"] == 2


def test_a_variant_selling_out_shows_on_its_parents_pages(client, api_client):
    parent = ProductFactory(name="Tee", structure="parent", options={"size": ["S", "M"]})
    small = ProductFactory(
        structure="child", parent=parent, category=parent.category, options={"size": "S"}
    )
    StockItemFactory(product=small, quantity=1)
    list_url = f"/products/?category={parent.category.slug}"
    assert "Only 1 left" in client.get(list_url).content.decode()
    assert api_client.get(f"/api/products/{parent.id}/").json()["variants"][0]["in_stock"]

    _sell_out(small)

    assert "Out of stock" in client.get(list_url).content.decode()
    assert not api_client.get(f"/api/products/{parent.id}/").json()["variants"][0]["in_stock"]


def test_a_price_change_shows_at_once_on_the_storefront_pages(client, last_unit):
    product, _ = last_unit
    list_url = f"/products/?category={product.category.slug}"
    client.get(list_url)
    client.get(product.get_absolute_url())

    services.product_update(product=product, price=Decimal("12.50"))

    assert "12.50" in client.get(list_url).content.decode()
    assert "12.50" in client.get(product.get_absolute_url()).content.decode()


def test_a_cached_product_page_carries_each_visitors_own_csrf_token(last_unit):
    from django.test import Client

    from catalog.views import CSRF_PLACEHOLDER

    product, _ = last_unit
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.get(product.get_absolute_url())
    page = second.get(product.get_absolute_url())
    html = page.content.decode()

    assert CSRF_PLACEHOLDER not in html
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    added = second.post(
        "/cart/add/",
        {"product": product.id, "quantity": 1, "csrfmiddlewaretoken": token},
    )
    assert added.status_code in (200, 302)
