"""Catalog read path against the framework's floor, and the catalog at 1k, 10k and 100k products.

Part of ``make bench`` (bench/run_all.py); needs the database prepared by it.
"""

from bench import harness as h

LIST = "/api/products/?page_size=24"
SEARCH_TERMS = ["headphones", "coffee", "lamp", "novel", "jacket"]


def _product_paths() -> list[str]:
    from catalog.models import Product

    ids = Product.objects.filter(is_active=True).order_by("id").values_list("id", flat=True)
    return [f"/api/products/{pk}/" for pk in list(ids[:200])]


def read_path(ports: list[int], *, seconds: float, connections: int) -> dict:
    """Cold list, warm list and detail, each against the floor of its own body size."""
    port = ports[0]
    status, list_body = h.get(port, LIST)
    if status != 200:
        raise RuntimeError(f"{LIST} answered {status}")
    details = _product_paths()
    status, detail_body = h.get(port, details[0])
    if status != 200:
        raise RuntimeError(f"{details[0]} answered {status}")
    floor_list = h.Scenario(paths=[f"/bench/floor/?bytes={len(list_body)}"])
    floor_detail = h.Scenario(paths=[f"/bench/floor/?bytes={len(detail_body)}"])
    # Every request of the cold run is a cache miss: an extra (ignored) parameter is part of
    # the cache key, so each request builds its page from the database.
    cold = h.Scenario(paths=[f"{LIST}&cold={n}" for n in range(1, 50_001)])
    warm = h.Scenario(paths=[LIST])
    detail = h.Scenario(paths=details)
    for path in details + [LIST]:  # warm the cache and each worker once
        h.get(port, path)

    def one(scenario):
        return h.load(scenario, ports, seconds=seconds, connections=connections)

    def measure() -> dict:
        figures = {}
        for name, scenario in (
            ("floor_list", floor_list),
            ("warm_list", warm),
            ("cold_list", cold),
            ("floor_detail", floor_detail),
            ("detail", detail),
        ):
            result = one(scenario)
            h.say(
                f"  {name:13s} {result.rps:8.1f} req/s  p50 {result.p50_ms:7.2f} ms  "
                f"p99 {result.p99_ms:7.2f} ms  errors {result.errors}  "
                f"load generator CPU {result.generator_cpu:.0%}"
            )
            figures[f"{name}_rps"] = result.rps
            figures[f"{name}_p50"] = result.p50_ms
            figures[f"{name}_p99"] = result.p99_ms
            figures[f"{name}_errors"] = result.errors
            figures[f"{name}_gen_cpu"] = result.generator_cpu
        return figures

    figures = h.repeat(measure)
    figures["list_bytes"] = len(list_body)
    figures["detail_bytes"] = len(detail_body)
    return figures


def scale_point(ports: list[int], *, seconds: float, connections: int) -> dict:
    """p50 of the warm and cold list and of a text search (cold: every request a miss)."""
    scenarios = {
        "list_warm": h.Scenario(paths=[LIST]),
        "list_cold": h.Scenario(paths=[f"{LIST}&cold={n}" for n in range(1, 50_001)]),
        "search": h.Scenario(
            paths=[
                f"/api/products/?page_size=24&search={SEARCH_TERMS[n % len(SEARCH_TERMS)]}&cold={n}"
                for n in range(1, 50_001)
            ]
        ),
    }
    h.get(ports[0], LIST)

    def measure() -> dict:
        figures = {}
        for name, scenario in scenarios.items():
            result = h.load(scenario, ports, seconds=seconds, connections=connections)
            figures[f"{name}_p50"] = result.p50_ms
            figures[f"{name}_p99"] = result.p99_ms
            figures[f"{name}_rps"] = result.rps
            h.say(f"  {name:10s} {result.rps:8.1f} req/s  p50 {result.p50_ms:7.2f} ms")
        return figures

    return h.repeat(measure)


def explain_plans() -> str:
    """EXPLAIN ANALYZE of the list page and of a search, as the API builds them."""
    from django.db import connection
    from django.test import RequestFactory
    from rest_framework.request import Request

    from catalog.api import ProductViewSet

    plans = []
    for label, query in (("list", {"page_size": "24"}), ("search", {"search": "headphones"})):
        request = RequestFactory().get("/api/products/", {**query, "page_size": "24"})
        view = ProductViewSet(request=Request(request), format_kwarg=None, action="list")
        view.kwargs = {}
        queryset = view.filter_queryset(view.get_queryset())[:24]
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        plans.append(f"-- {label}: {query}\n{plan}")
        # The paginator also counts the whole result.
        count_sql, count_params = view.filter_queryset(view.get_queryset()).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"EXPLAIN ANALYZE SELECT COUNT(*) FROM ({count_sql}) AS counted", count_params
            )
            plans.append(f"-- {label} count\n" + "\n".join(row[0] for row in cursor.fetchall()))
    return "\n\n".join(plans)
