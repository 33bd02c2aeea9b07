"""Stock levels, the ledger and reorder requests (single-threaded behaviour)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from catalog.selectors import CATALOG_CACHE_AREA, product_cache_tag
from inventory import selectors
from inventory.exceptions import InsufficientStock, ReservationExpired
from inventory.models import ReorderRequest, Reservation, StockItem, StockMovement
from inventory.services import (
    reorder_mark_ordered,
    reorder_receive,
    reservations_expire,
    stock_add,
    stock_adjust,
    stock_commit,
    stock_release,
    stock_remove,
    stock_reserve,
)
from shop.cache import area_version, cached, tag
from shop.exceptions import InvalidTransition
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def levels(product) -> tuple[int, int]:
    item = StockItem.objects.get(pk=product.pk)
    return item.quantity, item.reserved


def assert_ledger_matches(*products):
    for product in products:
        assert selectors.ledger_totals(product.pk) == levels(product)


def test_adding_stock_creates_the_record_and_one_ledger_row():
    product = ProductFactory()

    item = stock_add(product_id=product.pk, quantity=7, reason="delivery", reference="PO-1")

    assert (item.quantity, item.reserved) == (7, 0)
    movement = StockMovement.objects.get(product=product)
    assert (movement.delta, movement.kind, movement.reference) == (7, "restock", "PO-1")


def test_removing_more_than_available_is_refused_and_changes_nothing(stocked, order_for):
    product = stocked(5)
    stock_reserve(order=order_for((product, 3)), lines=[(product.pk, 3)])

    with pytest.raises(InsufficientStock) as caught:
        stock_remove(product_id=product.pk, quantity=3, reason="damaged")

    assert caught.value.code == "insufficient_stock" and caught.value.status_code == 409
    assert caught.value.details == {"product_id": product.pk, "requested": 3, "available": 2}
    assert levels(product) == (5, 3)
    assert_ledger_matches(product)


def test_adjust_adds_and_removes_with_a_reason(stocked, staff):
    product = stocked(5)

    stock_adjust(product_id=product.pk, delta=4, reason="found in the back", actor=staff)
    stock_adjust(product_id=product.pk, delta=-2, reason="count", actor=staff)

    assert levels(product) == (7, 0)
    kinds = list(StockMovement.objects.filter(actor=staff).values_list("kind", "delta"))
    assert sorted(kinds) == [("adjustment", -2), ("adjustment", 4)]


@pytest.mark.parametrize("delta, reason", [(0, "x"), (3, ""), (-1, "   ")])
def test_adjust_needs_a_change_and_a_reason(stocked, delta, reason):
    product = stocked(5)
    with pytest.raises(ValueError):
        stock_adjust(product_id=product.pk, delta=delta, reason=reason)
    assert levels(product) == (5, 0)


def test_reserving_is_all_or_nothing(stocked, order_for):
    plenty, scarce = stocked(10), stocked(1)
    order = order_for((plenty, 4), (scarce, 2))

    with pytest.raises(InsufficientStock) as caught:
        stock_reserve(order=order, lines=[(plenty.pk, 4), (scarce.pk, 2)])

    assert caught.value.details["product_id"] == scarce.pk
    assert levels(plenty) == (10, 0) and levels(scarce) == (1, 0)
    assert not Reservation.objects.exists()
    assert_ledger_matches(plenty, scarce)


def test_reserving_a_product_without_stock_record_is_insufficient_stock(order_for):
    product = ProductFactory()
    with pytest.raises(InsufficientStock) as caught:
        stock_reserve(order=order_for((product, 1)), lines=[(product.pk, 1)])
    assert caught.value.details["available"] == 0


def test_reserve_commit_and_release_move_the_right_columns(stocked, order_for):
    a, b = stocked(10), stocked(10)
    sold, cancelled = order_for((a, 3), (b, 1)), order_for((a, 2))
    reservations = stock_reserve(order=sold, lines=[(b.pk, 1), (a.pk, 3)])
    stock_reserve(order=cancelled, lines=[(a.pk, 2)])
    assert [r.product_id for r in reservations] == sorted([a.pk, b.pk])
    assert levels(a) == (10, 5)

    assert stock_commit(order=sold) == 4
    assert stock_release(order=cancelled, reason="customer cancelled") == 2

    assert levels(a) == (7, 0) and levels(b) == (9, 0)
    assert set(sold.reservations.values_list("state", flat=True)) == {"committed"}
    assert cancelled.reservations.get().state == "released"
    assert_ledger_matches(a, b)


def test_release_and_commit_twice_are_harmless(stocked, order_for):
    product = stocked(10)
    released, committed = order_for((product, 2)), order_for((product, 3))
    stock_reserve(order=released, lines=[(product.pk, 2)])
    stock_reserve(order=committed, lines=[(product.pk, 3)])

    assert stock_release(order=released) == 2
    assert stock_release(order=released) == 0
    assert stock_commit(order=committed) == 3
    assert stock_commit(order=committed) == 0

    assert levels(product) == (7, 0)
    assert_ledger_matches(product)


def test_commit_after_release_is_refused(stocked, order_for):
    product = stocked(10)
    order = order_for((product, 2))
    stock_reserve(order=order, lines=[(product.pk, 2)])
    stock_release(order=order)

    with pytest.raises(ReservationExpired) as caught:
        stock_commit(order=order)

    assert caught.value.code == "reservation_expired" and caught.value.status_code == 409
    assert levels(product) == (10, 0)


def test_expiry_releases_the_stock_exactly_once(stocked, order_for):
    product = stocked(10)
    order = order_for((product, 4))
    stock_reserve(order=order, lines=[(product.pk, 4)], ttl=timedelta(minutes=1))
    later = timezone.now() + timedelta(minutes=2)

    assert reservations_expire(now=timezone.now()) == 0
    assert reservations_expire(now=later) == 1
    assert reservations_expire(now=later) == 0
    assert stock_release(order=order) == 0

    assert levels(product) == (10, 0)
    assert order.reservations.get().state == "expired"
    assert StockMovement.objects.filter(product=product, kind="expiry").count() == 1
    assert_ledger_matches(product)


def test_commit_takes_an_expired_reservation_again_when_stock_allows(stocked, order_for):
    product = stocked(5)
    order = order_for((product, 3))
    stock_reserve(order=order, lines=[(product.pk, 3)], ttl=timedelta(seconds=1))
    reservations_expire(now=timezone.now() + timedelta(minutes=1))

    assert stock_commit(order=order) == 3

    assert levels(product) == (2, 0)
    assert order.reservations.get().state == "committed"
    assert_ledger_matches(product)


def test_commit_of_an_expired_reservation_fails_whole_when_the_stock_is_gone(stocked, order_for):
    a, b = stocked(5), stocked(5)
    late, other = order_for((a, 2), (b, 3)), order_for((b, 4))
    stock_reserve(order=late, lines=[(a.pk, 2), (b.pk, 3)], ttl=timedelta(seconds=1))
    reservations_expire(now=timezone.now() + timedelta(minutes=1))
    stock_reserve(order=other, lines=[(b.pk, 4)])

    # As the orders app calls it: inside its own transaction, which goes on after the error.
    with transaction.atomic(), pytest.raises(InsufficientStock):
        stock_commit(order=late)

    assert levels(a) == (5, 0) and levels(b) == (5, 4)
    assert set(late.reservations.values_list("state", flat=True)) == {"expired"}
    assert_ledger_matches(a, b)


def test_the_ledger_sums_to_the_levels_after_every_kind_of_change(stocked, order_for):
    product = stocked(20)
    orders = [order_for((product, 2)) for _ in range(4)]
    for order in orders:
        stock_reserve(order=order, lines=[(product.pk, 2)], ttl=timedelta(minutes=5))
    stock_commit(order=orders[0])
    stock_release(order=orders[1])
    reservations_expire(now=timezone.now() + timedelta(minutes=10))
    stock_remove(product_id=product.pk, quantity=3, reason="broken")
    stock_adjust(product_id=product.pk, delta=2, reason="recount")

    assert levels(product) == (17, 0)
    assert_ledger_matches(product)
    kinds = set(StockMovement.objects.filter(product=product).values_list("kind", flat=True))
    assert kinds == {"restock", "reservation", "sale", "release", "expiry", "removal", "adjustment"}


def test_constraints_refuse_promising_more_than_exists(stocked):
    product = stocked(3)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockItem.objects.filter(pk=product.pk).update(reserved=F("quantity") + 1)


def test_a_reorder_request_is_raised_once_at_the_reorder_point(
    stocked, order_for, django_capture_on_commit_callbacks
):
    product = stocked(10, reorder_point=5, reorder_quantity=30)
    first, second, third = (order_for((product, n)) for n in (4, 1, 2))

    with django_capture_on_commit_callbacks(execute=True):
        stock_reserve(order=first, lines=[(product.pk, 4)])  # 6 left: above the point
    assert not ReorderRequest.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        stock_reserve(order=second, lines=[(product.pk, 1)])  # 5 left: at the point
    with django_capture_on_commit_callbacks(execute=True):
        stock_reserve(order=third, lines=[(product.pk, 2)])  # 3 left: still open, no second

    request = ReorderRequest.objects.get()
    assert (request.product_id, request.quantity, request.status) == (product.pk, 30, "open")
    assert len(mail.outbox) == 1
    assert product.sku in mail.outbox[0].subject
    assert mail.outbox[0].to == ["staff@example.com"]


def test_receiving_a_reorder_adds_its_stock_and_allows_the_next_one(stocked, order_for):
    product = stocked(6, reorder_point=5, reorder_quantity=30)
    stock_remove(product_id=product.pk, quantity=2, reason="damaged")
    request = ReorderRequest.objects.get()

    reorder_mark_ordered(reorder_id=request.pk)
    reorder_receive(reorder_id=request.pk)

    assert levels(product) == (34, 0)
    assert ReorderRequest.objects.get().status == "received"
    assert StockMovement.objects.filter(kind="reorder_received", delta=30).count() == 1
    with pytest.raises(InvalidTransition):
        reorder_receive(reorder_id=request.pk)
    assert levels(product) == (34, 0)
    stock_remove(product_id=product.pk, quantity=30, reason="sold at a fair")
    assert ReorderRequest.objects.filter(status="open").count() == 1
    assert_ledger_matches(product)


def test_only_one_pending_reorder_per_product_in_the_database(stocked):
    product = stocked(1)
    ReorderRequest.objects.create(product=product, quantity=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReorderRequest.objects.create(product=product, quantity=5, status="ordered")


def test_low_stock_lists_the_emptiest_first(stocked):
    low, lower, fine = stocked(4, reorder_point=5), stocked(1, reorder_point=5), stocked(50)
    assert [item.product_id for item in selectors.low_stock(10)] == [lower.pk, low.pk]
    assert selectors.stock_for(fine.pk).available == 50


def test_selling_out_and_coming_back_refresh_the_products_cached_values_only(
    stocked, order_for, django_capture_on_commit_callbacks
):
    product, other = stocked(2), stocked(5)
    order, second = order_for((product, 2)), order_for((product, 1))
    version = area_version(CATALOG_CACHE_AREA)
    builds = []

    def shown(tagged_product):
        def build():
            tag(CATALOG_CACHE_AREA, tagged_product.pk, [product_cache_tag(tagged_product.pk)])
            builds.append(tagged_product.pk)
            return tagged_product.pk

        return cached(CATALOG_CACHE_AREA, tagged_product.pk, build)

    def rebuilt() -> list[int]:
        builds.clear()
        shown(product)
        shown(other)
        return list(builds)

    rebuilt()
    with django_capture_on_commit_callbacks(execute=True):
        stock_reserve(order=order, lines=[(product.pk, 1)], ttl=timedelta(0))
    one_left = rebuilt()  # the catalog shows the same
    with django_capture_on_commit_callbacks(execute=True):
        stock_reserve(order=second, lines=[(product.pk, 1)])
    sold_out = rebuilt()
    with django_capture_on_commit_callbacks(execute=True):
        reservations_expire(now=timezone.now() + timedelta(seconds=1))
    back_in_stock = rebuilt()

    assert (one_left, sold_out, back_in_stock) == ([], [product.pk], [product.pk])
    assert area_version(CATALOG_CACHE_AREA) == version  # the rest of the catalog stays cached


def test_selling_reserved_units_of_a_sold_out_product_drops_nothing_more(
    stocked, order_for, django_capture_on_commit_callbacks
):
    product = stocked(1)
    order = order_for((product, 1))
    builds = []

    def build():
        tag(CATALOG_CACHE_AREA, "page", [product_cache_tag(product.pk)])
        builds.append(1)
        return "page"

    with django_capture_on_commit_callbacks(execute=True):
        stock_reserve(order=order, lines=[(product.pk, 1)])  # sold out: dropped
    cached(CATALOG_CACHE_AREA, "page", build)
    with django_capture_on_commit_callbacks(execute=True):
        stock_commit(order=order)  # the reserved unit leaves: availability stays at zero
    cached(CATALOG_CACHE_AREA, "page", build)

    assert len(builds) == 1
