"""How much the catalog cache saves: product list and detail API, cold versus warm.

Run against a migrated database with demo data (any DATABASE_URL / REDIS_URL, or the embedded
SQLite and local-memory cache). The setup commands run in debug mode: with debug off, the system
checks refuse the development secret key and the test gateway (shop.E002, shop.E003).

    export DJANGO_DEBUG=1
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py load_demo --products 2000
    unset DJANGO_DEBUG
    .venv/bin/python bench/cache_catalog.py [--rounds 200]

Requests go through the whole Django stack in-process (test client), so the figures are the
server's own time without network. Prints figures; asserts nothing.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
# The bench is a single client hammering the API: lift the throttles for it.
for scope in ("ANON", "USER"):
    os.environ.setdefault(f"THROTTLE_{scope}_RATE", "100000000/min")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from catalog.models import Category, Product  # noqa: E402
from shop import cache as shop_cache  # noqa: E402


def timed(client, url, params) -> tuple[float, int]:
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(url, params, secure=True, HTTP_HOST="localhost")
        elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"{url} {params} answered {response.status_code}")
    return elapsed * 1000, len(queries)


def describe(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(int(len(ordered) * 0.95), len(ordered) - 1)]
    mean, p50 = statistics.fmean(ordered), statistics.median(ordered)
    return f"mean {mean:7.2f} ms  p50 {p50:7.2f}  p95 {p95:7.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    products = list(Product.objects.filter(is_active=True).order_by("id")[:20])
    category = Category.objects.filter(parent__isnull=True).order_by("id").first()
    if not products or category is None:
        raise SystemExit("No products: run `manage.py migrate` and `manage.py load_demo` first.")
    cases = [
        ("list, default", "/api/products/", {}),
        (
            "list, category + ordering",
            "/api/products/",
            {"category": category.slug, "ordering": "price"},
        ),
        ("list, price range", "/api/products/", {"min_price": "10", "max_price": "200"}),
        ("detail", f"/api/products/{products[0].id}/", {}),
    ]
    client = APIClient()
    print(
        f"database: {connection.vendor}; cache: {django.conf.settings.CACHES['default']['BACKEND']}"
    )
    print(f"{Product.objects.count()} products, {args.rounds} rounds per case\n")
    for name, url, params in cases:
        cold, cold_queries = [], 0
        for _ in range(args.rounds):
            shop_cache.invalidate("catalog")
            ms, cold_queries = timed(client, url, params)
            cold.append(ms)
        warm, warm_queries = [], 0
        timed(client, url, params)  # fill the cache
        for _ in range(args.rounds):
            ms, warm_queries = timed(client, url, params)
            warm.append(ms)
        speedup = statistics.fmean(cold) / statistics.fmean(warm)
        print(f"{name}")
        print(f"  uncached  {describe(cold)}  queries {cold_queries}")
        print(f"  cached    {describe(warm)}  queries {warm_queries}   x{speedup:.1f}")
    stats = shop_cache.stats("catalog")
    print(f"\ncatalog area totals: {stats['hits']} hits, {stats['misses']} misses")


if __name__ == "__main__":
    main()
