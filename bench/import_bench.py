#!/usr/bin/env python
"""Catalog files at scale: import 100,000 products from a CSV file, export them, and time the
facets of the product list over them. Prints figures; asserts nothing.

    .venv/bin/python bench/import_bench.py                # 100,000 rows
    BENCH_IMPORT_ROWS=10000 .venv/bin/python bench/import_bench.py

Runs on PostgreSQL database ``shop_import_bench`` (BENCH_IMPORT_DATABASE_URL to change it;
created if missing, migrated, and its catalog emptied here; no other database is touched),
with the local-memory cache. The rows are the demo catalog's products (catalog.demo_data), so
categories, attributes and prices look like a shop's. Timed: the import of a file of new
products (every row checked, then written in bulk, stock opened in the ledger), the same file
again (every row an update, stock unchanged), a dry run, and the export.
"""

import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
DATABASE_URL = os.environ.get(
    "BENCH_IMPORT_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/shop_import_bench"
)
FACET_RUNS = int(os.environ.get("BENCH_FACET_RUNS", "5"))


def _prepare_database() -> None:
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    server = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def _setup_django() -> None:
    os.environ["DATABASE_URL"] = DATABASE_URL
    os.environ.pop("REDIS_URL", None)  # the local-memory cache: nothing shared is touched
    os.environ.setdefault("DJANGO_DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    import django

    django.setup()


def _write_file(path: Path, rows: int) -> None:
    import csv
    import json

    from catalog import demo_data

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["sku", "name", "category", "price", "currency", "tax_class", "description"]
            + ["attributes", "stock", "parent_sku", "options"]
        )
        for index in range(rows):
            spec = demo_data.product_spec(index)
            writer.writerow(
                [
                    f"IMP-{index:07d}",
                    spec["name"],
                    spec["category"],
                    spec["price"],
                    "EUR",
                    spec["tax_class"],
                    spec["description"],
                    json.dumps(spec["attributes"]),
                    spec["stock"],
                    "",
                    "",
                ]
            )


def _timed(label: str, action):
    """Wall time, and the CPU time of this process and of its PostgreSQL backend: on a shared
    machine the wall time counts the waits for a core, the two CPU times do not."""
    from django.db import connection

    started, cpu = time.perf_counter(), time.process_time()
    backend = _backend_cpu(connection)
    value = action()
    seconds = time.perf_counter() - started
    cpu, backend = time.process_time() - cpu, _backend_cpu(connection) - backend
    print(
        f"  {label:44s} {seconds:8.2f} s   (CPU: Python {cpu:6.2f} s, PostgreSQL {backend:6.2f} s)",
        flush=True,
    )
    return value, seconds


def _backend_cpu(connection) -> float:
    """CPU seconds the connection's PostgreSQL backend has used (it runs on this machine)."""
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # a server on another machine: not measured
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    _prepare_database()
    _setup_django()
    from django.core.management import call_command
    from django.db import connection

    from catalog import selectors, services
    from catalog.management.commands.import_products import read_catalog_file
    from catalog.models import Category
    from inventory.models import StockMovement

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE catalog_product, inventory_stockitem, inventory_stockmovement "
            "RESTART IDENTITY CASCADE"
        )
    call_command("load_demo", products=0, no_progress=True, stdout=io.StringIO())
    print(
        f"Catalog import benchmark: {ROWS:,} rows, PostgreSQL {connection.pg_version}, "
        f"{os.cpu_count()} CPUs (shared machine)",
        flush=True,
    )
    assert Category.objects.exists()

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "catalog.csv"
        _timed("write the CSV file", lambda: _write_file(path, ROWS))
        dataset, _ = _timed("read it (tablib)", lambda: read_catalog_file(path))

        result, dry = _timed(
            "dry run (check every row, roll back)",
            lambda: services.products_import(dataset=dataset, dry_run=True, file_name=path.name),
        )
        assert not result.has_errors() and not result.has_validation_errors(), result.base_errors
        result, first = _timed(
            "import, every row new",
            lambda: services.products_import(dataset=dataset, file_name=path.name),
        )
        assert result.totals["new"] == ROWS, result.totals
        print(f"  ledger rows written: {StockMovement.objects.count():,}")
        result, again = _timed(
            "import again, every row an update",
            lambda: services.products_import(dataset=dataset, file_name=path.name),
        )
        assert result.totals["update"] == ROWS, result.totals
        exported, export_seconds = _timed(
            "export", lambda: selectors.products_export().export("csv")
        )
        print(f"  export size: {len(exported) / 1e6:.1f} MB")

    print(f"Import of {ROWS:,} new rows: {first:.1f} s (goal: under 60 s at 100,000)")

    # Facets of the product list over the imported catalog (no cache: the selector itself).
    phones = Category.objects.get(slug="phones")
    cases = {
        "no filter": {},
        "category electronics": {"category": Category.objects.get(slug="electronics")},
        "phones, colour black, in stock": {
            "category": phones,
            "attributes": {"color": ["black"]},
            "in_stock": True,
        },
        "search 'coffee'": {"search": "coffee"},
    }
    print(f"Facets over {ROWS:,} products (median of {FACET_RUNS}):")
    for label, filters in cases.items():
        times = []
        for _ in range(FACET_RUNS):
            started = time.perf_counter()
            selectors.product_facets(**filters)
            times.append(time.perf_counter() - started)
        print(f"  {label:44s} {statistics.median(times) * 1000:8.1f} ms", flush=True)


if __name__ == "__main__":
    main()
