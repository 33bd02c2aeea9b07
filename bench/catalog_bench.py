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
            if name in ("warm_list", "detail"):
                # Cached answers live CATALOG_CACHE_SECONDS (60 s) and a round of five runs
                # takes longer: fill again what expired, so "warm" and "cached" stay true.
                for path in scenario.paths:
                    h.get(port, path)
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
    """p50 of the warm and cold list and of a text search (cold: every request a miss), and of
    the floor (a body of the list's size), measured between them: the machine is shared, and
    figures taken a minute apart at two catalog sizes are compared through it."""
    status, body = h.get(ports[0], LIST)
    if status != 200:
        raise RuntimeError(f"{LIST} answered {status}")
    scenarios = {
        "floor": h.Scenario(paths=[f"/bench/floor/?bytes={len(body)}"]),
        "list_warm": h.Scenario(paths=[LIST]),
        "list_cold": h.Scenario(paths=[f"{LIST}&cold={n}" for n in range(1, 50_001)]),
        "search": h.Scenario(
            paths=[
                f"/api/products/?page_size=24&search={SEARCH_TERMS[n % len(SEARCH_TERMS)]}&cold={n}"
                for n in range(1, 50_001)
            ]
        ),
    }

    def measure() -> dict:
        figures = {}
        for name, scenario in scenarios.items():
            result = h.load(scenario, ports, seconds=seconds, connections=connections)
            figures[f"{name}_p50"] = result.p50_ms
            figures[f"{name}_p99"] = result.p99_ms
            figures[f"{name}_rps"] = result.rps
            h.say(f"  {name:10s} {result.rps:8.1f} req/s  p50 {result.p50_ms:7.2f} ms")
        for name in scenarios:  # each p50 as a multiple of the floor's p50 of the same round
            figures[f"{name}_vs_floor"] = figures[f"{name}_p50"] / figures["floor_p50"]
        return figures

    return h.repeat(measure)


def request_costs() -> dict[str, dict[str, int]]:
    """SQL statements and Redis round trips of one request of each kind, in-process (the same
    code and settings as the servers), each after one unmeasured request of its kind."""
    from django.test import Client

    client = Client(HTTP_HOST=h.HOST)
    body = client.get(LIST).content
    paths = {
        "floor": f"/bench/floor/?bytes={len(body)}",
        "warm list": LIST,
        "cold list": f"{LIST}&cold=cost-{{n}}",
        "cold search": f"{LIST}&search={SEARCH_TERMS[0]}&cold=cost-{{n}}",
        "detail (cached)": _product_paths()[0],
    }
    costs = {}
    for name, path in paths.items():
        client.get(path.format(n=0))
        with h.count_round_trips() as counts:
            status = client.get(path.format(n=1)).status_code
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
        costs[name] = dict(counts)
    return costs


def explain_plans() -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of every query a cold list request and a cold search request
    run, captured from the requests themselves (in-process, after emptying the catalog cache,
    so the count is run too)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from catalog.selectors import CATALOG_CACHE_AREA
    from shop.cache import invalidate

    client = Client(HTTP_HOST=h.HOST)
    plans = []
    for label, path in (("list", LIST), ("search", f"{LIST}&search={SEARCH_TERMS[0]}")):
        invalidate(CATALOG_CACHE_AREA)
        with CaptureQueriesContext(connection) as queries:
            status = client.get(path).status_code
        plans.append(f"-- {label}: GET {path} ({status}), {len(queries)} queries")
        for query in queries.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                plan = "\n".join(row[0] for row in cursor.fetchall())
            plans.append(f"{sql[:300]}{' ...' if len(sql) > 300 else ''}\n{plan}")
    return "\n\n".join(plans)
