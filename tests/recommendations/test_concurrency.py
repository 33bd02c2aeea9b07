"""Concurrent writers against PostgreSQL: one review per customer, purchases recorded once."""

import pytest
from django.utils import timezone

from recommendations import services
from recommendations.exceptions import AlreadyReviewed
from recommendations.models import Interaction, Review
from tests.factories import OrderFactory, OrderLineFactory, bought_line
from tests.utils import requires_postgres, run_together

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_simultaneous_reviews_by_one_buyer_store_exactly_one():
    line = bought_line()
    user, product = line.order.user, line.product

    outcomes = run_together(
        6, lambda i: services.review_create(user=user, product=product, rating=1 + i % 5)
    )

    assert sum(isinstance(o, Review) for o in outcomes) == 1
    assert all(isinstance(o, (Review, AlreadyReviewed)) for o in outcomes), outcomes
    assert Review.objects.count() == 1
    assert Interaction.objects.filter(kind="rating").count() == 1


def test_a_paid_order_replayed_by_several_workers_is_recorded_once():
    order = OrderFactory(paid_at=timezone.now())
    for _ in range(3):
        OrderLineFactory(order=order)

    run_together(4, lambda i: services.interactions_record_order(order_id=order.pk))

    assert Interaction.objects.filter(kind="purchase", source=f"order:{order.pk}").count() == 3
