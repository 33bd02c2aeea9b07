"""The storefront's page of a product with variants: one page, an option picker, the chosen
variant in the cart, and a variant's own address leading to its parent's page."""

import json
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import StockItem
from orders.models import CartItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def tshirt(with_variants):
    return with_variants(
        name="T-shirt",
        options={"size": ["S", "M"], "colour": ["Blue", "Black"]},
        prices={("M", "Blue"): "24.00"},
        price="19.00",
    )


def variant_data(html: str) -> dict:
    match = re.search(r'<script id="variant-data" type="application/json">(.*?)</script>', html)
    assert match, "the page carries the variants for the picker"
    return json.loads(match.group(1))


def test_a_parents_page_offers_each_option_as_a_group_of_choices(client, tshirt):
    parent, variants = tshirt

    html = client.get(parent.get_absolute_url()).content.decode()

    assert "<legend>Size</legend>" in html and "<legend>Colour</legend>" in html
    assert html.count('type="radio" name="option_size"') == 2
    assert html.count('type="radio" name="option_colour"') == 2
    assert 'value="M" data-option="size"' in html
    assert "From</span> €19.00" in html
    assert "Choose a size and colour" in html
    data = variant_data(html)
    assert [v["id"] for v in data["variants"]] == [v.pk for v in variants]
    assert data["variants"][2] == {
        "id": variants[2].pk,
        "sku": variants[2].sku,
        "options": {"size": "M", "colour": "Blue"},
        "price": "€24.00",
        "available": 5,
        "picture": None,
    }


def test_a_variants_address_leads_to_its_parents_page_with_it_chosen(client, tshirt):
    parent, variants = tshirt
    chosen = variants[2]  # M / Blue

    response = client.get(chosen.get_absolute_url())

    assert response.status_code == 302
    assert response["Location"] == f"{parent.get_absolute_url()}?variant={chosen.pk}"
    html = client.get(response["Location"]).content.decode()
    assert 'value="M" data-option="size" checked' in html
    assert 'value="Blue" data-option="colour" checked' in html
    assert 'id="product-price" aria-live="polite">€24.00<' in html
    assert f'<span id="product-sku">{chosen.sku}</span>' in html


def test_a_sold_out_option_value_is_marked(client, with_variants):
    parent, variants = with_variants(options={"size": ["S", "M"]})
    StockItem.objects.filter(product=variants[0]).update(quantity=0)

    html = client.get(parent.get_absolute_url()).content.decode()

    assert 'class="option-value sold-out"><input type="radio" name="option_size" value="S"' in html
    assert "(sold out)" in html


def test_a_parent_sold_out_in_every_variant_offers_no_cart_form(client, with_variants):
    parent, _ = with_variants(options={"size": ["S", "M"]}, stock=0)

    html = client.get(parent.get_absolute_url()).content.decode()

    assert "sold out in every size" in html and 'action="/cart/add/"' not in html


def test_the_chosen_options_put_that_variant_in_the_cart_by_its_name(client, tshirt):
    parent, variants = tshirt

    response = client.post(
        "/cart/add/",
        {"product": parent.pk, "option_size": "M", "option_colour": "Blue", "quantity": 2},
        follow=True,
    )

    html = response.content.decode()
    assert [(i.product_id, i.quantity) for i in CartItem.objects.all()] == [(variants[2].pk, 2)]
    assert "T-shirt — M / Blue" in html
    assert "€48.00" in html


def test_a_parent_without_chosen_options_is_not_put_in_the_cart(client, tshirt):
    parent, _ = tshirt

    response = client.post(
        "/cart/add/", {"product": parent.pk, "quantity": 1, "next": "/back/"}, follow=False
    )

    assert response["Location"] == "/back/"
    assert not CartItem.objects.exists()
    page = client.get("/cart/").content.decode()
    assert "Choose a size and colour of T-shirt" in page


def test_a_parents_page_costs_the_same_queries_however_many_variants(client, with_variants):
    def queries(product) -> int:
        cache.clear()
        client.get("/")  # the category tree is cached, as on a live shop
        with CaptureQueriesContext(connection) as captured:
            assert client.get(product.get_absolute_url()).status_code == 200
        return len(captured)

    small, _ = with_variants(name="Tee", options={"size": ["S"]})
    large, _ = with_variants(
        name="Hoodie", options={"size": ["XS", "S", "M", "L", "XL"], "colour": ["A", "B", "C"]}
    )

    assert queries(large) == queries(small)


def test_the_list_shows_a_parent_with_its_from_price_and_stock(client, tshirt):
    parent, _ = tshirt

    html = client.get("/products/").content.decode()

    assert parent.get_absolute_url() in html
    assert "€19.00" in html and "In stock" in html
    assert parent.price == Decimal("19.00")


def test_the_list_page_costs_the_same_queries_however_many_parents(client, with_variants):
    def queries() -> int:
        cache.clear()
        client.get("/")  # the category tree is cached, as on a live shop
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/products/").status_code == 200
        return len(captured)

    with_variants(name="Tee")
    few = queries()
    for name in ("Hoodie", "Sneaker", "Boot", "Cap"):
        with_variants(name=name, options={"size": ["S", "M", "L"], "colour": ["Red", "Blue"]})

    assert queries() == few


def test_the_picker_has_a_variants_own_picture_drawn_as_the_page_draws_pictures(client, tshirt):
    from catalog import services
    from tests.factories import picture_file

    parent, variants = tshirt
    services.product_image_add(product=parent, image=picture_file(), alt="The T-shirt")
    own = services.product_image_add(
        product=variants[2], image=picture_file(colour=(20, 40, 200)), alt="The blue one"
    )

    html = client.get(parent.get_absolute_url()).content.decode()

    pictures = {v["id"]: v["picture"] for v in variant_data(html)["variants"]}
    assert pictures[variants[0].pk] is None  # keeps the parent's picture
    chosen = pictures[variants[2].pk]
    assert chosen.startswith('<picture class="picture picture-detail">')
    assert own.detail_jpeg.url in chosen and 'alt="The blue one"' in chosen
    # The page itself shows the parent's picture until a variant is chosen.
    main = re.search(r'id="product-picture">(.*?)</div>', html, re.S).group(1)
    assert 'alt="The T-shirt"' in main
