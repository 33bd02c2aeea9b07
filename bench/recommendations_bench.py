"""Recommendations: training time and peak memory, API latency, and the old per-request refit.

    .venv/bin/python bench/recommendations_bench.py [--skip-synthetic] [--requests 300]

1. Engine training on MovieLens-100k (from the recbole wheel) and on a synthetic matrix of
   1,000,000 interactions (50,000 customers x 5,000 products, long-tailed): fit plus the
   precomputation the nightly job stores (top 50 per customer, top 20 per product), the
   algorithms one after the other in one forked process, as the nightly job trains them (EASE's
   inverse shared), whose peak RSS so far is reported after each.
2. ``GET /api/recommendations/`` through the whole Django stack (in-process test client) on a
   throw-away test database (SQLite, or DATABASE_URL's server; with ``--in-place`` the configured
   database itself, which must be empty and expendable: ``make bench`` passes it after emptying
   shop_bench): p50/p99 with a cold cache (cleared before every request) and a warm one.
3. The reference: the first version of the shop refitted scikit-learn NMF on every request
   (matrix from the database, fit, score the customer). Re-implemented here, timed the same way,
   and the ratio of our request time to it.

Prints figures, then all of them as one ``BENCHJSON {...}`` line; asserts nothing.
"""

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings_test")
for scope in ("ANON", "USER"):
    os.environ.setdefault(f"THROTTLE_{scope}_RATE", "100000000/min")

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from django.conf import settings  # noqa: E402

from recommendations import engine  # noqa: E402

# What the nightly job trains (every engine algorithm unless the settings name fewer).
ALGORITHMS = list(settings.RECOMMENDATIONS_ALGORITHMS)
# Every figure, printed as one ``BENCHJSON {...}`` line at the end (bench/run_all.py reads it).
FIGURES: dict = {}


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _train_child(names, matrix, times, side, params, queue) -> None:
    # As the nightly job trains: one algorithm after the other in one process, EASE's inverse
    # shared between the models that fit the same matrix with the same L2.
    with engine.shared_ease():
        for name in names:
            started, cpu_started = time.perf_counter(), time.process_time()
            # As the nightly job fits: with each cell's time and what is known about the products.
            model = engine.build(name, **params.get(name, {})).fit(matrix, times, side)
            fitted = time.perf_counter()
            stored = 0
            for _, items, scores in model.recommend_all_arrays(50):  # as the nightly job stores
                keep = np.isfinite(scores)
                stored += len(items[keep].tolist()) + len(scores[keep].tolist())
            for _, similar, scores in model.similar_items_arrays(20):
                keep = np.isfinite(scores)
                stored += len(similar[keep].tolist()) + len(scores[keep].tolist())
            done = time.perf_counter()
            cpu = time.process_time() - cpu_started
            queue.put((name, fitted - started, done - fitted, cpu, max_rss_mb()))
            del model


def train_and_precompute(names: list[str], data, params: dict):
    """Per algorithm of ``names``, trained in turn in one forked process: seconds to fit,
    seconds to compute what is stored, CPU seconds of both, and the process's peak RSS (MB)
    so far. ``data`` is (matrix, times, side information).

    The child starts as a copy of this process, so its peak includes this process's own
    memory at the fork (printed as the baseline): an upper bound for the training alone.
    """
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_train_child, args=(names, *data, params, queue))
    child.start()
    for _ in names:
        yield queue.get()
    child.join()


