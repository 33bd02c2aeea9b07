"""Wishlists and back-in-stock alerts for products sold in sizes and colours: a parent may be
saved (its size is chosen later), but stock, and so an alert, is kept per variant."""

import pytest

from customers.models import StockAlert, WishlistItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def sold_out_family(with_variants):
    return with_variants(name="Rain Jacket", options={"size": ["S", "M"]}, stock=0)


def test_an_alert_on_a_parent_is_refused_with_its_variants(user_client, sold_out_family):
    parent, variants = sold_out_family

    response = user_client.post(f"/api/products/{parent.pk}/notify-me/")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "product_unavailable"
    assert "Choose a size" in error["message"]
    assert error["details"]["variants"] == [v.pk for v in variants]
    assert not StockAlert.objects.exists()


def test_an_alert_on_a_sold_out_variant_is_taken(user_client, user, sold_out_family):
    _, variants = sold_out_family

    response = user_client.post(f"/api/products/{variants[0].pk}/notify-me/")

    assert response.status_code == 201
    assert StockAlert.objects.get().product == variants[0]


def test_a_sold_out_parents_page_offers_no_alert(client, user, sold_out_family):
    parent, _ = sold_out_family
    client.force_login(user)

    page = client.get(parent.get_absolute_url()).content.decode()

    assert "E-mail me when it is back" not in page
    assert "Save to wishlist" in page


def test_a_parent_can_be_saved_to_the_wishlist(user_client, user, sold_out_family):
    parent, _ = sold_out_family

    response = user_client.post("/api/wishlist/", {"product": parent.pk}, format="json")

    assert response.status_code == 201
    assert WishlistItem.objects.get(owner=user).product == parent
