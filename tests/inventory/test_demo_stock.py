"""The demo data opens its stock through the inventory service, so the ledger sums equal the
levels from the start."""

from unittest import mock

import pytest
from django.core.management import call_command
from django.db.models import Sum

from inventory import services
from inventory.models import StockItem, StockMovement

pytestmark = pytest.mark.django_db


def test_demo_stock_is_in_the_ledger_once_even_when_loaded_twice():
    call_command("load_demo", products=40, no_progress=True, verbosity=0)
    call_command("load_demo", products=40, no_progress=True, verbosity=0)

    ledger = dict(
        StockMovement.objects.values("product_id")
        .annotate(total=Sum("delta"))
        .values_list("product_id", "total")
    )
    levels = dict(StockItem.objects.filter(quantity__gt=0).values_list("product_id", "quantity"))
    assert levels and ledger == levels
    assert set(StockMovement.objects.values_list("kind", "reason")) == {("restock", "demo data")}


def test_demo_stock_is_written_only_by_the_inventory_service():
    created = []

    def stock_open(**kwargs):
        items = services.stock_open(**kwargs)
        created.extend(items)
        return items

    with mock.patch("catalog.management.commands.load_demo.stock_open", side_effect=stock_open):
        call_command("load_demo", products=40, families=0, no_progress=True, verbosity=0)

    stock = set(StockItem.objects.values_list("product_id", flat=True))
    assert len(stock) == 40
    assert {item.product_id for item in created} == stock


def test_a_demo_product_that_lost_its_stock_record_gets_it_back():
    call_command("load_demo", products=10, no_progress=True, verbosity=0)
    item = StockItem.objects.filter(quantity__gt=0).first()
    StockItem.objects.filter(pk=item.pk).delete()
    StockMovement.objects.filter(product_id=item.pk).delete()

    call_command("load_demo", products=10, no_progress=True, verbosity=0)

    assert StockItem.objects.get(pk=item.pk).quantity == item.quantity
    assert StockMovement.objects.filter(product_id=item.pk).count() == 1
