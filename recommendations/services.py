"""Everything that changes recommendation state: interactions, reviews, training, popularity."""

from __future__ import annotations

import logging
import math
import time
import traceback
from collections.abc import Callable
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Sum
from django.utils import timezone

from catalog.models import Product
from orders.selectors import customer_has_bought
from recommendations import engine
from recommendations.engine.evaluation import Interactions, holdout_mask, ranking_metrics
from recommendations.exceptions import AlreadyReviewed, InteractionNotAllowed, NotPurchased
from recommendations.models import (
    Interaction,
    ModelVersion,
    Review,
    SimilarProduct,
    UserRecommendation,
)
from shop.cache import invalidate

logger = logging.getLogger(__name__)

CACHE_AREA = "recommendations"
BULK_BATCH = 5000
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


# --- the training matrix --------------------------------------------------------------------
def training_interactions(*, since=None) -> tuple[Interactions, np.ndarray, np.ndarray, int]:
    """Weighted implicit feedback on active products: (matrix data, user ids, product ids, n).

    Per user and product, each kind adds weight x (1 + ln(count)) — a rating adds weight x
    stars / 5 — so repeated views count, but less and less.
    """
    weights = settings.RECOMMENDATIONS_WEIGHTS
    qs = Interaction.objects.filter(product__is_active=True)
    if since is not None:
        qs = qs.filter(at__gte=since)
    rows = (
        qs.values_list("user_id", "product_id", "kind")
        .annotate(n=Count("id"), top=Max("value"))
        .order_by()
    )
    cells: dict[tuple[int, int], float] = {}
    n_interactions = 0
    for user_id, product_id, kind, n, top in rows.iterator(chunk_size=20000):
        weight = float(weights.get(kind, 0.0))
        if weight <= 0:
            continue
        n_interactions += n
        amount = (
            weight * top / 5.0 if kind == Interaction.Kind.RATING else weight * (1.0 + math.log(n))
        )
        key = (user_id, product_id)
        cells[key] = cells.get(key, 0.0) + amount
    if not cells:
        empty = np.zeros(0, dtype=np.int64)
        return Interactions(empty, empty, np.zeros(0, np.float32), None, 0, 0), empty, empty, 0
    pairs = np.array(list(cells.keys()), dtype=np.int64)
    user_ids, users = np.unique(pairs[:, 0], return_inverse=True)
    product_ids, items = np.unique(pairs[:, 1], return_inverse=True)
    data = Interactions(
        users=users.astype(np.int64),
        items=items.astype(np.int64),
        values=np.fromiter(cells.values(), dtype=np.float32, count=len(cells)),
        times=None,
        n_users=len(user_ids),
        n_items=len(product_ids),
    )
    return data, user_ids, product_ids, n_interactions


# --- training -------------------------------------------------------------------------------
def _insert(model, columns: list[str], rows: list[tuple]) -> None:
    """Plain multi-row INSERTs (executemany): many times faster than building model instances."""
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def _store_outputs(
    version: ModelVersion, model, user_ids: np.ndarray, product_ids: np.ndarray
) -> None:
    per_user = settings.RECOMMENDATIONS_PER_USER
    per_product = settings.RECOMMENDATIONS_SIMILAR_PER_PRODUCT
    user_ids, product_ids = user_ids.tolist(), product_ids.tolist()
    columns = ["version_id", "user_id", "product_id", "score", "rank", "reason"]
    users_of, products_of = np.asarray(user_ids), np.asarray(product_ids)
    for users, items, scores in model.recommend_all_arrays(per_user):
        keep = np.isfinite(scores)
        rows, cols = np.nonzero(keep)
        batch = zip(
            [version.pk] * len(rows),
            users_of[users[rows]].tolist(),
            products_of[items[rows, cols]].tolist(),
            scores[rows, cols].tolist(),
            (cols + 1).tolist(),
            [model.reason] * len(rows),
            strict=True,
        )
        _insert(UserRecommendation, columns, list(batch))
    columns = ["version_id", "product_id", "similar_id", "score", "rank"]
    batch: list[tuple] = []
    for item in range(model.n_items):
        batch.extend(
            (version.pk, product_ids[item], product_ids[other], score, rank)
            for rank, (other, score) in enumerate(model.similar_items(item, per_product), start=1)
        )
        if len(batch) >= BULK_BATCH:
            _insert(SimilarProduct, columns, batch)
            batch = []
    _insert(SimilarProduct, columns, batch)


