"""Storefront blocks: recommendations on the home page, similar products, reviews, views."""

import pytest
from django.test import Client

from recommendations import training
from recommendations.models import Interaction, Review

pytestmark = pytest.mark.django_db


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_home_shows_a_known_customers_recommendations(shoppers, products):
    training.training_run(algorithms=["item_knn"])

    page = logged_in(shoppers[0]).get("/").content.decode()

    assert "Recommended for you" in page
    assert products[2].name in page
    assert "Because you looked at " in page


def test_home_shows_no_personal_block_to_anonymous_visitors(products):
    page = Client().get("/").content.decode()

    assert "Recommended for you" not in page


def test_product_page_shows_customers_also_bought_and_records_one_view(shoppers, products):
    training.training_run(algorithms=["item_knn"])
    client = logged_in(shoppers[0])

    page = client.get(products[0].get_absolute_url()).content.decode()
    client.get(products[0].get_absolute_url())

    assert "Customers also bought" in page
    assert products[6].name in page
    assert (
        Interaction.objects.filter(user=shoppers[0], product=products[0], kind="view").count() == 1
    )


def test_anonymous_product_views_are_not_recorded(products):
    Client().get(products[0].get_absolute_url())

    assert not Interaction.objects.filter(kind="view").exists()


def test_a_buyer_sees_the_review_form_and_posts_a_review(paid_line):
    from tests.factories import StockItemFactory

    StockItemFactory(product=paid_line.product)
    client = logged_in(paid_line.order.user)
    product = paid_line.product

    page = client.get(product.get_absolute_url()).content.decode()
    response = client.post(
        f"/products/{product.pk}/reviews/", {"rating": 5, "title": "Lovely", "text": "Yes."}
    )
    after = client.get(product.get_absolute_url()).content.decode()

    assert "Review this product" in page
    assert response.status_code == 302
    assert Review.objects.get().rating == 5
    assert "Lovely" in after and "5.0 out of 5" in after
    assert "Review this product" not in after


def test_a_customer_who_did_not_buy_sees_no_form_and_cannot_post(user, products):
    client = logged_in(user)

    page = client.get(products[0].get_absolute_url()).content.decode()
    client.post(f"/products/{products[0].pk}/reviews/", {"rating": 5})

    assert "Review this product" not in page
    assert not Review.objects.exists()
