"""The wishlist: a customer saves products and sees only their own list."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers import wishlist
from customers.models import WishlistItem
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

WISHLIST = "/api/wishlist/"


def test_a_saved_product_is_on_the_wishlist(user_client, user):
    product = ProductFactory()

    response = user_client.post(WISHLIST, {"product": product.pk}, format="json")

    assert response.status_code == 201
    assert response.json()["product"]["id"] == product.pk
    listed = user_client.get(WISHLIST).json()
    assert [item["product"]["id"] for item in listed["results"]] == [product.pk]


def test_saving_a_product_again_keeps_one_entry(user_client, user):
    product = ProductFactory()
    user_client.post(WISHLIST, {"product": product.pk}, format="json")

    response = user_client.post(WISHLIST, {"product": product.pk}, format="json")

    assert response.status_code == 200
    assert WishlistItem.objects.filter(owner=user).count() == 1


def test_an_unknown_or_withdrawn_product_cannot_be_saved(user_client):
    withdrawn = ProductFactory(is_active=False)

    for product_id in (withdrawn.pk, 999999):
        response = user_client.post(WISHLIST, {"product": product_id}, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["details"]["product"]


def test_another_customers_wishlist_is_never_visible(user_client, user):
    other = UserFactory()
    theirs = ProductFactory()
    wishlist.wishlist_add(owner=other, product=theirs)

    assert user_client.get(WISHLIST).json()["results"] == []
    response = user_client.delete(f"{WISHLIST}{theirs.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert WishlistItem.objects.filter(owner=other, product=theirs).exists()


def test_a_product_is_taken_off_the_wishlist(user_client, user):
    product = ProductFactory()
    wishlist.wishlist_add(owner=user, product=product)

    response = user_client.delete(f"{WISHLIST}{product.pk}/")

    assert response.status_code == 204
    assert not WishlistItem.objects.filter(owner=user).exists()
    assert user_client.delete(f"{WISHLIST}{product.pk}/").status_code == 404


def test_an_anonymous_visitor_has_no_wishlist(api_client):
    assert api_client.get(WISHLIST).status_code == 401


# --- pages ----------------------------------------------------------------------------------
def test_the_product_page_saves_to_the_wishlist_and_the_wishlist_page_shows_it(client, user):
    product = ProductFactory(name="Walnut Desk Lamp")
    client.force_login(user)

    page = client.get(product.get_absolute_url())
    assert b"Save to wishlist" in page.content
    response = client.post(
        f"/accounts/wishlist/{product.pk}/save/", {"next": product.get_absolute_url()}
    )

    assert response.status_code == 302 and response["Location"] == product.get_absolute_url()
    assert b"Saved to wishlist" in client.get(product.get_absolute_url()).content
    assert b"Walnut Desk Lamp" in client.get("/accounts/wishlist/").content
    assert b"Walnut Desk Lamp" in client.get("/accounts/").content


def test_the_wishlist_page_shows_only_the_customers_own(client, user):
    wishlist.wishlist_add(owner=UserFactory(), product=ProductFactory(name="Someone Elses Vase"))
    client.force_login(user)

    assert b"Someone Elses Vase" not in client.get("/accounts/wishlist/").content


def test_a_save_never_redirects_to_another_site(client, user):
    product = ProductFactory()
    client.force_login(user)

    response = client.post(
        f"/accounts/wishlist/{product.pk}/save/", {"next": "https://evil.example/"}
    )

    assert response["Location"] == "/accounts/wishlist/"


def test_the_wishlist_costs_the_same_queries_however_long_it_is(user_client, user):
    def queries_for(n: int) -> int:
        for _ in range(n):
            wishlist.wishlist_add(owner=user, product=ProductFactory())
        with CaptureQueriesContext(connection) as captured:
            assert user_client.get(WISHLIST).status_code == 200
        return len(captured)

    assert queries_for(1) == queries_for(5)
