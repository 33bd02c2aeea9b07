"""The demo data starts the stock ledger too, so its sums equal the levels from the start."""

import pytest
from django.core.management import call_command
from django.db.models import Sum

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
