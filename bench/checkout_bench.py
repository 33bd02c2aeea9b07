"""Checkout write path: orders per second through the API against a raw-SQL reservation floor,
with a consistency check of stock, orders and payments once the workers have drained.

Part of ``make bench`` (bench/run_all.py); needs the database prepared by it.
"""

import threading
import time
from decimal import Decimal

from bench import harness as h

CLIENTS = 32
HOT_STOCK = 10_000_000
SPREAD_PRODUCTS = 1_000
SPREAD_STOCK = 100_000
DRAIN_TIMEOUT = 300
FLOOR_SQL = (
    "UPDATE inventory_stockitem SET reserved = reserved + 1 "
    "WHERE product_id = %s AND quantity - reserved >= 1"
)


def _products(prefix: str, count: int, stock: int, *, ledger: bool) -> list[int]:
    """``count`` bench products with ``stock`` units each (through stock_add when ``ledger``)."""
    from catalog.models import Category, Product
    from inventory.models import StockItem
    from inventory.services import stock_add

    category = Category.objects.order_by("id").first()
    if category is None:
        category = Category.objects.create(slug="bench", name="Bench")
    Product.objects.bulk_create(
        [
            Product(
                sku=f"{prefix}-{n}",
                slug=f"{prefix}-{n}",
                name=f"Bench item {prefix} {n}",
                description="A product made by the benchmark.",
                price=Decimal("9.99"),
                category=category,
                attributes={},
            )
            for n in range(count)
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    ids = list(
        Product.objects.filter(sku__startswith=f"{prefix}-")
        .order_by("id")
        .values_list("id", flat=True)
    )
    have = set(StockItem.objects.filter(product_id__in=ids).values_list("product_id", flat=True))
    missing = [product_id for product_id in ids if product_id not in have]
    if ledger:
        for product_id in missing:
            stock_add(product_id=product_id, quantity=stock, reason="benchmark stock")
    else:
        # The floor's rows only: no ledger, so one INSERT rather than a round trip per product.
        StockItem.objects.bulk_create(
            [StockItem(product_id=product_id, quantity=stock) for product_id in missing],
            batch_size=1000,
        )
    return ids


def prepare() -> dict:
    """Bench customers with API tokens, the hot product, the spread products, floor products."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    tokens = []
    for n in range(CLIENTS):
        user, _ = get_user_model().objects.get_or_create(
            username=f"bench-buyer-{n}", defaults={"email": f"bench{n}@example.com"}
        )
        tokens.append(Token.objects.get_or_create(user=user)[0].key)
    return {
        "tokens": tokens,
        "hot": _products("bench-hot", 1, HOT_STOCK, ledger=True),
        "spread": _products("bench-spread", SPREAD_PRODUCTS, SPREAD_STOCK, ledger=True),
        "floor_hot": _products("bench-floor-hot", 1, HOT_STOCK, ledger=False),
        "floor_spread": _products("bench-floor-spread", SPREAD_PRODUCTS, HOT_STOCK, ledger=False),
    }


def order_cost(token: str, product_id: int) -> dict[str, dict[str, int]]:
    """SQL statements and Redis round trips of one order, in-process: the API request (with
    the two task messages it publishes), then the processing a worker does (order_process)."""
    import json
    import uuid

    from django.test import Client

    from orders.services import order_process

    client = Client(HTTP_HOST=h.HOST)
    body = json.loads(json.dumps(h.ORDER_BODY))
    body["items"][0]["product"] = product_id

    def place():
        return client.post(
            "/api/orders/",
            json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {token}",
            HTTP_IDEMPOTENCY_KEY=f"bench-cost-{uuid.uuid4()}",
        )

    order_process(order_id=place().json()["id"])  # unmeasured: first use of every path
    with h.count_round_trips() as request:
        response = place()
    if response.status_code != 201:
        raise RuntimeError(f"POST /api/orders/ answered {response.status_code}")
    with h.count_round_trips() as processing:
        order_process(order_id=response.json()["id"])
    return {"request": dict(request), "processing": dict(processing)}


# --- the raw-SQL floor ----------------------------------------------------------------------
def sql_floor(product_ids: list[int], *, seconds: float, connections: int = CLIENTS) -> float:
    """Conditional reservation updates per second with ``connections`` psycopg connections;
    the floor products' reservations are handed back afterwards."""
    import psycopg

    counts = [0] * connections
    gate = threading.Barrier(connections + 1)
    stop_at = [0.0]

    def client(index: int) -> None:
        with psycopg.connect(h.DATABASE_URL, autocommit=True) as conn:
            cursor = conn.cursor()
            n = index
            gate.wait()
            while time.perf_counter() < stop_at[0]:
                n += connections
                cursor.execute(FLOOR_SQL, (product_ids[n % len(product_ids)],))
                counts[index] += cursor.rowcount

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(connections)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    gate.wait(timeout=60)
    for thread in threads:
        thread.join(timeout=seconds + 60)
    wall = time.perf_counter() - began
    with psycopg.connect(h.DATABASE_URL, autocommit=True) as conn:
        conn.execute(
            "UPDATE inventory_stockitem SET reserved = 0 WHERE product_id = ANY(%s)",
            (product_ids,),
        )
    return sum(counts) / wall


# --- checkout through the API ---------------------------------------------------------------
def _snapshot(product_ids: list[int]) -> dict[int, tuple[int, int]]:
    from inventory.models import StockItem

    return {
        row[0]: (row[1], row[2])
        for row in StockItem.objects.filter(product_id__in=product_ids).values_list(
            "product_id", "quantity", "reserved"
        )
    }


def _unsettled(first_order_id: int) -> int:
    from django.db.models import Q

    from orders.models import Order, OrderStatus

    return (
        Order.objects.filter(id__gte=first_order_id)
        .filter(
            Q(status__in=[OrderStatus.CREATED, OrderStatus.CONFIRMED])
            | Q(status=OrderStatus.PROCESSING, paid_at__isnull=True)
        )
        .count()
    )


def drain(first_order_id: int, timeout: float = DRAIN_TIMEOUT) -> float:
    """Wait (bounded) until the workers have processed every order of the run; seconds waited."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if _unsettled(first_order_id) == 0:
            return time.monotonic() - began
        time.sleep(0.5)
    raise RuntimeError(f"orders still unsettled after {timeout:.0f} s")


def consistency(first_order_id: int, before: dict[int, tuple[int, int]]) -> dict:
    """Stock, orders and payments of the run, once drained. ``ok`` is the verdict."""
    from django.db.models import Count, Q, Sum

    from inventory.models import Reservation
    from orders.models import Order, OrderLine, OrderStatus
    from payments.models import Payment

    after = _snapshot(list(before))
    orders = Order.objects.filter(id__gte=first_order_id)
    paid = orders.filter(status=OrderStatus.PROCESSING, paid_at__isnull=False)
    cancelled = orders.filter(status=OrderStatus.CANCELLED)
    sold_by_product = dict(
        OrderLine.objects.filter(order__in=paid)
        .values_list("product_id")
        .annotate(units=Sum("quantity"))
        .values_list("product_id", "units")
    )
    mismatched = oversold = 0
    for product_id, (quantity, reserved) in before.items():
        initial = quantity - reserved
        now_quantity, now_reserved = after[product_id]
        sold = sold_by_product.get(product_id, 0)
        if sold + (now_quantity - now_reserved) != initial:
            mismatched += 1
        oversold += max(sold - initial, 0) + max(now_reserved - now_quantity, 0)
    payments = Payment.objects.filter(order__in=orders)
    good_payments = (
        paid.filter(payments__status=Payment.Status.COMPLETED).distinct().count()
        + cancelled.filter(payments__status__in=[Payment.Status.FAILED, Payment.Status.REFUNDED])
        .distinct()
        .count()
    )
    double_paid = (
        orders.annotate(n=Count("payments", filter=Q(payments__status=Payment.Status.COMPLETED)))
        .filter(n__gt=1)
        .count()
    )
    active_reservations = Reservation.objects.filter(
        order__in=orders, state=Reservation.State.ACTIVE
    ).count()
    total = orders.count()
    report = {
        "orders": total,
        "paid": paid.count(),
        "cancelled": cancelled.count(),
        "unsettled": _unsettled(first_order_id),
        "payments": payments.count(),
        "units_sold": sum(sold_by_product.values()),
        "products_mismatched": mismatched,
        "oversold": oversold,
        "orders_without_settled_payment": total - good_payments,
        "double_charged": double_paid,
        "active_reservations": active_reservations,
    }
    report["ok"] = (
        mismatched == 0
        and oversold == 0
        and report["unsettled"] == 0
        and report["orders_without_settled_payment"] == 0
        and double_paid == 0
        and active_reservations == 0
        and report["payments"] == total
    )
    return report


def checkout_run(ports: list[int], tokens: list[str], products: list[int], seconds: float):
    """One timed run of 32 clients placing one-unit orders, then drain and check."""
    from django.db import connection

    from orders.models import Order

    connection.close()
    last = Order.objects.order_by("-id").values_list("id", flat=True).first() or 0
    before = _snapshot(products)
    scenario = h.Scenario(checkout=True, tokens=tokens, products=products)
    result = h.load(scenario, ports, seconds=seconds, connections=CLIENTS)
    drained = drain(last + 1)
    check = consistency(last + 1, before)
    placed = check["orders"]
    h.say(
        f"  {placed} orders in {result.seconds:.1f} s = {placed / result.seconds:.1f}/s "
        f"(p50 {result.p50_ms:.0f} ms, p99 {result.p99_ms:.0f} ms, {result.errors} errors), "
        f"drained in {drained:.1f} s, consistent: {check['ok']}"
    )
    if not check["ok"]:
        h.say(f"  INCONSISTENT: {check}")
    return result, placed / result.seconds, drained, check
