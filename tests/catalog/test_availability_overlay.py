"""A product crossing zero changes the API's cached list pages in place (catalog.availability):
the page is not rebuilt, it shows the new availability at once, its bytes and ETag are those
a fresh build gives, and lists filtered by availability are still rebuilt."""

import json
from decimal import Decimal
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from catalog import availability
from inventory.services import stock_add, stock_adjust
from shop import cache as shop_cache
from tests.factories import ProductFactory, StockItemFactory

pytestmark = pytest.mark.django_db
LIST = "/api/products/"


def committed(change):
    """``change()`` and what its commit runs (the test's own transaction never commits)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return change()


def sell_out(product) -> None:
    committed(lambda: stock_adjust(product_id=product.id, delta=-1, reason="the last one broke"))


def restock(product, units: int = 10) -> None:
    committed(lambda: stock_add(product_id=product.id, quantity=units, reason="delivery"))


def in_stock(response) -> dict[int, bool]:
    return {item["id"]: item["in_stock"] for item in response.json()["results"]}


@pytest.fixture
def shelf():
    """Three products: one with its last unit, one sold out, one with plenty."""
    last = ProductFactory(name="Last Lamp", price=Decimal("10.00"))
    StockItemFactory(product=last, quantity=1)
    gone = ProductFactory(name="Gone Grill", price=Decimal("15.00"))
    StockItemFactory(product=gone, quantity=0)
    plenty = ProductFactory(name="Plenty Pan", price=Decimal("20.00"))
    StockItemFactory(product=plenty, quantity=50)
    return last, gone, plenty


def test_a_sell_out_shows_on_the_cached_list_page_without_rebuilding_it(shelf):
    last, _, _ = shelf
    client = APIClient()
    assert in_stock(client.get(LIST))[last.id] is True

    sell_out(last)
    misses = shop_cache.stats("catalog")["misses"]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST)

    assert in_stock(response)[last.id] is False
    assert len(queries) == 0
    assert shop_cache.stats("catalog")["misses"] == misses


def test_the_overlay_works_on_the_local_memory_cache_too(shelf, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert not shop_cache.on_redis()
    last, _, _ = shelf
    client = APIClient()
    client.get(LIST)

    sell_out(last)
    with CaptureQueriesContext(connection) as queries:
        overlaid = client.get(LIST)
    cache.clear()

    assert in_stock(overlaid)[last.id] is False
    assert len(queries) == 0
    assert overlaid.content == client.get(LIST).content


def test_back_in_stock_shows_on_the_cached_list_page_without_rebuilding_it(shelf):
    _, gone, _ = shelf
    client = APIClient()
    assert in_stock(client.get(LIST))[gone.id] is False

    restock(gone)
    misses = shop_cache.stats("catalog")["misses"]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST)

    assert in_stock(response)[gone.id] is True
    assert len(queries) == 0
    assert shop_cache.stats("catalog")["misses"] == misses


def test_the_overlaid_page_is_byte_for_byte_a_fresh_build_with_the_same_etag(shelf):
    last, gone, _ = shelf
    client = APIClient()
    before = client.get(LIST, {"ordering": "price"})

    sell_out(last)
    restock(gone)
    overlaid = client.get(LIST, {"ordering": "price"})
    cache.clear()  # nothing cached: built from the database now
    fresh = client.get(LIST, {"ordering": "price"})

    assert in_stock(overlaid) == {last.id: False, gone.id: True, shelf[2].id: True}
    assert overlaid.content == fresh.content
    assert overlaid["ETag"] == fresh["ETag"] != before["ETag"]


def test_a_validator_of_the_old_availability_gets_the_new_page(shelf):
    last, _, _ = shelf
    client = APIClient()
    old = client.get(LIST)["ETag"]

    sell_out(last)
    changed = client.get(LIST, HTTP_IF_NONE_MATCH=old)
    same = client.get(LIST, HTTP_IF_NONE_MATCH=changed["ETag"])

    assert changed.status_code == 200
    assert in_stock(changed)[last.id] is False
    assert same.status_code == 304


def test_coming_back_after_selling_out_shows_the_latest_state(shelf):
    last, _, _ = shelf
    client = APIClient()
    client.get(LIST)

    sell_out(last)
    restock(last)
    response = client.get(LIST)

    assert in_stock(response)[last.id] is True
    cache.clear()
    assert response.content == client.get(LIST).content


def test_lists_filtered_by_availability_are_rebuilt(shelf):
    last, gone, plenty = shelf
    client = APIClient()
    client.get(LIST, {"in_stock": "true"})
    client.get(LIST, {"in_stock": "false"})

    sell_out(last)
    restock(gone)
    available = client.get(LIST, {"in_stock": "true"}).json()
    unavailable = client.get(LIST, {"in_stock": "false"}).json()

    assert sorted(p["id"] for p in available["results"]) == sorted([gone.id, plenty.id])
    assert available["count"] == 2
    assert [p["id"] for p in unavailable["results"]] == [last.id]
    assert unavailable["count"] == 1


def test_a_variant_selling_out_turns_its_parent_out_of_stock_in_the_cached_list():
    parent = ProductFactory(name="Tee", structure="parent", options={"size": ["S", "M"]})
    small = ProductFactory(
        structure="child", parent=parent, category=parent.category, options={"size": "S"}
    )
    StockItemFactory(product=small, quantity=1)
    client = APIClient()
    assert in_stock(client.get(LIST))[parent.id] is True

    sell_out(small)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST)

    assert in_stock(response)[parent.id] is False
    assert len(queries) == 0


def test_a_change_that_rolls_back_leaves_the_page_as_it_was(shelf):
    last, _, _ = shelf
    client = APIClient()
    client.get(LIST)

    with (
        TestCase.captureOnCommitCallbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        stock_adjust(product_id=last.id, delta=-1, reason="counted wrong")
        raise RuntimeError("the change is abandoned")

    assert in_stock(client.get(LIST))[last.id] is True


def test_a_sell_out_leaves_pages_that_do_not_show_the_product_alone(shelf):
    last, _, plenty = shelf
    client = APIClient()
    page = {"category": plenty.category.slug}
    first = client.get(LIST, page)

    sell_out(last)
    again = client.get(LIST, page)

    assert last.id not in in_stock(first)
    assert again.content == first.content and again["ETag"] == first["ETag"]


def test_a_warm_list_read_with_notes_is_one_redis_round_trip(shelf):
    if not shop_cache.on_redis():
        pytest.skip("round trips are Redis pipelines; this cache is not Redis")
    last, _, _ = shelf
    client = APIClient()
    client.get(LIST)
    sell_out(last)
    pipeline = type(shop_cache.redis_pipeline())
    with mock.patch.object(
        pipeline, "execute", autospec=True, side_effect=pipeline.execute
    ) as sent:
        response = client.get(LIST)

    assert in_stock(response)[last.id] is False
    assert sent.call_count == 1


# --- the marks and the overlay, on their own ----------------------------------------------------
def render(data) -> bytes:
    return JSONRenderer().render(data, "application/json")


TRICKY = {
    "count": 3,
    "next": None,
    "results": [
        # Text that looks like the field itself, in names and free-form attributes.
        {"id": 7, "name": '"in_stock":true', "attributes": {"in_stock": True}, "in_stock": True},
        {"id": 8, "name": "Plain", "attributes": {}, "in_stock": False},
        {"id": 9, "name": "ünïcode ☃", "attributes": {"in_stock": "false"}, "in_stock": True},
    ],
}


def test_marked_bytes_are_what_the_renderer_writes():
    body, marks = availability.render_marked(TRICKY, render)

    assert body == render(TRICKY)
    unpacked = availability.marks_unpacked(marks)
    assert [(pk, shown) for pk, _, shown in unpacked] == [(7, True), (8, False), (9, True)]
    for _, offset, shown in unpacked:
        assert body[offset:].startswith(b"true" if shown else b"false")


def test_the_overlay_writes_what_a_build_with_the_new_availability_writes():
    body, marks = availability.render_marked(TRICKY, render)
    changed = json.loads(json.dumps(TRICKY))
    changed["results"][0]["in_stock"] = False
    changed["results"][1]["in_stock"] = True

    # Later notes win; a note on a product the page does not show changes nothing.
    notes = b"7=1;8=1;7=0;9=0;42=0;9=1;"

    assert availability.overlay(body, marks, notes) == render(changed)
    assert availability.overlay(body, marks, b"7=1;8=0;42=1;") is None
