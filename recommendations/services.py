"""Everything that changes recommendation state except training: interactions, reviews,
switching and pruning model versions, popularity.

Training (numpy, scipy, scikit-learn) lives in ``recommendations.training``, which only the
training worker and the management commands import: web processes serve the stored output and
never load the numerical stack."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from catalog.models import Product
from orders.selectors import customer_has_bought
from recommendations.exceptions import AlreadyReviewed, InteractionNotAllowed, NotPurchased
from recommendations.models import (
    Interaction,
    ModelVersion,
    RecommendationStat,
    Review,
    SimilarProduct,
    UserRecommendation,
)
from shop.cache import invalidate

logger = logging.getLogger(__name__)

CACHE_AREA = "recommendations"
# A signed-in customer's repeated visits to one product count once per this many seconds.
VIEW_DEDUP_SECONDS = 600


# --- interactions and reviews ---------------------------------------------------------------
@transaction.atomic
def interaction_record(
    *,
    user,
    product: Product,
    kind: str,
    value: float = 1.0,
    at=None,
    source: str = "",
) -> Interaction:
    """Record one interaction (validated: known kind, a rating between 1 and 5)."""
    if kind != Interaction.Kind.RATING:
        value = 1.0
    interaction = Interaction(
        user=user,
        product=product,
        kind=kind,
        value=float(value),
        at=at or timezone.now(),
        source=source,
    )
    interaction.full_clean()
    if kind == Interaction.Kind.RATING and not 1 <= interaction.value <= 5:
        raise ValidationError({"value": "A rating is between 1 and 5."})
    interaction.save()
    return interaction


def product_view_record(*, user, product: Product) -> Interaction | None:
    """A signed-in customer opened a product page: a ``view``, at most once per window."""
    if not getattr(user, "is_authenticated", False):
        return None
    if not cache.add(f"reco-view:{user.pk}:{product.pk}", 1, VIEW_DEDUP_SECONDS):
        return None
    return interaction_record(user=user, product=product, kind=Interaction.Kind.VIEW)


def interaction_record_for(*, actor, user, product: Product, kind: str, value: float = 1.0):
    """An interaction posted by a client: customers for themselves only, never a purchase, and
    a rating only of a product the customer bought and kept (as for reviews)."""
    if kind == Interaction.Kind.PURCHASE:
        raise InteractionNotAllowed("Purchases are recorded by the shop when an order is paid.")
    if user.pk != actor.pk and not actor.is_staff:
        raise InteractionNotAllowed("You may record interactions only for yourself.")
    if kind == Interaction.Kind.RATING and not customer_has_bought(user=user, product=product):
        raise NotPurchased("Only customers who bought this product can rate it.")
    return interaction_record(user=user, product=product, kind=kind, value=value)


@transaction.atomic
def interactions_record_order(*, order_id: int) -> int:
    """One ``purchase`` per line of a paid order; running it again adds nothing."""
    from orders.models import OrderLine

    lines = list(
        # A guest's order (no account) has nobody to recommend to.
        OrderLine.objects.filter(
            order_id=order_id, order__paid_at__isnull=False, order__user__isnull=False
        ).select_related("order")
    )
    source = f"order:{order_id}"
    rows = [
        Interaction(
            user_id=line.order.user_id,
            product_id=line.product_id,
            kind=Interaction.Kind.PURCHASE,
            value=1.0,
            at=line.order.paid_at,
            source=source,
        )
        for line in lines
    ]
    before = Interaction.objects.filter(source=source).count()
    Interaction.objects.bulk_create(rows, ignore_conflicts=True)
    return Interaction.objects.filter(source=source).count() - before


@transaction.atomic
def review_create(
    *, user, product: Product, rating: int, title: str = "", text: str = ""
) -> Review:
    """A buyer's review of a product; it also counts as a ``rating`` interaction."""
    if not customer_has_bought(user=user, product=product):
        raise NotPurchased()
    if Review.objects.filter(user=user, product=product).exists():
        raise AlreadyReviewed()
    review = Review(user=user, product=product, rating=rating, title=title, text=text)
    review.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            review.save()
    except IntegrityError:  # a concurrent review of the same product by the same customer
        raise AlreadyReviewed() from None
    interaction_record(
        user=user, product=product, kind=Interaction.Kind.RATING, value=float(rating)
    )
    invalidate(CACHE_AREA)
    return review


@transaction.atomic
def versions_switch(*, versions: list[ModelVersion]) -> None:
    """Serve the ready ``versions``: every flag moves in this one transaction.

    The new default (serving) version is the one with the best validation NDCG@10.
    """
    ready = [v for v in versions if v.status == ModelVersion.Status.READY]
    if not ready:
        return
    ModelVersion.objects.filter(algorithm__in=[v.algorithm for v in ready], is_active=True).update(
        is_active=False, is_serving=False
    )
    ModelVersion.objects.filter(pk__in=[v.pk for v in ready]).update(is_active=True)
    best = max(ready, key=lambda v: (v.metrics.get("validation", {}).get("ndcg", 0.0), -v.pk))
    ModelVersion.objects.filter(is_serving=True).update(is_serving=False)
    ModelVersion.objects.filter(pk=best.pk).update(is_serving=True)
    for version in ready:
        version.is_active = True
        version.is_serving = version.pk == best.pk
    invalidate(CACHE_AREA)


