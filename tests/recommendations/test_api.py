"""The recommendations API: answers, permissions, validation errors and caching."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from recommendations import training
from recommendations.models import Interaction, Review
from tests.factories import InteractionFactory, ProductFactory, UserFactory, bought_line

pytestmark = pytest.mark.django_db


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_anonymous_visitors_get_popular_products(api_client, products):
    products[5].popularity = 9
    products[5].save()

    response = api_client.get("/api/recommendations/?limit=2")

    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 2
    assert results[0]["product"]["id"] == products[5].pk
    assert results[0]["reason"] == "popular"
    assert set(results[0]["product"]) >= {"id", "name", "price", "in_stock", "url"}


def test_each_recommendation_says_which_of_the_customers_products_it_comes_from(shoppers, products):
    # Shopper 0 has products 0, 1 and 6; product 2 goes with 0 and 1. A purchase of 0 turns
    # "looked at" into "bought" where 0 is the product behind the recommendation.
    training.training_run(algorithms=["item_knn"])

    first = client_for(shoppers[0]).get("/api/recommendations/?limit=1").json()["results"][0]

    assert first["product"]["id"] == products[2].pk
    anchor = first["explanation"]["product"]
    assert anchor in {products[0].pk, products[1].pk}
    named = next(p for p in products if p.pk == anchor)
    assert first["explanation"] == {
        "kind": "viewed",
        "text": f"Because you looked at {named.name}",
        "product": anchor,
    }
    InteractionFactory(user=shoppers[0], product=named, kind="purchase")
    training.training_run(algorithms=["item_knn"])
    again = client_for(shoppers[0]).get("/api/recommendations/?limit=1").json()["results"][0]
    assert again["explanation"]["kind"] == "bought"
    assert again["explanation"]["text"].startswith("Because you bought ")


def test_popular_and_similar_products_say_why_too(api_client, shoppers, products):
    training.training_run(algorithms=["item_knn"])

    popular = api_client.get("/api/recommendations/?limit=1").json()["results"][0]
    similar = api_client.get(f"/api/products/{products[0].pk}/similar/?limit=1").json()

    assert popular["explanation"] == {
        "kind": "popular",
        "text": "Popular right now",
        "product": None,
    }
    assert similar["results"][0]["explanation"] == {
        "kind": "together",
        "text": f"Often bought with {products[0].name}",
        "product": products[0].pk,
    }


def test_a_known_customer_gets_the_models_recommendations(shoppers, products):
    training.training_run(algorithms=["item_knn", "nmf"])

    response = client_for(shoppers[0]).get("/api/recommendations/?limit=1&algorithm=item_knn")

    assert response.status_code == 200
    [first] = response.json()["results"]
    assert first["product"]["id"] == products[2].pk
    assert first["reason"] == "similar_items"
    nmf = client_for(shoppers[0]).get("/api/recommendations/?limit=1&algorithm=nmf").json()
    assert nmf["results"][0]["reason"] == "factorization"


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=51", "limit=ten", "algorithm=magic", "limit=-3"]
)
def test_bad_limit_or_algorithm_is_a_400_in_the_error_format(api_client, query):
    response = api_client.get(f"/api/recommendations/?{query}")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_similar_products_come_from_the_serving_model(api_client, shoppers, products):
    training.training_run(algorithms=["item_knn"])

    response = api_client.get(f"/api/products/{products[0].pk}/similar/?limit=2")

    assert response.status_code == 200
    ids = [r["product"]["id"] for r in response.json()["results"]]
    assert ids[0] == products[6].pk
    assert set(ids) <= {products[i].pk for i in (1, 2, 6)}


def test_similar_products_of_an_unknown_product_is_a_404(api_client):
    response = api_client.get("/api/products/999999/similar/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_customer_records_an_interaction_for_themselves(user_client, user):
    product = bought_line(user=user).product  # a rating is of something bought

    response = user_client.post(
        "/api/interactions/", {"product": product.pk, "kind": "rating", "value": 4}, format="json"
    )

    assert response.status_code == 201, response.json()
    interaction = Interaction.objects.get()
    assert (interaction.user, interaction.kind, interaction.value) == (user, "rating", 4.0)


def test_a_customer_cannot_record_for_someone_else(user_client):
    other, product = UserFactory(), ProductFactory()

    response = user_client.post(
        "/api/interactions/",
        {"product": product.pk, "kind": "view", "user": other.pk},
        format="json",
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not Interaction.objects.exists()


def test_staff_may_record_for_a_customer(staff_client, user):
    product = ProductFactory()

    response = staff_client.post(
        "/api/interactions/",
        {"product": product.pk, "kind": "cart", "user": user.pk},
        format="json",
    )

    assert response.status_code == 201
    assert Interaction.objects.get().user == user


def test_clients_cannot_post_purchases(user_client):
    response = user_client.post(
        "/api/interactions/", {"product": ProductFactory().pk, "kind": "purchase"}, format="json"
    )

    assert response.status_code == 403
    assert not Interaction.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "view", "product": None},
        {"kind": "like"},
        {"kind": "rating", "value": 9},
        {"kind": "view", "product": 999999},
    ],
)
def test_invalid_interactions_are_a_400(user_client, payload):
    payload.setdefault("product", ProductFactory().pk)

    response = user_client.post("/api/interactions/", payload, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_anonymous_visitors_cannot_post_interactions(api_client):
    response = api_client.post(
        "/api/interactions/", {"product": ProductFactory().pk, "kind": "view"}
    )

    assert response.status_code in (401, 403)
    assert not Interaction.objects.exists()


def test_a_rating_of_a_product_not_bought_is_a_403_not_purchased(user_client):
    product = ProductFactory()

    response = user_client.post(
        "/api/interactions/", {"product": product.pk, "kind": "rating", "value": 5}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_purchased"
    assert not Interaction.objects.exists()


def test_reviews_list_and_a_buyers_review(api_client, paid_line):
    buyer, product = paid_line.order.user, paid_line.product

    created = client_for(buyer).post(
        f"/api/products/{product.pk}/reviews/", {"rating": 5, "title": "Great"}, format="json"
    )
    listed = api_client.get(f"/api/products/{product.pk}/reviews/")

    assert created.status_code == 201
    assert listed.status_code == 200
    body = listed.json()
    assert body["count"] == 1
    assert body["results"][0]["rating"] == 5
    assert body["results"][0]["author"]


def test_a_review_without_purchase_is_a_403_and_a_second_one_a_409(user_client, paid_line):
    product = paid_line.product

    refused = user_client.post(f"/api/products/{product.pk}/reviews/", {"rating": 3}, format="json")
    buyer = client_for(paid_line.order.user)
    buyer.post(f"/api/products/{product.pk}/reviews/", {"rating": 3}, format="json")
    again = buyer.post(f"/api/products/{product.pk}/reviews/", {"rating": 4}, format="json")

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "not_purchased"
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_reviewed"
    assert Review.objects.count() == 1


@pytest.mark.parametrize("rating", [0, 6, "five"])
def test_a_review_rating_outside_one_to_five_is_a_400(paid_line, rating):
    buyer = client_for(paid_line.order.user)

    response = buyer.post(
        f"/api/products/{paid_line.product.pk}/reviews/", {"rating": rating}, format="json"
    )

    assert response.status_code == 400
    assert not Review.objects.exists()


def test_reviews_of_an_unknown_product_is_a_404(api_client):
    assert api_client.get("/api/products/999999/reviews/").status_code == 404


def test_model_versions_are_for_staff_only(user_client, staff_client, api_client, shoppers):
    training.training_run(algorithms=["popular"])

    assert api_client.get("/api/recommendations/models/").status_code in (401, 403)
    assert user_client.get("/api/recommendations/models/").status_code == 403
    response = staff_client.get("/api/recommendations/models/")
    assert response.status_code == 200
    [version] = response.json()["results"]
    assert version["algorithm"] == "popular"
    assert version["is_serving"] is True
    assert "ndcg" in version["metrics"]["validation"]


def test_a_second_request_is_served_from_the_cache(shoppers):
    training.training_run(algorithms=["item_knn"])
    client = client_for(shoppers[0])

    with CaptureQueriesContext(connection) as first:
        client.get("/api/recommendations/?limit=3")
    with CaptureQueriesContext(connection) as second:
        again = client.get("/api/recommendations/?limit=3")

    assert len(first) > 0
    assert len(second) == 0
    assert again.status_code == 200 and len(again.json()["results"]) == 3


def test_a_new_version_is_served_at_once_despite_the_cache(shoppers):
    client = client_for(shoppers[0])
    before = client.get("/api/recommendations/?limit=1").json()["results"][0]
    assert before["reason"] == "popular"

    training.training_run(algorithms=["user_knn"])

    after = client.get("/api/recommendations/?limit=1").json()["results"][0]
    assert after["reason"] == "similar_users"
