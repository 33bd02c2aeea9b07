"""The demo shop sells apparel and shoes in sizes and colours: parents with variants, each
variant with its own stock in the ledger."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum

from catalog import demo_data
from catalog.models import Product
from inventory.models import StockItem, StockMovement

pytestmark = pytest.mark.django_db


def load(**options):
    call_command("load_demo", products=0, no_progress=True, stdout=StringIO(), **options)


def test_the_demo_has_apparel_and_shoes_in_sizes_and_colours():
    load()

    parents = Product.objects.filter(structure=Product.Structure.PARENT)
    assert parents.count() == len(demo_data.VARIANT_FAMILIES)
    assert set(parents.values_list("category__slug", flat=True)) == {"mens", "womens", "shoes"}
    for parent in parents:
        assert [name for name, _ in parent.option_axes] == ["size", "colour"]
        variants = list(parent.variants.all())
        sizes, colours = dict(parent.option_axes).values()
        assert len(variants) == len(sizes) * len(colours)
        assert len({v.price for v in variants}) > 1  # some colours or sizes cost more
        assert parent.price == min(v.price for v in variants)
    assert not StockItem.objects.filter(product__structure=Product.Structure.PARENT).exists()


def test_loading_the_demo_twice_adds_no_variant_and_no_stock():
    load(families=2)
    products, ledger = Product.objects.count(), StockMovement.objects.aggregate(n=Sum("delta"))

    load(families=2)

    assert Product.objects.count() == products
    assert StockMovement.objects.aggregate(n=Sum("delta")) == ledger
    levels = StockItem.objects.aggregate(n=Sum("quantity"))["n"]
    assert ledger["n"] == levels > 0
