"""Reads: recommendations for a customer, similar products, reviews, model versions.

Answers are cached in the ``recommendations`` area; their keys hold the active version's id,
and switching versions invalidates the area, so a new model is served at once.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Avg, Count, QuerySet, Window

from catalog.models import Product
from catalog.selectors import product_base_queryset, product_images_prefetch, product_popular
from orders.selectors import customer_has_bought
from recommendations import engine
from recommendations.exceptions import UnknownAlgorithm
from recommendations.models import ModelVersion, Review, SimilarProduct, UserRecommendation
from shop.cache import cached

CACHE_AREA = "recommendations"
POPULAR = "popular"


def _timeout() -> int:
    return settings.RECOMMENDATIONS_CACHE_SECONDS


def active_versions() -> dict:
    """``{"serving": id or None, "by_algorithm": {algorithm: id}}`` of the versions served."""

    def build():
        rows = ModelVersion.objects.filter(is_active=True).values_list(
            "pk", "algorithm", "is_serving"
        )
        by_algorithm = {algorithm: pk for pk, algorithm, _ in rows}
        serving = next((pk for pk, _, is_serving in rows if is_serving), None)
        return {"serving": serving, "by_algorithm": by_algorithm}

    return cached(CACHE_AREA, ("active",), build, timeout=_timeout())


def _popular(limit: int, exclude_ids=()) -> list[tuple[Product, float, str]]:
    return [
        (p, float(p.popularity), POPULAR)
        for p in product_popular(limit=limit, exclude_ids=exclude_ids)
    ]


def recommendations_for_user(user, limit: int = 10, algorithm: str | None = None):
    """Up to ``limit`` (product, score, reason) for ``user``, best first.

    From the serving version (or the active one of ``algorithm``); customers the model does
    not know, and anonymous visitors, get the popular products (reason "popular"), as do the
    places left when a customer's list is short.
    """
    if algorithm is not None and algorithm not in engine.ALGORITHMS:
        raise UnknownAlgorithm(details={"algorithm": algorithm, "known": list(engine.ALGORITHMS)})
    versions = active_versions()
    version_id = versions["by_algorithm"].get(algorithm) if algorithm else versions["serving"]
    user_id = user.pk if getattr(user, "is_authenticated", False) else None

    def build():
        found: list[tuple[Product, float, str]] = []
        if version_id is not None and user_id is not None:
            rows = (
                UserRecommendation.objects.filter(
                    version_id=version_id, user_id=user_id, product__is_active=True
                )
                .select_related("product", "product__category", "product__stock")
                .prefetch_related(product_images_prefetch("product__images"))
                .order_by("rank")[:limit]
            )
            found = [(row.product, row.score, row.reason) for row in rows]
        if len(found) < limit:
            seen = [p.pk for p, _, _ in found]
            if user_id is not None:
                from recommendations.models import Interaction

                seen += list(
                    Interaction.objects.filter(user_id=user_id)
                    .values_list("product_id", flat=True)
                    .distinct()
                )
            found += _popular(limit - len(found), exclude_ids=seen)
        return found

    return cached(CACHE_AREA, ("user", version_id, user_id, limit), build, timeout=_timeout())


def similar_products(product: Product, limit: int = 10) -> list[tuple[Product, float]]:
    """Products bought or viewed by the same customers, from the serving version."""
    version_id = active_versions()["serving"]
    if version_id is None:
        return []

    def build():
        rows = (
            SimilarProduct.objects.filter(
                version_id=version_id, product_id=product.pk, similar__is_active=True
            )
            .select_related("similar", "similar__category", "similar__stock")
            .prefetch_related(product_images_prefetch("similar__images"))
            .order_by("rank")[:limit]
        )
        return [(row.similar, row.score) for row in rows]

    return cached(CACHE_AREA, ("similar", version_id, product.pk, limit), build, timeout=_timeout())


def product_get(pk: int) -> Product | None:
    return product_base_queryset().filter(pk=pk).first()


def product_reviews(product: Product) -> QuerySet[Review]:
    return (
        Review.objects.filter(product=product).select_related("user").order_by("-created_at", "-id")
    )


def review_block(product: Product, limit: int = 10) -> dict:
    """The newest ``limit`` reviews with the product's average and count, in one query."""
    rows = list(
        product_reviews(product).annotate(
            all_average=Window(Avg("rating")), all_count=Window(Count("id"))
        )[:limit]
    )
    if not rows:
        return {"average": None, "count": 0, "reviews": []}
    return {
        "average": round(rows[0].all_average, 1),
        "count": rows[0].all_count,
        "reviews": rows,
    }


def review_summary(product: Product) -> dict:
    summary = Review.objects.filter(product=product).aggregate(
        average=Avg("rating"), count=Count("id")
    )
    average = summary["average"]
    return {
        "average": round(average, 1) if average is not None else None,
        "count": summary["count"],
    }


def user_can_review(user, product: Product) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if Review.objects.filter(user=user, product=product).exists():
        return False
    return customer_has_bought(user=user, product=product)


def model_versions() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.order_by("-trained_at", "-id")
