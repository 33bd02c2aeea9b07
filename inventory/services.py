"""The only code that changes stock.

Every level change is a conditional single-statement UPDATE with ``F()`` expressions, so two
concurrent requests can never both take the last unit, and writes a StockMovement row, so the
ledger always sums to the levels. Several products are always touched in product-id order,
which is what keeps concurrent multi-line orders free of deadlocks.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from catalog.availability import listing_availability_publish
from catalog.selectors import CATALOG_CACHE_AREA, CATALOG_STOCK_TAG, product_cache_tag
from inventory.exceptions import InsufficientStock, ReservationExpired
from inventory.models import ReorderRequest, Reservation, StockItem, StockMovement
from inventory.signals import stock_available
from shop.cache import invalidate, invalidate_tagged
from shop.db import bulk_insert
from shop.dispatch import enqueue_on_commit
from shop.exceptions import InvalidTransition
from shop.mail import mail_send

Kind = StockMovement.Kind
State = Reservation.State
EXPIRE_BATCH = 500
STOCK_ITEM_FIELDS = [
    "product",
    "quantity",
    "reserved",
    "reorder_point",
    "reorder_quantity",
    "updated_at",
]
MOVEMENT_FIELDS = [
    "product",
    "delta",
    "reserved_delta",
    "kind",
    "reason",
    "reference",
    "at",
    "actor",
]


# --- helpers --------------------------------------------------------------------------------
def _positive(value: int, name: str = "quantity") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}.")
    return value


def _available(product_id: int) -> int:
    row = StockItem.objects.filter(pk=product_id).values_list("quantity", "reserved").first()
    return row[0] - row[1] if row else 0


def _record(
    product_id: int,
    kind: str,
    *,
    delta: int = 0,
    reserved_delta: int = 0,
    reason: str = "",
    reference: str = "",
    actor=None,
) -> StockMovement:
    return StockMovement.objects.create(
        product_id=product_id,
        delta=delta,
        reserved_delta=reserved_delta,
        kind=kind,
        reason=reason[:255],
        reference=str(reference)[:64],
        actor=actor if getattr(actor, "pk", None) else None,
    )


def _update_levels(product_id: int, *, change: str, condition: str, n: int) -> StockItem | None:
    """The conditional update of one stock row, ``SET <change> WHERE <condition>`` (both over
    the row's own columns, ``%(n)s`` the units), answering the row's new levels (RETURNING) so
    that nothing has to read it again; None when the condition did not hold."""
    table = connection.ops.quote_name(StockItem._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {change} WHERE product_id = %(id)s AND {condition} "
            "RETURNING quantity, reserved, reorder_point, reorder_quantity",
            {"id": product_id, "n": n},
        )
        row = cursor.fetchone()
    if row is None:
        return None
    quantity, reserved, reorder_point, reorder_quantity = row
    return StockItem(
        product_id=product_id,
        quantity=quantity,
        reserved=reserved,
        reorder_point=reorder_point,
        reorder_quantity=reorder_quantity,
    )


def _catalog_refresh(product_ids: Iterable[int]) -> None:
    """Products crossed zero (sold out, or back in stock): drop the cached catalog values that
    show them or their parent (a parent's card and page show its variants' stock), and those
    filtered by availability; the rest of the catalog stays cached. The API's list pages are
    not dropped: on commit, they are told what they now show (catalog.availability)."""
    ids = set(product_ids)
    ids |= {
        parent_id
        for parent_id in StockItem.objects.filter(pk__in=sorted(ids)).values_list(
            "product__parent_id", flat=True
        )
        if parent_id is not None
    }
    invalidate_tagged(
        CATALOG_CACHE_AREA, [CATALOG_STOCK_TAG, *(product_cache_tag(pk) for pk in sorted(ids))]
    )
    # After the commit, so that no page is told of a change that rolls back; robust, as the
    # stock change stands whatever happens to the note (the page then lives out its timeout).
    transaction.on_commit(
        partial(listing_availability_publish, product_ids=sorted(ids)), robust=True
    )


def _after_change(
    product_ids: Iterable[int],
    items: list[StockItem] | None = None,
    *,
    fell: Iterable[int] | None = None,
) -> None:
    """A sold-out product changes what the catalog shows; low stock raises a reorder.

    ``items``: the rows' levels as the update that changed them answered, if it did (nothing
    is read again). ``fell``: the products whose available units fell (all of them unless
    given); a sale of reserved units leaves availability as it was, so it sells nothing out."""
    ids = sorted(set(product_ids))
    fell = set(ids if fell is None else fell)
    if items is None:
        items = list(StockItem.objects.filter(pk__in=ids))
    sold_out = [item.product_id for item in items if not item.available and item.product_id in fell]
    if sold_out:
        _catalog_refresh(sold_out)
    for item in items:
        if item.available <= item.reorder_point and item.reorder_quantity > 0:
            _reorder_raise(item)


def _back_in_stock(item: StockItem, added: int) -> None:
    if item.available == added:  # it was sold out before this change
        _catalog_refresh([item.product_id])
    if item.available > 0:
        stock_available.send(sender=StockItem, product_ids=[item.product_id])


def _handed_back(reservations: list[Reservation]) -> None:
    """After reservations gave their units back: refresh the catalog if a product was sold out."""
    units: dict[int, int] = defaultdict(int)
    for reservation in reservations:
        units[reservation.product_id] += reservation.quantity
    items = list(StockItem.objects.filter(pk__in=sorted(units)))
    refreshed = [item.product_id for item in items if item.available == units[item.product_id]]
    if refreshed:  # they were sold out before these units came back
        _catalog_refresh(refreshed)
    back = [item.product_id for item in items if item.available > 0]
    if back:
        stock_available.send(sender=StockItem, product_ids=back)


def _reorder_raise(item: StockItem) -> ReorderRequest | None:
    """Open a reorder request unless one is already open or ordered for the product."""
    if ReorderRequest.objects.filter(
        product_id=item.product_id, status__in=ReorderRequest.PENDING
    ).exists():
        return None
    request = ReorderRequest(product_id=item.product_id, quantity=item.reorder_quantity)
    request.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():  # a concurrent request may have won the unique constraint
            request.save()
    except IntegrityError:
        return None
    from inventory.tasks import reorder_notify_task

    enqueue_on_commit(reorder_notify_task, reorder_id=request.pk)
    return request


# --- levels ---------------------------------------------------------------------------------
@transaction.atomic
def stock_add(
    *,
    product_id: int,
    quantity: int,
    reason: str = "",
    kind: str = "restock",
    reference: str = "",
    actor=None,
) -> StockItem:
    """Add units to the warehouse (a delivery, a return); creates the stock record if missing."""
    _positive(quantity)
    if kind not in (Kind.RESTOCK, Kind.ADJUSTMENT, Kind.REORDER_RECEIVED):
        raise ValueError(f"{kind!r} is not a kind of stock addition.")
    StockItem.objects.get_or_create(product_id=product_id)
    StockItem.objects.filter(pk=product_id).update(quantity=F("quantity") + quantity)
    _record(product_id, kind, delta=quantity, reason=reason, reference=reference, actor=actor)
    item = StockItem.objects.get(pk=product_id)
    _back_in_stock(item, quantity)
    return item


class OpeningStock(NamedTuple):
    """One product's stock record as :func:`stock_open` creates it."""

    product_id: int
    quantity: int
    reorder_point: int = 5
    reorder_quantity: int = 20


