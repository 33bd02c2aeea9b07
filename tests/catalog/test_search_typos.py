"""Typo tolerance: when the words as typed find nothing, close matches and "did you mean"."""

import pytest
from django.db import connection

from catalog import selectors
from tests.factories import CategoryFactory, ProductFactory
from tests.utils import requires_postgres

pytestmark = pytest.mark.django_db
URL = "/api/products/"


@pytest.fixture
def shop():
    audio = CategoryFactory(slug="audio", name="Audio")
    return {
        "headphones": ProductFactory(name="Sony Wireless Headphones", category=audio),
        "speaker": ProductFactory(name="JBL Bluetooth Speaker", category=audio),
        "lamp": ProductFactory(name="Oak Desk Lamp"),
    }


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


def test_a_misspelt_word_finds_the_product_and_suggests_the_spelling(api_client, shop):
    response = api_client.get(URL, {"search": "headphnes"})

    assert names(response) == ["Sony Wireless Headphones"]
    assert response.json()["did_you_mean"] == "headphones"


def test_words_that_match_as_typed_get_no_suggestion(api_client, shop):
    response = api_client.get(URL, {"search": "speaker"})

    assert names(response) == ["JBL Bluetooth Speaker"]
    assert response.json()["did_you_mean"] is None


def test_the_list_without_a_search_has_no_suggestion(api_client, shop):
    assert api_client.get(URL).json()["did_you_mean"] is None


def test_several_words_are_corrected_one_by_one(shop):
    assert selectors.search_suggestion("wireles headphnes") == "wireless headphones"


def test_nothing_close_finds_nothing_and_suggests_nothing(api_client, shop):
    response = api_client.get(URL, {"search": "xylophone"})

    assert names(response) == []
    assert response.json()["did_you_mean"] is None


def test_the_search_page_offers_the_correction_as_a_link(client, shop):
    html = client.get("/products/", {"search": "headphnes", "ordering": "price"}).content.decode()

    assert 'class="did-you-mean"' in html
    assert '<a href="?search=headphones&amp;ordering=price">headphones</a>' in html
    assert "Sony Wireless Headphones" in html


def test_a_typo_inside_a_category_is_found_there(api_client, shop):
    response = api_client.get(URL, {"search": "speakr", "category": "audio"})

    assert names(response) == ["JBL Bluetooth Speaker"]


@requires_postgres
def test_the_fallback_uses_the_trigram_index(shop):
    query = selectors.product_list(search="headphnes").query
    sql, params = query.sql_with_params()
    with connection.cursor() as cursor:
        # A table this small is read whole; forbid that (and walking the primary key).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "catalog_product_name_trgm" in plan, plan


@requires_postgres
def test_full_text_matches_are_not_mixed_with_trigram_ones(shop):
    ProductFactory(name="Headphone stand")  # "headphon" stems alike: full text finds both

    found = [p.name for p in selectors.product_list(search="headphones")]

    assert sorted(found) == ["Headphone stand", "Sony Wireless Headphones"]