def _train_one(
    version: ModelVersion,
    data: Interactions,
    user_ids: np.ndarray,
    product_ids: np.ndarray,
    params: dict,
    progress: Callable[[str], None],
) -> None:
    started = time.perf_counter()
    # Quality on a held-out 20% of each customer's items, then refit on everything.
    held = holdout_mask(data, seed=params.get("seed", 42))
    train, validation = data.matrix(~held), data.matrix(held)
    model = engine.build(version.algorithm, **params)
    model.fit(train)
    metrics = ranking_metrics(model, train, validation, k=10) if validation.nnz else {}
    progress(f"{version.algorithm}: evaluated")
    full = engine.build(version.algorithm, **params).fit(data.matrix())
    progress(f"{version.algorithm}: fitted")
    _store_outputs(version, full, user_ids, product_ids)
    progress(f"{version.algorithm}: stored")
    version.metrics = {"validation": metrics, "k": 10}
    version.parameters = full.params
    version.duration_seconds = time.perf_counter() - started
    version.status = ModelVersion.Status.READY
    version.save(update_fields=["metrics", "parameters", "duration_seconds", "status"])


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


def training_run(
    *,
    algorithms: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    params: dict[str, dict] | None = None,
) -> list[ModelVersion]:
    """Train ``algorithms`` on recent interactions, store their output, switch serving to them.

    Each algorithm is its own version; one that fails is marked failed (with the error) and
    the version serving before stays active.
    """
    algorithms = list(algorithms or settings.RECOMMENDATIONS_ALGORITHMS)
    for name in algorithms:
        if name not in engine.ALGORITHMS:
            raise ValueError(f"unknown algorithm {name!r}")
    progress = progress or (lambda message: None)
    params = params or getattr(settings, "RECOMMENDATIONS_PARAMS", {})
    since = timezone.now() - timedelta(days=settings.RECOMMENDATIONS_TRAINING_DAYS)
    data, user_ids, product_ids, n_interactions = training_interactions(since=since)
    progress("matrix built")
    versions = []
    for name in algorithms:
        version = ModelVersion.objects.create(
            algorithm=name,
            parameters=params.get(name, {}),
            n_users=data.n_users,
            n_items=data.n_items,
            n_interactions=n_interactions,
        )
        try:
            if not len(data.users):
                raise ValueError("no interactions to learn from")
            with transaction.atomic():
                _train_one(
                    version,
                    data,
                    user_ids,
                    product_ids,
                    {"seed": 42, **params.get(name, {})},
                    progress,
                )
        except Exception as exc:
            logger.exception("training %s failed", name)
            version.status = ModelVersion.Status.FAILED
            version.error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
            version.save(update_fields=["status", "error"])
            progress(f"{name}: failed")
        versions.append(version)
    versions_switch(versions=versions)
    versions_prune()
    return versions


# --- popularity -----------------------------------------------------------------------------
@transaction.atomic
def popularity_refresh(*, days: int | None = None) -> int:
    """Set ``Product.popularity`` to the weighted count of its recent interactions."""
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
    Product.objects.exclude(pk__in=list(totals)).exclude(popularity=0).update(popularity=0)
    products = list(Product.objects.filter(pk__in=list(totals)).only("id", "popularity"))
    for product in products:
        product.popularity = int(round(totals[product.pk]))
    Product.objects.bulk_update(products, ["popularity"], batch_size=1000)
    invalidate("catalog")
    invalidate(CACHE_AREA)
    return len(products)


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


__all__ = [
    "interaction_record",
    "interaction_record_for",
    "interactions_record_order",
    "popularity_refresh",
    "product_view_record",
    "review_create",
    "training_run",
    "versions_prune",
    "versions_switch",
]
