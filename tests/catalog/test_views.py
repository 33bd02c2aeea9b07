"""The catalog's storefront pages, through Django's test client."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from catalog.models import ProductRelation
from shop.templatetags.shop_tags import money
from tests.factories import (
    CategoryFactory,
    ProductFactory,
    ProductRelationFactory,
    StockItemFactory,
)

pytestmark = pytest.mark.django_db

LIST_URL = reverse("catalog:product-list")


@pytest.fixture
def phones():
    electronics = CategoryFactory(name="Electronics", slug="electronics", is_featured=True)
    return CategoryFactory(name="Phones", slug="phones", parent=electronics)


def names(response) -> list[str]:
    return [p.name for p in response.context["page"].object_list]


# --- the money filter -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (Decimal("1349.99"), "EUR", "€1,349.99"),
        (Decimal("5"), "USD", "$5.00"),
        (Decimal("1234567.5"), "GBP", "£1,234,567.50"),
        (Decimal("1349.99"), "CHF", "1,349.99 CHF"),
        (Decimal("0.10"), "eur", "€0.10"),
        (Decimal("-3.50"), "EUR", "-€3.50"),
        ("12.345", "EUR", "€12.35"),
        (None, "EUR", ""),
        ("not a number", "EUR", ""),
    ],
)
def test_money_formats_amounts_with_the_currency(amount, currency, expected):
    assert money(amount, currency) == expected


def test_money_filter_works_in_templates():
    rendered = Template("{% load shop_tags %}{{ price|money:currency }}").render(
        Context({"price": Decimal("1349.99"), "currency": "EUR"})
    )
    assert rendered == "€1,349.99"


def test_query_with_keeps_other_parameters_and_replaces_one():
    request = RequestFactory().get("/products/", {"search": "red shoe", "page": "2", "x": "1"})
    rendered = Template("{% load shop_tags %}{% query_with page=3 x='' %}").render(
        Context({"request": request})
    )
    assert rendered == "search=red+shoe&amp;page=3"


# --- home -----------------------------------------------------------------------------------
def test_home_shows_featured_categories_and_popular_products(client, phones):
    ProductFactory(name="Quiet Phone", category=phones, popularity=50)
    ProductFactory(name="Unloved Phone", category=phones, popularity=0, is_active=False)

    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/products/?category=electronics"' in html
    assert "Quiet Phone" in html
    assert "Unloved Phone" not in html
    assert [p.name for p in response.context["popular"]] == ["Quiet Phone"]


def test_header_links_to_cart_account_pages_and_categories(client, phones, user):
    html = client.get("/").content.decode()
    assert 'href="/cart/"' in html
    assert reverse("login") in html and reverse("register") in html
    assert ">Electronics</a>" in html  # category navigation

    client.force_login(user)
    html = client.get("/").content.decode()
    assert f"Hi, {user.username}" in html
    assert 'href="/orders/"' in html
    assert 'action="/accounts/logout/" method="post"' in html
    assert "/admin/" not in html


def test_staff_see_a_link_to_the_admin(client, staff):
    client.force_login(staff)
    assert 'href="/admin/"' in client.get("/").content.decode()


# --- product list ---------------------------------------------------------------------------
def test_list_shows_active_products_with_formatted_prices(client, phones):
    ProductFactory(name="Phone A", category=phones, price=Decimal("1349.99"), currency="EUR")
    ProductFactory(name="Hidden", category=phones, is_active=False)

    response = client.get(LIST_URL)

    assert response.status_code == 200
    assert names(response) == ["Phone A"]
    assert "€1,349.99" in response.content.decode()


def test_category_filter_includes_sub_categories_and_highlights_the_current_one(client, phones):
    other = CategoryFactory(name="Books", slug="books")
    ProductFactory(name="Phone", category=phones)
    ProductFactory(name="Novel", category=other)

    response = client.get(LIST_URL, {"category": "electronics"})

    assert names(response) == ["Phone"]
    html = response.content.decode()
    assert 'aria-current="page" class="current">Electronics <span class="facet-count">(1)' in html
    # The current category is opened to show its children.
    assert '>Phones <span class="facet-count">(1)</span></a>' in html
    assert response.context["category"]["slug"] == "electronics"


def test_search_finds_words_in_name(client, phones):
    ProductFactory(name="Red Running Shoe", category=phones)
    ProductFactory(name="Blue Kettle", category=phones)

    response = client.get(LIST_URL, {"search": "shoe"})

    assert names(response) == ["Red Running Shoe"]
    assert "Results for “shoe”" in response.content.decode()


def test_price_range_filters_and_keeps_the_typed_values(client, phones):
    for price in ("5.00", "15.00", "25.00"):
        ProductFactory(name=f"P{price}", category=phones, price=Decimal(price))

    response = client.get(LIST_URL, {"min_price": "10", "max_price": "20"})

    assert names(response) == ["P15.00"]
    html = response.content.decode()
    assert 'name="min_price" value="10"' in html
    assert 'name="max_price" value="20"' in html


def test_attribute_facets_are_checkboxes_and_filter_the_list(client, phones):
    ProductFactory(name="Black phone", category=phones, attributes={"color": "black"})
    ProductFactory(name="White phone", category=phones, attributes={"color": "white"})

    response = client.get(LIST_URL, {"category": "phones", "attr_color": "white"})

    assert names(response) == ["White phone"]
    html = response.content.decode()
    # Both values stay offered, the chosen one ticked, so the choice can be widened.
    assert 'name="attr_color" value="white" checked' in html
    assert 'name="attr_color" value="black">' in html


def test_sorting_by_price(client, phones):
    for price in ("30.00", "10.00", "20.00"):
        ProductFactory(name=f"P{price}", category=phones, price=Decimal(price))

    response = client.get(LIST_URL, {"ordering": "-price"})

    assert names(response) == ["P30.00", "P20.00", "P10.00"]
    assert '<option value="-price" selected>' in response.content.decode()


def test_pagination_links_keep_the_filters(client, phones):
    ProductFactory.create_batch(30, category=phones, price=Decimal("12.00"))

    response = client.get(LIST_URL, {"category": "phones", "min_price": "10"})

    assert len(response.context["page"].object_list) == 24
    html = response.content.decode()
    assert 'href="?category=phones&amp;min_price=10&amp;page=2"' in html

    second = client.get(LIST_URL, {"category": "phones", "min_price": "10", "page": "2"})
    assert len(second.context["page"].object_list) == 6


@pytest.mark.parametrize("page", ["abc", "999", "-1"])
def test_a_bad_page_number_shows_a_page_not_an_error(client, phones, page):
    ProductFactory(category=phones)
    assert client.get(LIST_URL, {"page": page}).status_code == 200


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"min_price": "cheap"}, "Minimum price: Enter a number."),
        ({"min_price": "20", "max_price": "10"}, "Maximum price:"),
        ({"category": "no-such-category"}, "Category: Unknown category: no-such-category."),
        ({"ordering": "sideways"}, "Sort order: Select a valid choice."),
        ({"attr_bad name": "x"}, "Filter “bad name”:"),
    ],
)
def test_invalid_filters_show_a_message_and_keep_what_was_typed(client, phones, params, message):
    ProductFactory(category=phones)

    response = client.get(LIST_URL, {"search": "typed words", **params})

    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert 'role="alert"' in html
    assert 'value="typed words"' in html
    assert names(response) == []


def test_list_page_costs_a_fixed_number_of_queries(client, phones, django_assert_max_num_queries):
    for i in range(30):
        product = ProductFactory(category=phones, attributes={"color": "black"})
        StockItemFactory(product=product, quantity=i % 4)
    client.get(LIST_URL)  # warm the category tree cache, as in production

    # The list (6) and its facets, not cached yet for this filter: categories, price range,
    # the attributes, and the one attribute filtered on.
    with django_assert_max_num_queries(10):
        response = client.get(LIST_URL, {"category": "phones", "attr_color": "black"})

    assert len(response.context["page"].object_list) == 24


# --- product detail -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("quantity", "reserved", "label"),
    [(10, 0, "In stock"), (5, 2, "Only 3 left"), (4, 4, "Out of stock")],
)
def test_detail_shows_availability(client, phones, quantity, reserved, label):
    product = ProductFactory(category=phones)
    StockItemFactory(product=product, quantity=quantity, reserved=reserved)

    html = client.get(product.get_absolute_url()).content.decode()

    assert f'id="availability">{label}</p>' in html


def test_product_without_stock_record_is_out_of_stock_and_cannot_be_added(client, phones):
    product = ProductFactory(category=phones)

    html = client.get(product.get_absolute_url()).content.decode()

    assert "Out of stock" in html
    assert 'action="/cart/add/"' not in html


def test_detail_has_an_add_to_cart_form_limited_to_what_is_available(client, phones):
    product = ProductFactory(
        category=phones,
        name="Phone X",
        price=Decimal("1349.99"),
        currency="GBP",
        attributes={"storage_gb": 256, "wireless": True},
    )
    StockItemFactory(product=product, quantity=7, reserved=0)

    response = client.get(product.get_absolute_url())

    html = response.content.decode()
    assert "<h1>Phone X</h1>" in html
    assert "£1,349.99" in html
    assert 'action="/cart/add/"' in html
    assert "csrfmiddlewaretoken" in html
    assert f'name="product" value="{product.id}"' in html
    assert 'name="quantity" value="1" min="1" max="7"' in html
    assert ("Storage (GB)", "256") in response.context["attributes"]
    assert ("Wireless", "Yes") in response.context["attributes"]
    # Breadcrumbs walk the category tree.
    assert [node["slug"] for node in response.context["breadcrumbs"]] == ["electronics", "phones"]


def test_related_products_are_grouped_by_kind(client, phones):
    product = ProductFactory(category=phones)
    case = ProductFactory(name="Case", category=phones)
    cheaper = ProductFactory(name="Cheaper phone", category=phones)
    retired = ProductFactory(name="Retired", category=phones, is_active=False)
    ProductRelationFactory(from_product=product, to_product=case, kind="accessory")
    ProductRelationFactory(from_product=product, to_product=cheaper, kind="substitute")
    ProductRelationFactory(
        from_product=product, to_product=retired, kind=ProductRelation.Kind.RELATED
    )

    response = client.get(product.get_absolute_url())

    sections = {
        s["title"]: [p.name for p in s["products"]] for s in response.context["related_sections"]
    }
    assert sections == {"Accessories": ["Case"], "Alternatives": ["Cheaper phone"]}


def test_unknown_and_inactive_products_are_a_friendly_404(client, phones):
    inactive = ProductFactory(category=phones, is_active=False)

    for url in ("/products/no-such-thing/", inactive.get_absolute_url()):
        response = client.get(url)
        assert response.status_code == 404
        html = response.content.decode()
        assert "We couldn't find that page" in html
        assert 'href="/products/"' in html  # a way back into the shop


def test_server_error_page_renders_without_the_database(settings, django_db_blocker):
    from shop.views import server_error

    with django_db_blocker.block():  # any query would raise here
        response = server_error(RequestFactory().get("/products/"))

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
    assert settings.SHOP_NAME in response.content.decode()


def test_header_shows_the_cart_count_when_the_context_has_one(rf, phones):
    from django.contrib.auth.models import AnonymousUser
    from django.template.loader import render_to_string

    request = rf.get("/")
    request.user = AnonymousUser()

    html = render_to_string("404.html", {"cart_count": 3}, request=request)

    assert '<span class="cart-count">3<span class="visually-hidden"> items</span>' in html


def test_home_and_detail_cost_a_fixed_number_of_queries(
    client, phones, django_assert_max_num_queries
):
    product = ProductFactory(category=phones, popularity=100)
    for _ in range(8):
        other = ProductFactory(category=phones, popularity=10)
        StockItemFactory(product=other)
        ProductRelationFactory(from_product=product, to_product=other, kind="related")
    client.get("/")  # warm the category tree cache

    with django_assert_max_num_queries(4):  # + the pictures of the popular products
        client.get("/")
    with django_assert_max_num_queries(6):  # + the pictures of the product and its neighbours
        response = client.get(product.get_absolute_url())
    assert len(response.context["related_sections"][0]["products"]) == 8


def test_a_category_newer_than_the_cached_tree_still_gets_its_title(client, phones):
    client.get(LIST_URL)  # the category tree is now cached without the new category
    tablets = CategoryFactory(name="Tablets", slug="tablets")
    ProductFactory(name="Slate", category=tablets)

    response = client.get(LIST_URL, {"category": "tablets"})

    assert names(response) == ["Slate"]
    assert "<h1>Tablets</h1>" in response.content.decode()
