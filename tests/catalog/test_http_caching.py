"""HTTP caching of anonymous catalog reads (shop/http_cache.py): public with an ETag and 304s
for anonymous GETs of the product API and the storefront's product pages, private for anyone
the answer may belong to, and a Vary that keeps one visitor's variant from another."""

from decimal import Decimal

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog import services
from tests.factories import ProductFactory, StaffFactory, StockItemFactory, UserFactory

pytestmark = pytest.mark.django_db
LIST = "/api/products/"


def vary(response) -> set[str]:
    return {v.strip().lower() for v in response.get("Vary", "").split(",") if v.strip()}


def directives(response) -> set[str]:
    return {d.strip() for d in response.get("Cache-Control", "").split(",") if d.strip()}


@pytest.fixture
def product():
    product = ProductFactory(price=Decimal("20.00"))
    StockItemFactory(product=product, quantity=5)
    return product


@pytest.fixture(params=["list", "detail"])
def api_path(request, product):
    return LIST if request.param == "list" else f"{LIST}{product.id}/"


def test_anonymous_api_reads_are_public_for_the_catalog_cache_lifetime(settings, api_path):
    settings.CATALOG_HTTP_CACHE_SECONDS = 45
    response = APIClient().get(api_path)

    assert response.status_code == 200
    assert directives(response) == {"public", "max-age=45"}
    assert response["ETag"].startswith('"') and len(response["ETag"]) > 10
    assert {"accept", "cookie", "authorization"} <= vary(response)
    assert not response.cookies


def test_the_cached_answer_is_the_json_drf_renders(product):
    client = APIClient()
    first = client.get(f"{LIST}{product.id}/")  # built and stored
    second = client.get(f"{LIST}{product.id}/")  # served from the cache

    assert first["Content-Type"] == second["Content-Type"] == "application/json"
    assert second.content == first.content
    assert second.json()["price"] == "20.00"
    assert second["ETag"] == first["ETag"]


def test_a_matching_if_none_match_is_answered_304_without_a_body(api_path):
    client = APIClient()
    etag = client.get(api_path)["ETag"]

    response = client.get(api_path, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag
    assert "public" in directives(response)


def test_a_stale_if_none_match_gets_the_whole_answer(api_path):
    response = APIClient().get(api_path, HTTP_IF_NONE_MATCH='"not-the-current-one"')

    assert response.status_code == 200
    assert response.content


def test_the_etag_changes_when_a_price_changes(api_path, product):
    client = APIClient()
    before = client.get(api_path)["ETag"]

    services.product_update(product=product, price=Decimal("25.00"))
    response = client.get(api_path, HTTP_IF_NONE_MATCH=before)

    assert response.status_code == 200
    assert response["ETag"] != before
    assert "25.00" in response.content.decode()


def test_token_clients_get_a_private_answer_without_an_etag(api_path):
    token = Token.objects.create(user=UserFactory())
    response = APIClient().get(api_path, HTTP_AUTHORIZATION=f"Token {token.key}")

    assert response.status_code == 200
    assert "public" not in directives(response)
    assert "private" in directives(response)
    assert not response.has_header("ETag")
    assert {"accept", "cookie", "authorization"} <= vary(response)


def test_signed_in_browsers_get_a_private_answer_and_no_304(api_path):
    client = Client()
    client.force_login(UserFactory())
    etag = APIClient().get(api_path)["ETag"]

    response = client.get(api_path, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 200
    assert "private" in directives(response) and "public" not in directives(response)
    assert not response.has_header("ETag")


def test_staff_see_inactive_products_in_private_answers():
    hidden = ProductFactory(is_active=False)
    client = APIClient()
    client.force_authenticate(StaffFactory())

    response = client.get(f"{LIST}{hidden.id}/")

    assert response.status_code == 200
    assert "private" in directives(response)
    assert APIClient().get(f"{LIST}{hidden.id}/").status_code == 404


def test_other_representations_are_the_same_data_with_their_own_validator(product):
    client = APIClient()
    json_etag = client.get(f"{LIST}{product.id}/")["ETag"]

    response = client.get(f"{LIST}{product.id}/", HTTP_ACCEPT="application/json; indent=2")

    assert response.status_code == 200
    assert response.content.startswith(b"{\n  ")
    assert response.json()["price"] == "20.00"
    assert response.get("ETag") != json_etag


def test_errors_are_not_made_cacheable():
    response = APIClient().get(f"{LIST}999999/")

    assert response.status_code == 404
    assert "public" not in directives(response)


# --- the storefront ------------------------------------------------------------------------


def test_the_storefront_list_is_public_for_anonymous_visitors_with_a_working_etag(product):
    client = Client()
    response = client.get("/products/")

    assert response.status_code == 200
    assert "public" in directives(response)
    assert "cookie" in vary(response)
    assert not response.cookies
    etag = response["ETag"]
    assert client.get("/products/", HTTP_IF_NONE_MATCH=etag).status_code == 304

    services.product_update(product=product, price=Decimal("30.00"))
    changed = client.get("/products/", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_the_storefront_list_is_private_for_signed_in_customers(product):
    client = Client()
    client.force_login(UserFactory())

    response = client.get("/products/")

    assert response.status_code == 200
    assert "private" in directives(response) and "public" not in directives(response)
    assert not response.has_header("ETag")


def test_a_product_page_with_a_form_is_never_shared_with_its_csrf_cookie(product):
    """The add-to-cart form carries a CSRF token and the answer sets the visitor's CSRF
    cookie: a shared cache would hand both to everyone."""
    response = Client().get(product.get_absolute_url())

    assert response.status_code == 200
    assert response.cookies
    assert "private" in directives(response) and "public" not in directives(response)
    assert not response.has_header("ETag")


def test_a_product_page_without_a_form_is_public_with_an_etag():
    sold_out = ProductFactory()
    StockItemFactory(product=sold_out, quantity=0)
    client = Client()

    response = client.get(sold_out.get_absolute_url())

    assert response.status_code == 200
    assert not response.cookies
    assert "public" in directives(response)
    assert "cookie" in vary(response)
    etag = response["ETag"]
    assert client.get(sold_out.get_absolute_url(), HTTP_IF_NONE_MATCH=etag).status_code == 304
