"""Training recommendation models from the shop's interactions and storing their output.

Imported by the training task and the management commands only: it loads numpy, scipy and
scikit-learn (through ``recommendations.engine``), which web processes must not carry."""

from __future__ import annotations

import logging
import math
import time
import traceback
from collections.abc import Callable
from datetime import timedelta

import numpy as np
import scipy.sparse as sp
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max
from django.utils import timezone

from catalog.models import Product, ProductRelation
from recommendations import engine
from recommendations.engine.base import SideInfo
from recommendations.engine.evaluation import Interactions, holdout_mask, ranking_metrics
from recommendations.models import Interaction, ModelVersion, SimilarProduct, UserRecommendation
from recommendations.services import versions_prune, versions_switch

logger = logging.getLogger(__name__)


# --- the training matrix --------------------------------------------------------------------
def training_interactions(*, since=None) -> tuple[Interactions, np.ndarray, np.ndarray, int]:
    """Weighted implicit feedback on active products: (matrix data, user ids, product ids, n).

    Per user and product, each kind adds weight x (1 + ln(count)) — a rating adds weight x
    stars / 5 — so repeated views count, but less and less.
    """
    weights = settings.RECOMMENDATIONS_WEIGHTS
    # Interactions of erased accounts have no user: the recommender forgets them.
    qs = Interaction.objects.filter(product__is_active=True, user__isnull=False)
    if since is not None:
        qs = qs.filter(at__gte=since)
    rows = (
        qs.values_list("user_id", "product_id", "kind")
        .annotate(n=Count("id"), top=Max("value"), last=Max("at"))
        .order_by()
    )
    cells: dict[tuple[int, int], float] = {}
    latest: dict[tuple[int, int], float] = {}
    n_interactions = 0
    for user_id, product_id, kind, n, top, last in rows.iterator(chunk_size=20000):
        weight = float(weights.get(kind, 0.0))
        if weight <= 0:
            continue
        n_interactions += n
        amount = (
            weight * top / 5.0 if kind == Interaction.Kind.RATING else weight * (1.0 + math.log(n))
        )
        key = (user_id, product_id)
        cells[key] = cells.get(key, 0.0) + amount
        latest[key] = max(latest.get(key, 0.0), last.timestamp())
    if not cells:
        empty = np.zeros(0, dtype=np.int64)
        nothing = Interactions(empty, empty, np.zeros(0, np.float32), np.zeros(0), 0, 0)
        return nothing, empty, empty, 0
    pairs = np.array(list(cells.keys()), dtype=np.int64)
    user_ids, users = np.unique(pairs[:, 0], return_inverse=True)
    product_ids, items = np.unique(pairs[:, 1], return_inverse=True)
    data = Interactions(
        users=users.astype(np.int64),
        items=items.astype(np.int64),
        values=np.fromiter(cells.values(), dtype=np.float32, count=len(cells)),
        times=np.fromiter(latest.values(), dtype=np.float64, count=len(latest)),
        n_users=len(user_ids),
        n_items=len(product_ids),
    )
    return data, user_ids, product_ids, n_interactions


# --- what is known about the products --------------------------------------------------------
# How much each kind of catalog edge says about taking one product after the other.
EDGE_WEIGHTS = {
    ProductRelation.Kind.ACCESSORY: 1.0,
    ProductRelation.Kind.BUNDLE: 1.0,
    ProductRelation.Kind.RELATED: 0.7,
    ProductRelation.Kind.SUBSTITUTE: 0.5,
}


def with_new_products(
    data: Interactions, product_ids: np.ndarray
) -> tuple[Interactions, np.ndarray]:
    """The matrix widened by products nobody took yet that came into the catalog in the last
    ``RECOMMENDATIONS_NEW_DAYS`` (the newest ``RECOMMENDATIONS_NEW_MAX``), so that models
    using what is known about products can recommend them."""
    since = timezone.now() - timedelta(days=settings.RECOMMENDATIONS_NEW_DAYS)
    new = list(
        Product.objects.filter(is_active=True, created_at__gte=since)
        .exclude(pk__in=product_ids.tolist())
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)[: settings.RECOMMENDATIONS_NEW_MAX]
    )
    if not new:
        return data, product_ids
    widened = Interactions(
        data.users, data.items, data.values, data.times, data.n_users, data.n_items + len(new)
    )
    return widened, np.concatenate([product_ids, np.asarray(new, dtype=np.int64)])


