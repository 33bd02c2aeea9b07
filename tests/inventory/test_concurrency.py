"""Real threads against PostgreSQL: nothing is ever oversold, nothing released twice."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from inventory import selectors
from inventory.exceptions import InsufficientStock
from inventory.models import Reservation, StockItem
from inventory.services import reservations_expire, stock_release, stock_reserve
from tests.factories import OrderFactory
from tests.utils import requires_postgres, run_together

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def race(workers: list) -> Counter:
    """Run every callable in its own thread, all released at once; count the outcomes."""
    outcomes: Counter = Counter()
    for result in run_together(len(workers), lambda i: workers[i]()):
        if isinstance(result, InsufficientStock):
            outcomes["insufficient_stock"] += 1
        elif isinstance(result, Exception):  # anything else is a bug the test must show
            outcomes[f"{type(result).__name__}: {result}"] += 1
        else:
            outcomes["ok" if result is None else result] += 1
    return outcomes


def levels(product) -> tuple[int, int]:
    item = StockItem.objects.get(pk=product.pk)
    return item.quantity, item.reserved


def test_fifty_buyers_for_ten_units_exactly_ten_succeed(stocked):
    product = stocked(10)
    orders = [OrderFactory() for _ in range(50)]

    outcomes = race(
        [lambda o=o: stock_reserve(order=o, lines=[(product.pk, 1)]) and None for o in orders]
    )

    assert outcomes == Counter({"ok": 10, "insufficient_stock": 40})
    assert levels(product) == (10, 10)
    assert Reservation.objects.filter(product=product, state="active").count() == 10
    assert selectors.ledger_totals(product.pk) == (10, 10)


def test_multi_line_orders_in_opposite_orders_neither_deadlock_nor_oversell(stocked):
    a, b, c = stocked(15), stocked(15), stocked(15)
    orders = [OrderFactory() for _ in range(40)]
    lines = [
        [(a.pk, 1), (b.pk, 1), (c.pk, 1)] if i % 2 else [(c.pk, 1), (b.pk, 1), (a.pk, 1)]
        for i in range(40)
    ]

    outcomes = race(
        [
            lambda o=o, ln=ln: stock_reserve(order=o, lines=ln) and None
            for o, ln in zip(orders, lines, strict=True)
        ]
    )

    assert outcomes == Counter({"ok": 15, "insufficient_stock": 25})
    for product in (a, b, c):
        assert levels(product) == (15, 15)
        assert selectors.ledger_totals(product.pk) == (15, 15)


def test_competing_orders_for_two_products_keep_all_or_nothing(stocked):
    a, b = stocked(10), stocked(4)
    orders = [OrderFactory() for _ in range(30)]

    outcomes = race(
        [
            lambda o=o, i=i: (
                stock_reserve(
                    order=o, lines=[(b.pk, 1), (a.pk, 2)] if i % 2 else [(a.pk, 2), (b.pk, 1)]
                )
                and None
            )
            for i, o in enumerate(orders)
        ]
    )

    assert outcomes == Counter({"ok": 4, "insufficient_stock": 26})
    assert levels(a) == (10, 8) and levels(b) == (4, 4)
    held = Counter(Reservation.objects.values_list("order_id", flat=True))
    assert len(held) == 4 and set(held.values()) == {2}  # every order has both lines or none


def test_concurrent_sweepers_and_releases_hand_stock_back_exactly_once(stocked):
    product = stocked(60)
    orders = [OrderFactory() for _ in range(30)]
    for order in orders:
        stock_reserve(order=order, lines=[(product.pk, 2)], ttl=timedelta(seconds=1))
    later = timezone.now() + timedelta(minutes=1)

    outcomes = race(
        [lambda: reservations_expire(now=later) for _ in range(4)]
        + [lambda o=o: stock_release(order=o) for o in orders[:10]]
    )

    assert all(isinstance(outcome, int) for outcome in outcomes), outcomes
    assert levels(product) == (60, 0)
    assert selectors.ledger_totals(product.pk) == (60, 0)
    states = Counter(Reservation.objects.values_list("state", flat=True))
    assert sum(states.values()) == 30 and set(states) <= {"expired", "released"}
