"""stock_open: many products' stock records opened at once, each in the ledger."""

import pytest
from django.core.exceptions import ValidationError

from catalog.selectors import CATALOG_CACHE_AREA
from inventory import selectors
from inventory.models import ReorderRequest, StockItem, StockMovement
from inventory.services import OpeningStock, stock_add, stock_open
from shop.cache import area_version
from tests.factories import ProductFactory, StaffFactory

pytestmark = pytest.mark.django_db


def test_opening_creates_each_record_with_one_restock_row_per_unit_count():
    a, b, empty = ProductFactory(), ProductFactory(), ProductFactory()
    staff = StaffFactory()

    items = stock_open(
        lines=[
            OpeningStock(b.pk, 3, reorder_point=1, reorder_quantity=9),
            OpeningStock(a.pk, 7),
            OpeningStock(empty.pk, 0),
        ],
        reason="opening count",
        reference="IMPORT-1",
        actor=staff,
    )

    assert [item.product_id for item in items] == sorted([a.pk, b.pk, empty.pk])
    stock = {item.product_id: item for item in StockItem.objects.all()}
    assert (stock[a.pk].quantity, stock[a.pk].reserved) == (7, 0)
    assert (stock[b.pk].reorder_point, stock[b.pk].reorder_quantity) == (1, 9)
    assert stock[empty.pk].quantity == 0
    rows = StockMovement.objects.values_list("product_id", "delta", "kind", "reference", "actor")
    assert sorted(rows) == sorted(
        [(a.pk, 7, "restock", "IMPORT-1", staff.pk), (b.pk, 3, "restock", "IMPORT-1", staff.pk)]
    )
    for product in (a, b, empty):
        assert selectors.ledger_totals(product.pk) == (stock[product.pk].quantity, 0)


def test_opening_again_leaves_existing_records_and_the_ledger_alone():
    product, later = ProductFactory(), ProductFactory()
    stock_add(product_id=product.pk, quantity=4, reason="delivery")

    created = stock_open(
        lines=[OpeningStock(product.pk, 50), OpeningStock(later.pk, 2)], reason="opening"
    )
    stock_open(lines=[OpeningStock(later.pk, 2)], reason="opening")

    assert [item.product_id for item in created] == [later.pk]
    assert StockItem.objects.get(pk=product.pk).quantity == 4
    assert selectors.ledger_totals(product.pk) == (4, 0)
    assert selectors.ledger_totals(later.pk) == (2, 0)


def test_a_negative_opening_quantity_is_refused_and_nothing_is_written():
    good, bad = ProductFactory(), ProductFactory()

    with pytest.raises(ValidationError):
        stock_open(lines=[OpeningStock(good.pk, 5), OpeningStock(bad.pk, -1)], reason="x")

    assert not StockItem.objects.exists()
    assert not StockMovement.objects.exists()


def test_a_product_twice_in_one_call_is_refused():
    product = ProductFactory()

    with pytest.raises(ValueError):
        stock_open(lines=[OpeningStock(product.pk, 1), OpeningStock(product.pk, 2)], reason="x")

    assert not StockItem.objects.exists()


def test_an_opening_count_at_the_reorder_point_raises_no_reorder():
    product = ProductFactory()

    stock_open(lines=[OpeningStock(product.pk, 1, reorder_point=5)], reason="opening")

    assert not ReorderRequest.objects.exists()


def test_opening_stock_refreshes_the_catalog_cache(django_capture_on_commit_callbacks):
    product = ProductFactory()
    before = area_version(CATALOG_CACHE_AREA)

    with django_capture_on_commit_callbacks(execute=True):
        stock_open(lines=[OpeningStock(product.pk, 3)], reason="opening")

    assert area_version(CATALOG_CACHE_AREA) > before
