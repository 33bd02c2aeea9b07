from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from catalog import selectors, services
from catalog.models import Category, Product, ProductRelation
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_database_rejects_a_non_positive_price():
    product = ProductFactory()
    for bad in (Decimal("0"), Decimal("-1.00")):
        with pytest.raises(IntegrityError), transaction.atomic():
            Product.objects.filter(pk=product.pk).update(price=bad)


def test_database_rejects_a_bad_currency_code():
    product = ProductFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(currency="eu")


def test_database_rejects_a_self_loop_in_the_graph():
    product = ProductFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductRelation.objects.create(from_product=product, to_product=product)


def test_database_rejects_a_duplicate_edge_of_the_same_kind():
    a, b = ProductFactory(), ProductFactory()
    ProductRelation.objects.create(from_product=a, to_product=b, kind="related")
    ProductRelation.objects.create(from_product=a, to_product=b, kind="accessory")
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductRelation.objects.create(from_product=a, to_product=b, kind="related")


def test_relation_set_updates_the_weight_of_an_existing_edge():
    a, b = ProductFactory(), ProductFactory()
    services.relation_set(from_product=a, to_product=b, weight=Decimal("0.2"))
    services.relation_set(from_product=a, to_product=b, weight=Decimal("0.9"))
    assert list(ProductRelation.objects.values_list("weight", flat=True)) == [Decimal("0.900")]


def test_the_graph_is_directed_and_ordered_by_weight():
    phone, case, charger = ProductFactory(), ProductFactory(), ProductFactory()
    services.relation_set(
        from_product=phone, to_product=case, kind="accessory", weight=Decimal("0.5")
    )
    services.relation_set(
        from_product=phone, to_product=charger, kind="accessory", weight=Decimal("0.8")
    )

    assert [r.to_product for r in selectors.product_related(phone)] == [charger, case]
    assert selectors.product_related(case) == []
    assert selectors.product_related(phone, kinds=["substitute"]) == []


def test_category_descendants_follow_the_whole_tree():
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    grandchild = CategoryFactory(parent=child)
    CategoryFactory()

    assert set(selectors.category_descendant_ids(root.id)) == {root.id, child.id, grandchild.id}


def test_a_new_category_is_visible_to_the_cached_tree_at_once():
    root = services.category_create(name="Garden")
    assert set(selectors.category_descendant_ids(root.id)) == {root.id}
    child = services.category_create(name="Tools", parent=root)
    assert set(selectors.category_descendant_ids(root.id)) == {root.id, child.id}
    assert Category.objects.get(pk=child.pk).slug == "tools"