def versions_prune(*, keep: int | None = None) -> int:
    """Delete all but the ``keep`` newest inactive versions of each algorithm (and their rows)."""
    keep = settings.RECOMMENDATIONS_KEEP_VERSIONS if keep is None else keep
    doomed = []
    for algorithm in ModelVersion.objects.values_list("algorithm", flat=True).distinct():
        old = ModelVersion.objects.filter(algorithm=algorithm, is_active=False).order_by(
            "-trained_at", "-id"
        )
        doomed.extend(old.values_list("pk", flat=True)[keep:])
    for pk in doomed:
        with transaction.atomic():
            UserRecommendation.objects.filter(version_id=pk).delete()
            SimilarProduct.objects.filter(version_id=pk).delete()
            ModelVersion.objects.filter(pk=pk).delete()
    return len(doomed)


# --- popularity -----------------------------------------------------------------------------
@transaction.atomic
def popularity_refresh(*, days: int | None = None) -> int:
    """Set ``Product.popularity`` to the weighted count of its recent interactions (a
    parent's adds up its variants' too)."""
    days = settings.RECOMMENDATIONS_POPULARITY_DAYS if days is None else days
    weights = settings.RECOMMENDATIONS_WEIGHTS
    since = timezone.now() - timedelta(days=days)
    totals: dict[int, float] = {}
    rows = (
        Interaction.objects.filter(at__gte=since)
        .values_list("product_id", "kind")
        .annotate(n=Count("id"), stars=Sum("value"))
        .order_by()
    )
    for product_id, kind, n, stars in rows:
        weight = float(weights.get(kind, 0.0))
        amount = weight * stars / 5.0 if kind == Interaction.Kind.RATING else weight * n
        totals[product_id] = totals.get(product_id, 0.0) + amount
    # A parent is listed for its variants: it counts what they were bought and viewed for.
    parents = Product.objects.filter(pk__in=list(totals), parent__isnull=False).values_list(
        "pk", "parent_id"
    )
    for variant_id, parent_id in list(parents):
        totals[parent_id] = totals.get(parent_id, 0.0) + totals[variant_id]
    Product.objects.exclude(pk__in=list(totals)).exclude(popularity=0).update(popularity=0)
    products = list(Product.objects.filter(pk__in=list(totals)).only("id", "popularity"))
    for product in products:
        product.popularity = int(round(totals[product.pk]))
    Product.objects.bulk_update(products, ["popularity"], batch_size=1000)
    invalidate("catalog")
    invalidate(CACHE_AREA)
    return len(products)


# --- what customers do with recommendations ----------------------------------------------
EVENT_COUNTERS = {"impression": "impressions", "click": "clicks", "cart": "carts"}


def recommendation_events_record(*, events: list[dict], day: date | None = None) -> int:
    """Add a page's events to the day's counts, in one statement whatever their number.

    Each event: ``slot``, ``model_version``, ``algorithm``, ``arm`` and ``kind`` (impression,
    click or cart). Returns how many rows (slot x version x arm) were touched."""
    day = day or timezone.localdate()
    counters = list(EVENT_COUNTERS.values())
    totals: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(counters, 0))
    algorithms: dict[tuple, str] = {}
    for event in events:
        key = (event["slot"], event["model_version"], event["arm"])
        algorithms[key] = event["algorithm"]
        totals[key][EVENT_COUNTERS[event["kind"]]] += 1
    if not totals:
        return 0
    table = connection.ops.quote_name(RecommendationStat._meta.db_table)
    columns = ["day", "slot", "model_version", "algorithm", "arm", *counters]
    values, params = [], []
    for key, counts in totals.items():
        slot, version, arm = key
        values.append("(" + ", ".join(["%s"] * len(columns)) + ")")
        params += [day, slot, version, algorithms[key], arm, *(counts[c] for c in counters)]
    # INSERT ... ON CONFLICT DO UPDATE adds to the counts atomically (PostgreSQL and SQLite).
    additions = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counters)
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join(values)} "
        f"ON CONFLICT (day, slot, model_version, arm) DO UPDATE SET {additions}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    return len(totals)


def demo_users(count: int) -> list:
    """Synthetic shoppers for the demo (created once, reused)."""
    User = get_user_model()
    users = []
    for n in range(count):
        user, created = User.objects.get_or_create(
            username=f"shopper{n:04d}", defaults={"email": f"shopper{n:04d}@example.com"}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        users.append(user)
    return users


@transaction.atomic
def customer_forget(*, user) -> int:
    """An erased account: its interactions and reviews stay (product counts, the review's
    words) but belong to nobody, so the next training has no trace of the customer; the
    recommendations computed for them go now. Returns how many interactions were detached."""
    detached = Interaction.objects.filter(user=user).update(user=None)
    Review.objects.filter(user=user).update(user=None)
    UserRecommendation.objects.filter(user=user).delete()
    transaction.on_commit(partial(invalidate, CACHE_AREA))
    return detached


__all__ = [
    "customer_forget",
    "interaction_record",
    "interaction_record_for",
    "interactions_record_order",
    "popularity_refresh",
    "product_view_record",
    "recommendation_events_record",
    "review_create",
    "versions_prune",
    "versions_switch",
]
