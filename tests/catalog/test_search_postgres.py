"""Full-text search on PostgreSQL: the trigger-maintained vector, weights and the GIN index."""

import pytest
from django.db import connection

from catalog import selectors
from tests.factories import ProductFactory
from tests.utils import requires_postgres

pytestmark = [pytest.mark.django_db, requires_postgres]


def test_the_trigger_fills_the_search_vector_and_keeps_it_current():
    product = ProductFactory(name="Walnut desk", description="Solid wood")
    product.refresh_from_db()
    assert "walnut" in product.search_vector

    product.name = "Oak desk"
    product.save()
    product.refresh_from_db()
    assert "oak" in product.search_vector and "walnut" not in product.search_vector


def test_search_stems_words_and_ranks_name_above_description():
    in_description = ProductFactory(name="Moka pot", description="Brews espresso coffees")
    in_name = ProductFactory(name="Espresso machine", description="Stainless steel")

    found = list(selectors.product_list(search="espressos"))

    assert found == [in_name, in_description]


def test_search_understands_web_syntax():
    tea = ProductFactory(name="Green tea")
    ProductFactory(name="Green coffee")
    assert list(selectors.product_list(search="green -coffee")) == [tea]


def test_the_search_uses_the_gin_index():
    ProductFactory.create_batch(5)
    ProductFactory(name="Walnut desk")  # full text finds it: no typo fallback
    query = selectors.product_list(search="desk").query
    sql, params = query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "catalog_product_search_gin" in plan


def test_a_search_ranks_its_most_popular_matches_by_relevance(settings):
    settings.CATALOG_SEARCH_CANDIDATES = 2
    popular_in_description = ProductFactory(
        name="Moka pot", description="Brews espresso", popularity=10
    )
    in_name = ProductFactory(name="Espresso machine", popularity=5)
    ProductFactory(name="Espresso cups", popularity=1)  # not among the 2 most popular matches

    found = selectors.product_list(search="espresso")

    assert list(found) == [in_name, popular_in_description]
    assert found.count() == 2


def test_a_search_with_an_explicit_ordering_lists_every_match(settings):
    settings.CATALOG_SEARCH_CANDIDATES = 2
    products = [ProductFactory(name=f"Espresso cup {n}", price=10 + n) for n in range(3)]

    assert list(selectors.product_list(search="espresso", ordering="price")) == products
