"""Reads: recommendations for a customer, similar products, reviews, model versions.

Answers are cached in the ``recommendations`` area; their keys hold the active version's id,
and switching versions invalidates the area, so a new model is served at once.
"""

from __future__ import annotations

import hashlib
import math
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.db.models import Avg, Count, QuerySet, Sum, Window
from django.utils import timezone

from catalog.models import Product
from catalog.selectors import product_base_queryset, product_images_prefetch, product_popular
from orders.selectors import customer_has_bought
from recommendations.exceptions import UnknownAlgorithm
from recommendations.models import (
    ALGORITHMS,
    ModelVersion,
    RecommendationStat,
    Review,
    SimilarProduct,
    UserRecommendation,
)
from shop.cache import cached

CACHE_AREA = "recommendations"
POPULAR = "popular"


class Explanation(NamedTuple):
    """Why a product is recommended: a stable ``kind``, the sentence shown to the customer, and
    the product it points at (the customer's own, or the one on the page), if any."""

    kind: str
    text: str
    product: Product | None = None


class Recommended(NamedTuple):
    product: Product
    score: float
    reason: str
    explanation: Explanation
    # What served it, for measuring: the model version (0: the popular fallback), its
    # algorithm, and the customer's arm of the A/B split ("" outside one).
    version: int = 0
    algorithm: str = POPULAR
    arm: str = ""

    @property
    def tracking(self) -> str:
        """``version:algorithm:arm``, what the page reports back with each event."""
        return f"{self.version}:{self.algorithm}:{self.arm}"


# What a model's reason says when no own product of the customer stands behind the item.
GENERAL = {
    "similar_users": Explanation("similar_users", "Customers with tastes like yours chose this"),
    "factorization": Explanation("taste", "Matches your taste"),
    "similar_items": Explanation("taste", "Matches what you chose before"),
    POPULAR: Explanation("popular", "Popular right now"),
}


def explain(product: Product, reason: str, anchor: Product | None, bought: set[int]) -> Explanation:
    """The explanation of recommending ``product`` with stored reason ``reason`` ("new" for a
    product few have taken yet) and ``anchor`` (the customer's product behind it); ``bought``
    holds the ids of products the customer bought."""
    if reason == "new":
        return Explanation("new", f"New in {product.category.name}")
    if anchor is not None:
        if anchor.pk in bought:
            return Explanation("bought", f"Because you bought {anchor.name}", anchor)
        return Explanation("viewed", f"Because you looked at {anchor.name}", anchor)
    return GENERAL.get(reason, GENERAL[POPULAR])


def explain_together(product: Product) -> Explanation:
    """The explanation of a product shown beside ``product`` ("Customers also bought")."""
    return Explanation("together", f"Often bought with {product.name}", product)


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


def _popular(limit: int, exclude_ids=(), arm: str = "") -> list[Recommended]:
    return [
        Recommended(p, float(p.popularity), POPULAR, GENERAL[POPULAR], arm=arm)
        for p in product_popular(limit=limit, exclude_ids=exclude_ids)
    ]


def ab_arm(user_id: int | None) -> str:
    """The customer's arm ("a" or "b") of the A/B split of ``RECOMMENDATIONS_AB_TEST``, or ""
    without a split or a customer. Stable: a hash of the customer and
    ``RECOMMENDATIONS_AB_SALT`` (a new salt deals the customers out afresh)."""
    if not settings.RECOMMENDATIONS_AB_TEST or user_id is None:
        return ""
    digest = hashlib.sha256(f"{settings.RECOMMENDATIONS_AB_SALT}:{user_id}".encode()).digest()
    return "ab"[digest[0] & 1]


def _as_listed(items: list, *, exclude=()) -> list:
    """Lists show parents, not variants: an item (a ``Recommended`` or a ``(product, ...)``
    tuple) of a variant stands for its parent, which appears once, at the variant's best
    place; a hidden parent, and the products in ``exclude``, are left out."""
    seen = set(exclude)
    listed = []
    for item in items:
        product = item[0]
        shown = product.parent if product.parent_id else product
        if shown.pk in seen or not shown.is_active:
            continue
        seen.add(shown.pk)
        if shown is not product:
            item = (
                item._replace(product=shown)
                if isinstance(item, Recommended)
                else (shown, *item[1:])
            )
        listed.append(item)
    return listed


def recommendations_for_user(user, limit: int = 10, algorithm: str | None = None):
    """Up to ``limit`` ``Recommended`` (product, score, reason, explanation) for ``user``,
    best first.

    From the serving version (or the active one of ``algorithm``); customers the model does
    not know, and anonymous visitors, get the popular products (reason "popular"), as do the
    places left when a customer's list is short.
    """
    if algorithm is not None and algorithm not in ALGORITHMS:
        raise UnknownAlgorithm(details={"algorithm": algorithm, "known": list(ALGORITHMS)})
    versions = active_versions()
    user_id = user.pk if getattr(user, "is_authenticated", False) else None
    arm = ab_arm(user_id) if algorithm is None else ""
    if arm:
        algorithm = settings.RECOMMENDATIONS_AB_TEST["ab".index(arm)]
    version_id = versions["by_algorithm"].get(algorithm) if algorithm else versions["serving"]
    if version_id is None and arm:
        version_id = versions["serving"]  # the arm's model is not trained yet
    served_by = {pk: name for name, pk in versions["by_algorithm"].items()}.get(version_id, POPULAR)

    def build():
        found: list[Recommended] = []
        if version_id is not None and user_id is not None:
            rows = list(
                UserRecommendation.objects.filter(
                    version_id=version_id, user_id=user_id, product__is_active=True
                )
                .select_related(
                    "product",
                    "product__category",
                    "product__stock",
                    "product__parent__category",
                    "anchor",
                )
                .prefetch_related(
                    product_images_prefetch("product__images"),
                    product_images_prefetch("product__parent__images"),
                )
                .order_by("rank")[:limit]
            )
            bought = _bought(user_id, [row.anchor_id for row in rows if row.anchor_id])
            found = _as_listed(
                [
                    Recommended(
                        row.product,
                        row.score,
                        row.reason,
                        explain(row.product, row.reason, row.anchor, bought),
                        version_id,
                        served_by,
                        arm,
                    )
                    for row in rows
                ]
            )
        if len(found) < limit:
            seen = [r.product.pk for r in found]
            if user_id is not None:
                from recommendations.models import Interaction

                seen += list(
                    Interaction.objects.filter(user_id=user_id)
                    .values_list("product_id", flat=True)
                    .distinct()
                )
            found += _popular(limit - len(found), exclude_ids=seen, arm=arm)
        return found

    key = ("user", version_id, user_id, limit, arm)
    return cached(CACHE_AREA, key, build, timeout=_timeout())