@transaction.atomic
def stock_open(
    *, lines: Iterable[OpeningStock], reason: str, reference: str = "", actor=None
) -> list[StockItem]:
    """Open the stock records of many products at once (the demo shop, a catalog import).

    Each product that has no stock record yet gets one with its opening quantity, and the
    ledger a restock row of that quantity, so the sums equal the levels from the start.
    Products that already have a record are left as they are (their stock changes through
    ``stock_add`` and ``stock_adjust``), so opening the same products twice adds nothing. An
    opening count is not a fall in stock: it raises no reorder request. Written in bulk, a
    few statements per thousand products; a concurrent call opening the same product fails
    with IntegrityError and writes nothing. Returns the records created."""
    wanted = list(lines)
    ids = [line.product_id for line in wanted]
    if len(set(ids)) != len(ids):
        raise ValueError("Each product can be opened once per call.")
    existing = set(StockItem.objects.filter(pk__in=ids).values_list("pk", flat=True))
    items = [
        StockItem(
            product_id=line.product_id,
            quantity=line.quantity,
            reorder_point=line.reorder_point,
            reorder_quantity=line.reorder_quantity,
        )
        for line in sorted(wanted)
        if line.product_id not in existing
    ]
    for line in wanted:
        # The counts are whole numbers, none below 0 (the database's checks say so too).
        for name in ("quantity", "reorder_point", "reorder_quantity"):
            value = getattr(line, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationError(
                    {name: [f"Enter a whole number of at least 0, not {value!r}."]}
                )
    bulk_insert(model=StockItem, objs=items, fields=STOCK_ITEM_FIELDS)
    actor = actor if getattr(actor, "pk", None) else None
    bulk_insert(
        model=StockMovement,
        objs=[
            StockMovement(
                product_id=item.product_id,
                delta=item.quantity,
                kind=Kind.RESTOCK,
                reason=reason[:255],
                reference=str(reference)[:64],
                actor=actor,
            )
            for item in items
            if item.quantity > 0
        ],
        fields=MOVEMENT_FIELDS,
        new_ids=True,
    )
    opened = [item.product_id for item in items if item.quantity > 0]
    if opened:
        transaction.on_commit(partial(invalidate, CATALOG_CACHE_AREA))
        stock_available.send(sender=StockItem, product_ids=opened)
    return items


@transaction.atomic
def stock_remove(
    *,
    product_id: int,
    quantity: int,
    reason: str = "",
    reference: str = "",
    actor=None,
    kind: str = "removal",
) -> StockItem:
    """Take units out of the warehouse (damage, loss); never units promised to an order."""
    _positive(quantity)
    changed = StockItem.objects.filter(
        pk=product_id, quantity__gte=F("reserved") + quantity
    ).update(quantity=F("quantity") - quantity)
    if not changed:
        raise InsufficientStock(
            product_id=product_id, requested=quantity, available=_available(product_id)
        )
    _record(product_id, kind, delta=-quantity, reason=reason, reference=reference, actor=actor)
    _after_change([product_id])
    return StockItem.objects.get(pk=product_id)


def stock_adjust(*, product_id: int, delta: int, reason: str, actor=None) -> StockItem:
    """A staff correction: positive adds, negative removes (never below what is promised)."""
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise ValueError("delta must be a non-zero integer.")
    if not reason or not reason.strip():
        raise ValueError("An adjustment needs a reason.")
    if delta > 0:
        return stock_add(
            product_id=product_id, quantity=delta, reason=reason, kind=Kind.ADJUSTMENT, actor=actor
        )
    return stock_remove(
        product_id=product_id, quantity=-delta, reason=reason, actor=actor, kind=Kind.ADJUSTMENT
    )


# --- reservations ---------------------------------------------------------------------------
def _merged(lines: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """(product_id, quantity) pairs with repeated products summed, in product-id order."""
    wanted: dict[int, int] = defaultdict(int)
    for product_id, quantity in lines:
        wanted[int(product_id)] += _positive(quantity)
    return sorted(wanted.items())


def stock_reserve(
    *,
    order,
    lines: list[tuple[int, int]],
    ttl: timedelta | None = None,
    savepoint: bool = True,
) -> list[Reservation]:
    """Reserve every line for ``order`` or nothing at all.

    Raises InsufficientStock for the first line (in product-id order) that cannot be reserved;
    the savepoint of this function then undoes the lines already reserved. A caller that lets
    the error undo its whole transaction anyway passes ``savepoint=False`` (two statements
    fewer): the failed reservation then marks that transaction for rollback, so nothing of it
    can be committed."""
    with transaction.atomic(savepoint=savepoint):
        return _reserve(order, lines, ttl)


def _reserve(order, lines: list[tuple[int, int]], ttl: timedelta | None) -> list[Reservation]:
    wanted = _merged(lines)
    if not wanted:
        return []
    expires_at = timezone.now() + (ttl if ttl is not None else settings.INVENTORY_RESERVATION_TTL)
    # The rows that record the reservation are written first, the stock rows updated last: the
    # conditional update locks each stock row until the caller's transaction commits, so the
    # less that follows it, the less other orders of the same product wait. If a line cannot be
    # reserved, this function's savepoint undoes the rows written before it.
    reservations = Reservation.objects.bulk_create(
        [
            Reservation(product_id=pid, quantity=qty, order=order, expires_at=expires_at)
            for pid, qty in wanted
        ]
    )
    StockMovement.objects.bulk_create(
        [
            StockMovement(
                product_id=pid,
                reserved_delta=qty,
                kind=Kind.RESERVATION,
                reason="reserved for an order",
                reference=order.number,
            )
            for pid, qty in wanted
        ]
    )
    items = []
    for product_id, quantity in wanted:
        item = _update_levels(
            product_id,
            change="reserved = reserved + %(n)s",
            condition="quantity >= reserved + %(n)s",
            n=quantity,
        )
        if item is None:
            raise InsufficientStock(
                product_id=product_id, requested=quantity, available=_available(product_id)
            )
        items.append(item)
    _after_change([pid for pid, _ in wanted], items)
    return reservations


def _locked_reservations(order, states: Iterable[str]) -> list[Reservation]:
    """The order's reservations in the given states, locked, in product-id order."""
    return list(
        Reservation.objects.select_for_update()
        .filter(order=order, state__in=list(states))
        .order_by("product_id", "id")
    )


def _hand_back(reservation: Reservation, *, kind: str, state: str, reason: str, reference: str):
    """Give a reservation's units back to available stock (release or expiry)."""
    n = reservation.quantity
    changed = StockItem.objects.filter(pk=reservation.product_id, reserved__gte=n).update(
        reserved=F("reserved") - n
    )
    if not changed:  # the constraints make this impossible; refuse rather than drift
        raise InsufficientStock(
            "Stock record has fewer reserved units than the reservation.",
            product_id=reservation.product_id,
            requested=n,
            available=_available(reservation.product_id),
        )
    _record(reservation.product_id, kind, reserved_delta=-n, reason=reason, reference=reference)
    reservation.state = state


@transaction.atomic
def stock_release(*, order, reason: str = "") -> int:
    """Hand back the order's active reservations. Idempotent; returns the units released."""
    reservations = _locked_reservations(order, [State.ACTIVE])
    for reservation in reservations:
        _hand_back(
            reservation,
            kind=Kind.RELEASE,
            state=State.RELEASED,
            reason=reason or "released",
            reference=order.number,
        )
        reservation.save(update_fields=["state", "updated_at"])
    if reservations:
        _handed_back(reservations)
    return sum(r.quantity for r in reservations)


def stock_commit(*, order, savepoint: bool = True) -> int:
    """Turn the order's reservations into a sale: quantity and reserved both drop.

    Idempotent: committed reservations are not sold again. An expired reservation is taken
    again from available stock if there is enough; otherwise ReservationExpired is raised and
    nothing is committed (this function's savepoint undoes the lines already sold; a caller
    that rolls its whole transaction back on the error passes ``savepoint=False``). Returns
    the units sold by this call."""
    with transaction.atomic(savepoint=savepoint):
        return _commit(order)


def _commit(order) -> int:
    reservations = _locked_reservations(order, [State.ACTIVE, State.EXPIRED, State.RELEASED])
    if any(r.state == State.RELEASED for r in reservations) and not any(
        r.state == State.ACTIVE for r in reservations
    ):
        first = next(r for r in reservations if r.state == State.RELEASED)
        raise ReservationExpired(
            f"The reservations of order {order.number} were released.",
            product_id=first.product_id,
            requested=first.quantity,
            available=_available(first.product_id),
        )
    sold = 0
    items = []
    taken_again = []  # expired reservations sold from available units
    for reservation in reservations:
        n, pid = reservation.quantity, reservation.product_id
        if reservation.state == State.ACTIVE:
            change = "quantity = quantity - %(n)s, reserved = reserved - %(n)s"
            condition = "reserved >= %(n)s AND quantity >= %(n)s"
            reserved_delta = -n
        elif reservation.state == State.EXPIRED:
            change = "quantity = quantity - %(n)s"
            condition = "quantity >= reserved + %(n)s"
            reserved_delta = 0
            taken_again.append(pid)
        else:  # released next to active lines: not part of this sale
            continue
        item = _update_levels(pid, change=change, condition=condition, n=n)
        changed = item is not None
        items.append(item)
        if not changed:
            raise ReservationExpired(
                f"The reservation of order {order.number} expired and product {pid} "
                "is no longer available.",
                product_id=pid,
                requested=n,
                available=_available(pid),
            )
        _record(
            pid,
            Kind.SALE,
            delta=-n,
            reserved_delta=reserved_delta,
            reason="sold" if reserved_delta else "sold after the reservation expired",
            reference=order.number,
        )
        reservation.state = State.COMMITTED
        reservation.save(update_fields=["state", "updated_at"])
        sold += n
    if sold:
        _after_change(
            [r.product_id for r in reservations],
            [i for i in items if i is not None],
            fell=taken_again,
        )
    return sold


@transaction.atomic
def stock_return_sold(*, order, reason: str = "", actor=None) -> int:
    """Put the units an order bought back on the shelf (it was cancelled before shipping).

    Idempotent: each committed reservation is returned once. Returns the units returned."""
    reservations = _locked_reservations(order, [State.COMMITTED])
    for reservation in reservations:
        n, pid = reservation.quantity, reservation.product_id
        StockItem.objects.filter(pk=pid).update(quantity=F("quantity") + n)
        _record(
            pid,
            Kind.RESTOCK,
            delta=n,
            reason=reason or f"order {order.number} cancelled after the sale",
            reference=order.number,
            actor=actor,
        )
        reservation.state = State.RETURNED
        reservation.save(update_fields=["state", "updated_at"])
    if reservations:
        _handed_back(reservations)
    return sum(r.quantity for r in reservations)


def reservations_expire(*, now: datetime | None = None) -> int:
    """Expire active reservations past their expiry, handing their stock back exactly once.

    Works in batches, each its own transaction; rows another worker holds are skipped (on
    PostgreSQL) and picked up by the next run. Returns the number of reservations expired."""
    now = now or timezone.now()
    expired = 0
    while True:
        with transaction.atomic():
            qs = Reservation.objects.filter(state=State.ACTIVE, expires_at__lte=now).order_by(
                "product_id", "id"
            )
            if connection.features.has_select_for_update_skip_locked:
                qs = qs.select_for_update(skip_locked=True, of=("self",))
            else:
                qs = qs.select_for_update()
            batch = list(qs.select_related("order")[:EXPIRE_BATCH])
            for reservation in batch:
                _hand_back(
                    reservation,
                    kind=Kind.EXPIRY,
                    state=State.EXPIRED,
                    reason="reservation expired",
                    reference=reservation.order.number,
                )
                reservation.save(update_fields=["state", "updated_at"])
            if batch:
                _handed_back(batch)
        expired += len(batch)
        if len(batch) < EXPIRE_BATCH:
            return expired


def reservation_extend(*, order, ttl: timedelta | None = None) -> int:
    """Push the expiry of the order's active reservations (e.g. while a payment runs).

    ``order``: the order, or its id (a payment knows that without reading the order)."""
    expires_at = timezone.now() + (ttl if ttl is not None else settings.INVENTORY_RESERVATION_TTL)
    return Reservation.objects.filter(order=order, state=State.ACTIVE).update(
        expires_at=expires_at, updated_at=timezone.now()
    )


# --- reorders -------------------------------------------------------------------------------
def _locked_reorder(reorder_id: int) -> ReorderRequest:
    return ReorderRequest.objects.select_for_update().get(pk=reorder_id)


@transaction.atomic
def reorder_mark_ordered(*, reorder_id: int, actor=None) -> ReorderRequest:
    """The supplier has the order. Marking an ordered request again changes nothing."""
    reorder = _locked_reorder(reorder_id)
    if reorder.status == ReorderRequest.Status.ORDERED:
        return reorder
    if reorder.status != ReorderRequest.Status.OPEN:
        raise InvalidTransition(
            "Only an open reorder request can be marked as ordered.",
            details={"status": reorder.status, "action": "mark_ordered"},
        )
    reorder.status = ReorderRequest.Status.ORDERED
    reorder.full_clean(validate_constraints=False)
    reorder.save(update_fields=["status", "updated_at"])
    return reorder


@transaction.atomic
def reorder_receive(*, reorder_id: int, actor=None) -> ReorderRequest:
    """The goods arrived: add them to stock and close the request (once)."""
    reorder = _locked_reorder(reorder_id)
    if reorder.status == ReorderRequest.Status.RECEIVED:
        raise InvalidTransition(
            "This reorder request was already received.",
            details={"status": reorder.status, "action": "receive"},
        )
    reorder.status = ReorderRequest.Status.RECEIVED
    reorder.full_clean(validate_constraints=False)
    reorder.save(update_fields=["status", "updated_at"])
    stock_add(
        product_id=reorder.product_id,
        quantity=reorder.quantity,
        kind=Kind.REORDER_RECEIVED,
        reason="reorder received",
        reference=f"reorder {reorder.pk}",
        actor=actor,
    )
    return reorder


def reorder_notify(*, reorder_id: int) -> bool:
    """Tell the staff that a product needs reordering, while the request is still open.

    Sends nothing once the request was handled; returns whether a mail was sent."""
    reorder = (
        ReorderRequest.objects.select_related("product")
        .filter(pk=reorder_id, status=ReorderRequest.Status.OPEN)
        .first()
    )
    if reorder is None:
        return False
    product = reorder.product
    mail_send(
        to=[settings.SHOP_STAFF_EMAIL],
        template="reorder_request",
        subject=f"Reorder {product.sku}: {reorder.quantity} units",
        context={"reorder": reorder, "product": product},
    )
    return True