def synthetic_data(n_users=50_000, n_items=5_000, n_interactions=1_000_000, seed=42):
    """Customers with a few favourite product groups; product appeal long-tailed. Returns the
    matrix, each cell's latest time (a year of interactions) and side information as the shop
    gives it: category (the group) and its parent, brand and one attribute as features, and
    up to three catalog edges (accessories) from each product to products of its group."""
    from recommendations.engine.base import SideInfo
    from recommendations.engine.evaluation import Interactions

    rng = np.random.default_rng(seed)
    groups = 50
    item_group = rng.integers(0, groups, n_items)
    appeal = rng.pareto(1.1, n_items) + 0.01
    users = rng.integers(0, n_users, n_interactions)
    user_group = rng.integers(0, groups, (n_users, 3))
    group_of_pick = user_group[users, rng.integers(0, 3, n_interactions)]
    # Two in three picks within a favourite group (by appeal), the rest anywhere (by appeal).
    items = np.empty(n_interactions, dtype=np.int64)
    by_group = [np.flatnonzero(item_group == g) for g in range(groups)]
    in_group = rng.random(n_interactions) < 0.67
    for g in range(groups):
        members = by_group[g]
        chosen = np.flatnonzero(in_group & (group_of_pick == g))
        p = appeal[members] / appeal[members].sum()
        items[chosen] = rng.choice(members, size=len(chosen), p=p)
    anywhere = np.flatnonzero(~in_group)
    items[anywhere] = rng.choice(n_items, size=len(anywhere), p=appeal / appeal.sum())
    weights = rng.choice([1.0, 3.0, 5.0], size=n_interactions, p=[0.7, 0.2, 0.1])
    at = rng.uniform(0, 365 * 86400, n_interactions)
    data = Interactions(users, items, weights.astype(np.float32), at, n_users, n_items)
    columns = [item_group, groups + item_group // 10, groups + 5 + rng.integers(0, 200, n_items)]
    columns.append(groups + 205 + rng.integers(0, 10, n_items))
    features = sp.csr_matrix(
        (
            np.ones(n_items * len(columns), dtype=np.float32),
            (np.tile(np.arange(n_items), len(columns)), np.concatenate(columns)),
        ),
        shape=(n_items, groups + 215),
    )
    sources, targets = [], []
    for item in range(n_items):
        members = by_group[item_group[item]]
        picked = rng.choice(members, size=min(int(rng.integers(0, 4)), len(members)), replace=False)
        picked = picked[picked != item]
        sources += [item] * len(picked)
        targets += picked.tolist()
    graph = sp.csr_matrix(
        (np.ones(len(sources), dtype=np.float32), (sources, targets)), shape=(n_items, n_items)
    )
    return data.matrix(), data.time_matrix(), SideInfo(features=features, graph=graph)


def engine_section(args):
    from recommendations.engine.datasets import load_movielens_100k, load_movielens_100k_side

    data, _, item_ids = load_movielens_100k()
    sets = [("ml-100k", (data.matrix(), data.time_matrix(), load_movielens_100k_side(item_ids)))]
    if not args.skip_synthetic:
        started = time.perf_counter()
        sets.append(("synthetic-1M", synthetic_data()))
        print(f"(synthetic data built in {time.perf_counter() - started:.1f}s)")
    params = {"nmf": {"n_components": 32, "max_iter": 200}}
    for label, (matrix, times, side) in sets:
        print(f"\n{label}: {matrix.shape[0]} users x {matrix.shape[1]} items, {matrix.nnz} cells")
        print(f"baseline RSS of this process: {max_rss_mb():.0f} MB")
        print(
            f"{'algorithm':<12}{'fit s':>9}{'store s':>9}{'total s':>9}{'CPU s':>9}"
            f"{'peak RSS MB':>13}"
        )
        total = cpu = 0.0
        peaks = []
        for name, fit_s, store_s, cpu_s, peak in train_and_precompute(
            ALGORITHMS, (matrix, times, side), params
        ):
            total += fit_s + store_s
            cpu += cpu_s
            peaks.append(peak)
            print(
                f"{name:<12}{fit_s:>9.2f}{store_s:>9.2f}{fit_s + store_s:>9.2f}{cpu_s:>9.2f}"
                f"{peak:>13.0f}"
            )
        print(
            f"all {len(ALGORITHMS)} algorithms: {total:.1f}s ({cpu:.1f} CPU s); "
            f"process max RSS so far {max_rss_mb():.0f} MB"
        )
        FIGURES[label] = {
            "users": matrix.shape[0],
            "items": matrix.shape[1],
            "cells": int(matrix.nnz),
            "algorithms": len(ALGORITHMS),
            "train_s": round(total, 2),
            "train_cpu_s": round(cpu, 2),
            "peak_rss_mb": round(max(peaks)),
        }


def percentile(samples, q):
    ordered = sorted(samples)
    return ordered[min(int(round(q * (len(ordered) - 1))), len(ordered) - 1)]


def api_section(args):
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import setup_test_environment
    from django.utils import timezone
    from rest_framework.test import APIClient
    from sklearn.decomposition import NMF

    from catalog.models import Category, Product
    from recommendations import training
    from recommendations.models import Interaction

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    if not args.in_place:
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        rng = np.random.default_rng(1)
        category = Category.objects.create(name="Bench", slug="bench")
        products = Product.objects.bulk_create(
            Product(sku=f"B{i}", slug=f"b-{i}", name=f"Bench {i}", price=10, category=category)
            for i in range(args.products)
        )
        User = get_user_model()
        users = User.objects.bulk_create(User(username=f"u{i}") for i in range(args.users))
        appeal = rng.pareto(1.2, len(products)) + 0.05
        appeal /= appeal.sum()
        now = timezone.now()
        rows = [
            Interaction(
                user=user,
                product=products[int(p)],
                kind=str(rng.choice(["view", "cart", "purchase"], p=[0.7, 0.2, 0.1])),
                at=now,
            )
            for user in users
            for p in rng.choice(len(products), size=args.per_user, replace=False, p=appeal)
        ]
        Interaction.objects.bulk_create(rows, batch_size=5000)
        started = time.perf_counter()
        training.training_run(algorithms=["popular", "item_knn", "ease"])
        print(
            f"\nshop database: {len(users)} customers, {len(products)} products, {len(rows)} "
            f"interactions; training_run (popular, item_knn, ease) "
            f"{time.perf_counter() - started:.1f}s"
        )

        client = APIClient()
        picks = [users[int(i)] for i in rng.integers(0, len(users), args.requests)]

        def timed(user, clear):
            if clear:
                cache.clear()
            client.force_authenticate(user)
            t = time.perf_counter()
            response = client.get("/api/recommendations/", {"limit": 10})
            elapsed = (time.perf_counter() - t) * 1000
            assert response.status_code == 200, response.content
            return elapsed

        cold = [timed(u, True) for u in picks]
        for u in picks:  # warm every customer once
            timed(u, False)
        warm = [timed(u, False) for u in picks]
        for label, samples in (("cold cache", cold), ("warm cache", warm)):
            print(
                f"GET /api/recommendations/ {label}: p50 {statistics.median(samples):.2f} ms, "
                f"p99 {percentile(samples, 0.99):.2f} ms ({len(samples)} requests)"
            )

        def seed_request(user) -> float:
            """The old way: every request reads all interactions, fits NMF, scores one user."""
            t = time.perf_counter()
            triples = list(Interaction.objects.values_list("user_id", "product_id", "kind"))
            weights = {"view": 1.0, "cart": 3.0, "purchase": 5.0}
            user_ids = sorted({u for u, _, _ in triples})
            product_ids = sorted({p for _, p, _ in triples})
            u_index = {u: i for i, u in enumerate(user_ids)}
            p_index = {p: i for i, p in enumerate(product_ids)}
            matrix = sp.csr_matrix(
                (
                    [weights[k] for _, _, k in triples],
                    ([u_index[u] for u, _, _ in triples], [p_index[p] for _, p, _ in triples]),
                ),
                shape=(len(user_ids), len(product_ids)),
            )
            model = NMF(n_components=20, init="nndsvda", max_iter=200, random_state=0)
            w = model.fit_transform(matrix)
            scores = w[u_index[user.pk]] @ model.components_
            scores[matrix[u_index[user.pk]].indices] = -np.inf
            top = np.argsort(-scores)[:10]
            list(Product.objects.filter(pk__in=[product_ids[i] for i in top]))
            return (time.perf_counter() - t) * 1000

        seed = [seed_request(u) for u in picks[: args.seed_requests]]
        p50_seed = statistics.median(seed)
        print(
            f"per-request NMF refit (reference): p50 {p50_seed:.0f} ms, "
            f"p99 {percentile(seed, 0.99):.0f} ms ({len(seed)} requests)"
        )
        print(
            f"ratio of our p50 to the reference p50: cold {statistics.median(cold) / p50_seed:.4f}"
            f", warm {statistics.median(warm) / p50_seed:.5f}"
        )
        FIGURES["api"] = {
            "requests": len(cold),
            "cold_p50_ms": statistics.median(cold),
            "cold_p99_ms": percentile(cold, 0.99),
            "warm_p50_ms": statistics.median(warm),
            "warm_p99_ms": percentile(warm, 0.99),
            "seed_requests": len(seed),
            "seed_p50_ms": p50_seed,
            "seed_p99_ms": percentile(seed, 0.99),
        }
    finally:
        if not args.in_place:
            connection.creation.destroy_test_db(old_name, verbosity=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--skip-engine", action="store_true")
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seed-requests", type=int, default=20)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--per-user", type=int, default=20)
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="use the configured database as it is (empty, expendable) instead of a test database",
    )
    args = parser.parse_args()
    if not args.skip_engine:
        engine_section(args)
    if not args.skip_api:
        api_section(args)
    print(f"\nprocess max RSS: {max_rss_mb():.0f} MB")
    print("BENCHJSON " + json.dumps(FIGURES), flush=True)


if __name__ == "__main__":
    main()