def _bought(user_id: int, product_ids: list[int]) -> set[int]:
    """Which of ``product_ids`` the customer bought (one query, none without ids)."""
    if not product_ids:
        return set()
    from recommendations.models import Interaction

    return set(
        Interaction.objects.filter(
            user_id=user_id, kind=Interaction.Kind.PURCHASE, product_id__in=product_ids
        ).values_list("product_id", flat=True)
    )


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
            .select_related(
                "similar", "similar__category", "similar__stock", "similar__parent__category"
            )
            .prefetch_related(
                product_images_prefetch("similar__images"),
                product_images_prefetch("similar__parent__images"),
            )
            .order_by("rank")[:limit]
        )
        # A parent's own variants are not "similar" to it.
        mine = {product.pk, product.parent_id}
        return _as_listed([(row.similar, row.score) for row in rows], exclude=mine)

    return cached(CACHE_AREA, ("similar", version_id, product.pk, limit), build, timeout=_timeout())


def similar_tracking() -> str:
    """``version:algorithm:arm`` of the products shown beside a product (the serving model)."""
    versions = active_versions()
    served_by = {pk: name for name, pk in versions["by_algorithm"].items()}
    version_id = versions["serving"]
    return f"{version_id or 0}:{served_by.get(version_id, POPULAR)}:"


# --- how recommendations do in the shop ---------------------------------------------------
Z95 = 1.959964


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (95% by default); None without trials."""
    if not trials:
        return None
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    spread /= 1 + z * z / trials
    return max(0.0, centre - spread), min(1.0, centre + spread)


def recommendation_performance(*, days: int = 30) -> list[dict]:
    """Per slot and model version over the last ``days``: impressions, clicks, carts,
    click-through rate (clicks / impressions) and add-to-cart rate (carts / impressions)."""
    since = timezone.localdate() - timedelta(days=days - 1)
    rows = (
        RecommendationStat.objects.filter(day__gte=since)
        .values("slot", "model_version", "algorithm")
        .annotate(impressions=Sum("impressions"), clicks=Sum("clicks"), carts=Sum("carts"))
        .order_by("slot", "-model_version")
    )
    return [
        {
            **row,
            "ctr": _rate(row["clicks"], row["impressions"]),
            "cart_rate": _rate(row["carts"], row["impressions"]),
        }
        for row in rows
    ]


def ab_result(*, days: int = 30) -> dict | None:
    """The A/B split's click-through on the home page's recommendations over the last
    ``days``: per arm the rate with its 95% Wilson interval, and the difference B - A with a
    95% interval (normal approximation); None when no split is configured."""
    if not settings.RECOMMENDATIONS_AB_TEST:
        return None
    since = timezone.localdate() - timedelta(days=days - 1)
    sums = {
        row["arm"]: row
        for row in RecommendationStat.objects.filter(
            day__gte=since, slot=RecommendationStat.Slot.HOME, arm__in=["a", "b"]
        )
        .values("arm")
        .annotate(impressions=Sum("impressions"), clicks=Sum("clicks"), carts=Sum("carts"))
        .order_by()
    }
    arms = []
    for arm, algorithm in zip("ab", settings.RECOMMENDATIONS_AB_TEST, strict=True):
        row = sums.get(arm, {"impressions": 0, "clicks": 0, "carts": 0})
        arms.append(
            {
                "arm": arm,
                "algorithm": algorithm,
                "impressions": row["impressions"],
                "clicks": row["clicks"],
                "carts": row["carts"],
                "ctr": _rate(row["clicks"], row["impressions"]),
                "interval": wilson_interval(row["clicks"], row["impressions"]),
            }
        )
    a, b = arms
    difference = interval = None
    verdict = "Not enough data yet: each arm needs impressions."
    if a["impressions"] and b["impressions"]:
        difference = b["ctr"] - a["ctr"]
        se = math.sqrt(
            a["ctr"] * (1 - a["ctr"]) / a["impressions"]
            + b["ctr"] * (1 - b["ctr"]) / b["impressions"]
        )
        interval = (difference - Z95 * se, difference + Z95 * se)
        if interval[0] > 0:
            verdict = f"B ({b['algorithm']}) is clicked more often (95% confidence)."
        elif interval[1] < 0:
            verdict = f"A ({a['algorithm']}) is clicked more often (95% confidence)."
        else:
            verdict = "No difference shown yet at 95% confidence."
    return {"arms": arms, "difference": difference, "interval": interval, "verdict": verdict}


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