def product_side_info(product_ids: np.ndarray) -> SideInfo:
    """Features (category and its parents, attribute values) and the catalog graph's edges of
    ``product_ids``, in the matrix's column order."""
    column = {pk: n for n, pk in enumerate(product_ids.tolist())}
    rows, tokens = [], []
    products = Product.objects.filter(pk__in=list(column)).select_related("category")
    for product in products.only("pk", "attributes", "category__id", "category__parent_id"):
        found = [f"category:{product.category_id}"]
        if product.category.parent_id:
            found.append(f"category:{product.category.parent_id}")
        for key, value in (product.attributes or {}).items():
            if isinstance(value, (str, int, bool)) and len(str(value)) <= 64:
                found.append(f"attribute:{key}={value}")
        rows += [column[product.pk]] * len(found)
        tokens += found
    vocabulary = {token: n for n, token in enumerate(sorted(set(tokens)))}
    features = sp.csr_matrix(
        (np.ones(len(tokens), dtype=np.float32), (rows, [vocabulary[t] for t in tokens])),
        shape=(len(column), max(len(vocabulary), 1)),
    )
    edges = ProductRelation.objects.filter(
        from_product_id__in=list(column), to_product_id__in=list(column)
    ).values_list("from_product_id", "to_product_id", "kind", "weight")
    sources, targets, weights = [], [], []
    for source, target, kind, weight in edges.iterator():
        sources.append(column[source])
        targets.append(column[target])
        weights.append(float(weight) * EDGE_WEIGHTS.get(kind, 0.5))
    graph = sp.csr_matrix(
        (np.asarray(weights, dtype=np.float32), (sources, targets)), shape=(len(column),) * 2
    )
    return SideInfo(features=features, graph=graph)


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
    columns = ["version_id", "user_id", "product_id", "score", "rank", "reason", "anchor_id"]
    users_of, products_of = np.asarray(user_ids), np.asarray(product_ids)
    for users, items, scores in model.recommend_all_arrays(per_user):
        keep = np.isfinite(scores)
        rows, cols = np.nonzero(keep)
        anchors = model.anchors(users, items)[rows, cols]
        anchor_ids = np.where(anchors >= 0, products_of[np.maximum(anchors, 0)], -1)
        batch = zip(
            [version.pk] * len(rows),
            users_of[users[rows]].tolist(),
            products_of[items[rows, cols]].tolist(),
            scores[rows, cols].tolist(),
            (cols + 1).tolist(),
            model.item_reasons(items[rows, cols]).tolist(),
            [None if a < 0 else a for a in anchor_ids.tolist()],
            strict=True,
        )
        _insert(UserRecommendation, columns, list(batch))
    columns = ["version_id", "product_id", "similar_id", "score", "rank"]
    for items, similar, scores in model.similar_items_arrays(per_product):
        rows, cols = np.nonzero(np.isfinite(scores))
        batch = zip(
            [version.pk] * len(rows),
            products_of[items[rows]].tolist(),
            products_of[similar[rows, cols]].tolist(),
            scores[rows, cols].tolist(),
            (cols + 1).tolist(),
            strict=True,
        )
        _insert(SimilarProduct, columns, list(batch))


def _train_one(
    version: ModelVersion,
    data: Interactions,
    user_ids: np.ndarray,
    product_ids: np.ndarray,
    params: dict,
    progress: Callable[[str], None],
    side: SideInfo | None = None,
) -> None:
    started = time.perf_counter()
    # Quality on each customer's latest 20% of items (what they did next is what a shop has
    # to guess), then refit on everything.
    held = holdout_mask(data, split="temporal", seed=params.get("seed", 42))
    train, validation = data.matrix(~held), data.matrix(held)
    model = engine.build(version.algorithm, **params)
    model.fit(train, data.time_matrix(~held), side)
    metrics = ranking_metrics(model, train, validation, k=10) if validation.nnz else {}
    progress(f"{version.algorithm}: evaluated")
    full = engine.build(version.algorithm, **params).fit(data.matrix(), data.time_matrix(), side)
    progress(f"{version.algorithm}: fitted")
    _store_outputs(version, full, user_ids, product_ids)
    progress(f"{version.algorithm}: stored")
    version.metrics = {"validation": metrics, "k": 10, "split": "temporal"}
    version.parameters = full.params
    version.duration_seconds = time.perf_counter() - started
    version.status = ModelVersion.Status.READY
    version.save(update_fields=["metrics", "parameters", "duration_seconds", "status"])


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
    side = None
    if len(data.users):
        data, product_ids = with_new_products(data, product_ids)
        side = product_side_info(product_ids)
    progress("matrix built")
    # EASE, recent EASE and the hybrid fit the same matrices with the same L2 by default: one
    # inverse per matrix serves them all.
    with engine.shared_ease():
        versions = _train_all(
            algorithms, data, user_ids, product_ids, n_interactions, params, progress, side
        )
    versions_switch(versions=versions)
    versions_prune()
    return versions


def _train_all(algorithms, data, user_ids, product_ids, n_interactions, params, progress, side):
    """One version per algorithm, trained in turn; a failure marks only its own version."""
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
                    side,
                )
        except Exception as exc:
            logger.exception("training %s failed", name)
            version.status = ModelVersion.Status.FAILED
            version.error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
            version.save(update_fields=["status", "error"])
            progress(f"{name}: failed")
        versions.append(version)
    return versions
