"""Staff screens of recommendations: what customers and the shop record is shown, not written."""

import pytest

from recommendations.models import Interaction, ModelVersion, Review
from tests.factories import ProductFactory, ReviewFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_staff_cannot_add_a_rating_in_the_admin(admin_client):
    product, user = ProductFactory(), UserFactory()

    admin_client.post(
        "/admin/recommendations/interaction/add/",
        {
            "user": user.pk,
            "product": product.pk,
            "kind": "rating",
            "value": "5",
            "at_0": "2026-01-01",
            "at_1": "10:00:00",
            "source": "",
        },
    )

    assert not Interaction.objects.exists()


def test_staff_cannot_write_a_review_in_a_customers_name(admin_client):
    product, user = ProductFactory(), UserFactory()

    admin_client.post(
        "/admin/recommendations/review/add/",
        {"user": user.pk, "product": product.pk, "rating": "5", "title": "Great", "text": ""},
    )

    assert not Review.objects.exists()


def test_staff_moderate_reviews_by_deleting_not_by_rewording(admin_client):
    review = ReviewFactory(title="Rude words")

    admin_client.post(
        f"/admin/recommendations/review/{review.pk}/change/",
        {"user": review.user_id, "product": review.product_id, "rating": "1", "title": "Nice"},
    )
    assert Review.objects.get().title == "Rude words"

    admin_client.post(f"/admin/recommendations/review/{review.pk}/delete/", {"post": "yes"})
    assert not Review.objects.exists()


def test_model_versions_are_pruned_by_the_shop_not_deleted_in_the_admin(admin_client):
    version = ModelVersion.objects.create(algorithm="popular", status=ModelVersion.Status.READY)

    admin_client.post(f"/admin/recommendations/modelversion/{version.pk}/delete/", {"post": "yes"})

    assert ModelVersion.objects.filter(pk=version.pk).exists()
