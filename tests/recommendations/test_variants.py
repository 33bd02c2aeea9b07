"""Recommendation lists show parents, not variants: customers buy variants, so the models
learn them, and each stands for its parent once."""

import pytest

from recommendations import selectors
from recommendations.models import ModelVersion, SimilarProduct, UserRecommendation
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def serving():
    return ModelVersion.objects.create(
        algorithm="item_knn", status="ready", is_active=True, is_serving=True
    )


def test_recommended_variants_show_as_their_parent_once(user, serving, with_variants):
    parent, (small, medium) = with_variants(options={"size": ["S", "M"]})
    standalone = ProductFactory()
    for rank, product in enumerate([small, medium, standalone], start=1):
        UserRecommendation.objects.create(
            version=serving, user=user, product=product, score=1 / rank, rank=rank, reason="x"
        )

    found = selectors.recommendations_for_user(user, limit=3)

    assert [r.product for r in found[:2]] == [parent, standalone]
    assert parent not in [r.product for r in found[2:]]


def test_similar_products_of_a_parent_leave_out_its_own_variants(serving, with_variants):
    parent, (small, _) = with_variants(options={"size": ["S", "M"]})
    other_parent, (other_small, _) = with_variants(name="Hoodie", options={"size": ["S", "M"]})
    for rank, similar in enumerate([small, other_small], start=1):
        SimilarProduct.objects.create(
            version=serving, product=parent, similar=similar, score=1 / rank, rank=rank
        )

    found = selectors.similar_products(parent)

    assert [product for product, _ in found] == [other_parent]
