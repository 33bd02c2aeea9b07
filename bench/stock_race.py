#!/usr/bin/env python
"""Race many clients for a few units of one product through inventory.services.stock_reserve.

Needs PostgreSQL (DATABASE_URL) with the migrations applied. Creates its own product, user and
orders, prints what happened and removes them again (unless --keep).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shop .venv/bin/python bench/stock_race.py
    .venv/bin/python bench/stock_race.py --clients 500 --units 100 --connections 40

Every client reserves --per-client units (default 1) for its own order. The clients are queued
for --connections worker threads (each holding one database connection, as web workers do),
all started together by a barrier. Units oversold must be 0.
"""

import argparse
import os
import queue
import secrets
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
# The benchmark signs nothing; production settings only insist that a key exists.
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, connections  # noqa: E402

from catalog.models import Category, Product  # noqa: E402
from inventory.exceptions import InsufficientStock  # noqa: E402
from inventory.models import StockItem  # noqa: E402
from inventory.selectors import ledger_totals  # noqa: E402
from inventory.services import stock_add, stock_reserve  # noqa: E402
from orders.models import Order  # noqa: E402


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200, help="competing clients (200)")
    parser.add_argument("--units", type=int, default=50, help="units in stock (50)")
    parser.add_argument("--per-client", type=int, default=1, help="units each client wants (1)")
    parser.add_argument(
        "--connections", type=int, default=40, help="database connections / worker threads (40)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the rows it created")
    return parser.parse_args()


def setup(args, run: str):
    user = get_user_model().objects.create_user(username=f"bench-{run}", password=None)
    category = Category.objects.create(name=f"Bench {run}", slug=f"bench-{run}")
    product = Product.objects.create(
        sku=f"BENCH-{run}",
        slug=f"bench-{run}",
        name=f"Bench product {run}",
        price=Decimal("1.00"),
        category=category,
    )
    stock_add(product_id=product.pk, quantity=args.units, reason="benchmark")
    # No reorder requests (and no staff e-mails) for the benchmark's product.
    StockItem.objects.filter(pk=product.pk).update(reorder_point=0, reorder_quantity=0)
    orders = Order.objects.bulk_create(
        [
            Order(
                number=f"B{run}-{i:05d}",
                user=user,
                currency="EUR",
                total=Decimal("1.00") * args.per_client,
            )
            for i in range(args.clients)
        ]
    )
    return user, category, product, orders


def race(args, product, orders) -> tuple[Counter, float]:
    jobs: queue.SimpleQueue = queue.SimpleQueue()
    for order in orders:
        jobs.put(order)
    workers = max(1, min(args.connections, args.clients))
    barrier = threading.Barrier(workers + 1)
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def work():
        mine: Counter = Counter()
        try:
            connection.ensure_connection()  # connect before the start, not during the race
            barrier.wait()
            while True:
                try:
                    order = jobs.get_nowait()
                except queue.Empty:
                    break
                try:
                    stock_reserve(order=order, lines=[(product.pk, args.per_client)])
                    mine["sold"] += 1
                except InsufficientStock:
                    mine["refused"] += 1
                except Exception as exc:  # a bug: count it and show it
                    mine[f"error: {type(exc).__name__}: {exc}"] += 1
        finally:
            connection.close()
            with lock:
                outcomes.update(mine)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return outcomes, time.perf_counter() - started


def cleanup(user, category, product) -> None:
    Order.objects.filter(user=user).delete()  # and their reservations
    product.delete()  # and its stock record and ledger
    category.delete()
    user.delete()


def main() -> int:
    args = arguments()
    if connection.vendor != "postgresql":
        print("stock_race needs PostgreSQL: set DATABASE_URL=postgres://...", file=sys.stderr)
        return 2
    run = secrets.token_hex(4)
    user, category, product, orders = setup(args, run)
    try:
        outcomes, wall = race(args, product, orders)
        item = StockItem.objects.get(pk=product.pk)
        quantity, reserved = ledger_totals(product.pk)
        attempts = sum(outcomes.values())
        sold = item.reserved
        print(f"clients            {args.clients} x {args.per_client} unit(s)")
        print(f"connections        {min(args.connections, args.clients)} worker threads")
        print(f"stock              {args.units} units")
        print(f"units sold         {sold}")
        print(f"units oversold     {max(sold - args.units, 0)}")
        print(f"orders reserved    {outcomes['sold']}")
        print(f"orders refused     {outcomes['refused']} (insufficient_stock)")
        for outcome, n in sorted(outcomes.items()):
            if outcome.startswith("error"):
                print(f"ERROR x{n}          {outcome}")
        print(f"wall time          {wall:.3f} s")
        rate, sold_rate = attempts / wall, outcomes["sold"] / wall
        print(f"reservations/s     {rate:.0f} attempts, {sold_rate:.0f} sold")
        ledger_ok = (quantity, reserved) == (item.quantity, item.reserved)
        print(
            f"ledger             {'matches' if ledger_ok else 'DIFFERS'} "
            f"(quantity {quantity}, reserved {reserved})"
        )
    finally:
        if not args.keep:
            cleanup(user, category, product)
        connections.close_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
