"""Interactions, reviews, purchases from paid orders, popularity, training and switching."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from orders.models import OrderStatus
from payments.models import Payment
from recommendations import engine, receivers, selectors, services, tasks, training
from recommendations.exceptions import AlreadyReviewed, NotPurchased
from recommendations.models import (
    Interaction,
    ModelVersion,
    SimilarProduct,
    UserRecommendation,
)
from tests.factories import (
    InteractionFactory,
    OrderFactory,
    OrderLineFactory,
    PaymentFactory,
    ProductFactory,
    UserFactory,
    bought_line,
)

pytestmark = pytest.mark.django_db


def test_a_rating_outside_one_to_five_is_refused(user):
    product = ProductFactory()

    with pytest.raises(ValidationError):
        services.interaction_record(user=user, product=product, kind="rating", value=6)
    with pytest.raises(ValidationError):
        services.interaction_record(user=user, product=product, kind="like")
    assert not Interaction.objects.exists()


def test_a_review_needs_a_paid_order_line_of_that_product(user):
    product = ProductFactory()
    OrderLineFactory(order=OrderFactory(user=user, paid_at=None), product=product)

    with pytest.raises(NotPurchased) as refused:
        services.review_create(user=user, product=product, rating=5)
    assert refused.value.status_code == 403
    assert refused.value.code == "not_purchased"


@pytest.mark.parametrize(
    "purchase",
    [
        {"paid": False},
        {"order_status": OrderStatus.CANCELLED},
        {"payment_status": Payment.Status.REFUNDED},
        {"payment_status": Payment.Status.FAILED},
    ],
    ids=["unpaid", "cancelled", "refunded", "payment-failed"],
)
def test_a_purchase_that_was_not_kept_does_not_allow_a_review(user, purchase):
    line = bought_line(user=user, **purchase)

    with pytest.raises(NotPurchased):
        services.review_create(user=user, product=line.product, rating=5)
    assert not selectors.user_can_review(user, line.product)


def test_the_latest_payment_of_the_order_decides(user):
    line = bought_line(user=user)
    PaymentFactory(order=line.order, status=Payment.Status.REFUNDED)

    with pytest.raises(NotPurchased):
        services.review_create(user=user, product=line.product, rating=5)


def test_a_customer_who_kept_the_product_may_review_it(user):
    line = bought_line(user=user)

    assert selectors.user_can_review(user, line.product)
    assert services.review_create(user=user, product=line.product, rating=5).pk


def test_a_rating_needs_a_purchase_but_a_view_does_not(user):
    product = ProductFactory()

    with pytest.raises(NotPurchased) as refused:
        services.interaction_record_for(
            actor=user, user=user, product=product, kind=Interaction.Kind.RATING, value=4
        )
    assert refused.value.code == "not_purchased"
    services.interaction_record_for(actor=user, user=user, product=product, kind="view")

    assert list(Interaction.objects.values_list("kind", flat=True)) == ["view"]


def test_a_buyers_review_is_stored_once_and_counts_as_a_rating(paid_line):
    user, product = paid_line.order.user, paid_line.product

    review = services.review_create(user=user, product=product, rating=4, title="Good")

    assert review.pk
    rating = Interaction.objects.get(user=user, product=product)
    assert (rating.kind, rating.value) == ("rating", 4.0)
    with pytest.raises(AlreadyReviewed):
        services.review_create(user=user, product=product, rating=2)


def test_a_paid_order_records_one_purchase_per_line_even_when_replayed():
    order = OrderFactory(paid_at=timezone.now())
    OrderLineFactory(order=order)
    OrderLineFactory(order=order)

    assert services.interactions_record_order(order_id=order.pk) == 2
    assert services.interactions_record_order(order_id=order.pk) == 0
    assert Interaction.objects.filter(kind="purchase", user=order.user).count() == 2


def test_an_unpaid_order_records_nothing():
    order = OrderFactory(paid_at=None)
    OrderLineFactory(order=order)

    assert services.interactions_record_order(order_id=order.pk) == 0


def test_the_order_paid_signal_records_purchases_after_commit(django_capture_on_commit_callbacks):
    from orders.signals import order_paid

    assert receivers.connect()
    order = OrderFactory(paid_at=timezone.now())
    OrderLineFactory(order=order)

    with django_capture_on_commit_callbacks(execute=True):
        order_paid.send(sender=type(order), order=order)

    assert Interaction.objects.filter(kind="purchase", source=f"order:{order.pk}").count() == 1


def test_popularity_counts_recent_weighted_interactions_only(products, settings):
    settings.RECOMMENDATIONS_WEIGHTS = {"view": 1, "cart": 3, "purchase": 5, "rating": 5}
    InteractionFactory(product=products[0], kind="view")
    InteractionFactory(product=products[0], kind="purchase")
    InteractionFactory(product=products[1], kind="view")
    InteractionFactory(
        product=products[2], kind="cart", at=timezone.now() - timezone.timedelta(days=90)
    )
    products[3].popularity = 40
    products[3].save()

    services.popularity_refresh(days=30)

    for product in products:
        product.refresh_from_db()
    assert [p.popularity for p in products[:4]] == [6, 1, 0, 0]


def test_training_creates_ready_versions_and_serves_the_best_one(shoppers, products):
    versions = training.training_run(algorithms=["popular", "item_knn", "ease"])

    assert [v.status for v in versions] == ["ready"] * 3
    assert ModelVersion.objects.filter(is_active=True).count() == 3
    serving = ModelVersion.objects.get(is_serving=True)
    assert serving.metrics["validation"]["ndcg"] == max(
        v.metrics["validation"]["ndcg"] for v in versions
    )
    assert serving.n_users == 8 and serving.n_items == 7
    # Shopper 0 has products 0, 1 and 6: product 2 comes first, nothing already had is there.
    ease = next(v for v in versions if v.algorithm == "ease")
    rows = list(UserRecommendation.objects.filter(version=ease, user=shoppers[0]).order_by("rank"))
    assert rows[0].product == products[2]
    assert rows[0].reason == "similar_items"
    assert not {r.product_id for r in rows} & {products[i].pk for i in (0, 1, 6)}
    assert SimilarProduct.objects.filter(version=ease, product=products[0]).exists()


def test_a_new_training_switches_every_flag_and_prunes_old_versions(shoppers, settings):
    settings.RECOMMENDATIONS_KEEP_VERSIONS = 1
    first = training.training_run(algorithms=["item_knn"])[0]
    second = training.training_run(algorithms=["item_knn"])[0]
    third = training.training_run(algorithms=["item_knn"])[0]

    active = ModelVersion.objects.get(is_active=True)
    assert active.pk == third.pk and active.is_serving
    assert set(ModelVersion.objects.values_list("pk", flat=True)) == {second.pk, third.pk}
    assert not UserRecommendation.objects.filter(version_id=first.pk).exists()


def test_a_failed_training_keeps_the_previous_version_serving(shoppers, monkeypatch):
    good = training.training_run(algorithms=["item_knn"])[0]
    real_build = engine.build

    def broken(name, **params):
        model = real_build(name, **params)
        monkeypatch.setattr(model, "_fit", lambda matrix: (_ for _ in ()).throw(MemoryError()))
        return model

    monkeypatch.setattr(engine, "build", broken)
    failed = training.training_run(algorithms=["item_knn"])[0]

    assert failed.status == "failed" and "MemoryError" in failed.error
    good.refresh_from_db()
    assert good.is_active and good.is_serving
    assert not UserRecommendation.objects.filter(version=failed).exists()
    assert selectors.recommendations_for_user(shoppers[0], 1)[0][2] == "similar_items"


def test_training_without_interactions_fails_cleanly(db):
    version = training.training_run(algorithms=["popular"])[0]

    assert version.status == "failed"
    assert not ModelVersion.objects.filter(is_active=True).exists()


def test_the_nightly_task_trains_and_switches(shoppers, settings):
    settings.RECOMMENDATIONS_ALGORITHMS = ["popular", "user_knn"]

    ids = tasks.training_run_task.delay().get()

    assert len(ids) == 2
    assert set(ModelVersion.objects.filter(is_active=True).values_list("pk", flat=True)) == set(ids)
    assert ModelVersion.objects.filter(is_serving=True, pk__in=ids).count() == 1


def test_the_nightly_task_skips_while_another_training_runs(shoppers):
    from django.core.cache import cache

    cache.add(tasks.TRAINING_LOCK, 1)

    assert tasks.training_run_task.delay().get() == []
    assert not ModelVersion.objects.exists()


def test_cold_start_and_anonymous_visitors_get_popular_products(shoppers, products):
    training.training_run(algorithms=["ease"])
    products[6].popularity = 100
    products[6].save()
    newcomer = UserFactory()

    for visitor in (newcomer, None):
        from django.contrib.auth.models import AnonymousUser

        found = selectors.recommendations_for_user(visitor or AnonymousUser(), 3)
        assert found[0][0] == products[6]
        assert {r.reason for r in found} == {"popular"}


def test_a_new_product_is_recommended_as_new_in_its_category(shoppers, products):
    # Shoppers of taste A took products 0-2; a product of their category nobody took yet
    # comes into the catalog.
    from tests.factories import ProductFactory, StockItemFactory

    new = ProductFactory(category=products[0].category)
    StockItemFactory(product=new)
    training.training_run(algorithms=["hybrid"])

    found = selectors.recommendations_for_user(shoppers[3], 10, algorithm="hybrid")

    [item] = [r for r in found if r.product == new]
    assert item.reason == "new"
    assert item.explanation.text == f"New in {new.category.name}"


def test_a_new_accessory_of_a_bought_product_is_recommended_to_its_buyers(shoppers, products):
    # A product nobody took yet, in a category of its own, is the accessory of product 3.
    # Shoppers 5 and 7 have the same taste (B); 5 bought product 3, 7 did not.
    from catalog.models import ProductRelation
    from tests.factories import CategoryFactory, ProductRelationFactory, StockItemFactory

    accessory = ProductFactory(category=CategoryFactory())
    StockItemFactory(product=accessory)
    ProductRelationFactory(
        from_product=products[3], to_product=accessory, kind=ProductRelation.Kind.ACCESSORY
    )
    [version] = training.training_run(algorithms=["hybrid"])

    def offered(shopper):
        return UserRecommendation.objects.get(version=version, user=shopper, product=accessory)

    buyer, other = offered(shoppers[5]), offered(shoppers[7])
    assert buyer.reason == "new"
    assert buyer.score > 0
    assert other.score <= 0  # nothing of theirs leads to it
    assert buyer.rank < other.rank
