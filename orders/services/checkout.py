"""Placing an order: one transaction that snapshots prices, reserves stock and creates the
payment, and an idempotency layer so that a retried request never places a second order."""

import hashlib
import json
import secrets
from collections.abc import Callable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from catalog.models import Product
from inventory.services import stock_reserve
from orders.exceptions import (
    EmptyOrder,
    IdempotencyConflict,
    InvalidIdempotencyKey,
    ProductUnavailable,
)
from orders.models import (
    Cart,
    IdempotencyRecord,
    Order,
    OrderEmail,
    OrderEvent,
    OrderLine,
    OrderStatus,
)
from orders.selectors import order_with_relations
from orders.services.cart import MAX_LINE_QUANTITY, cart_clear, check_sellable
from orders.services.emails import order_email_due
from payments.models import Payment
from payments.services import payment_create
from pricing.exceptions import PriceChanged
from pricing.services import Quote, basket_price, voucher_use_claim
from shop.dispatch import enqueue_on_commit

NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: easy to read out


def order_number_new() -> str:
    body = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))
    return f"NW-{body[:4]}-{body[4:]}"


def _merge_lines(lines: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """One (product_id, quantity) per product, sorted; each quantity, summed, within the cap."""
    from orders.exceptions import LineQuantityOutOfRange

    merged: dict[int, int] = {}
    for product_id, quantity in lines:
        if quantity < 1:
            raise LineQuantityOutOfRange(
                f"Each quantity must be between 1 and {MAX_LINE_QUANTITY}.",
                details={"product_id": product_id, "quantity": quantity},
            )
        merged[product_id] = merged.get(product_id, 0) + quantity
    for product_id, quantity in merged.items():
        if quantity > MAX_LINE_QUANTITY:
            raise LineQuantityOutOfRange(
                f"Each quantity must be between 1 and {MAX_LINE_QUANTITY}"
                " (a product listed twice counts once, with both quantities).",
                details={"product_id": product_id, "quantity": quantity},
            )
    return sorted(merged.items())


def _products(lines: list[tuple[int, int]]) -> list[tuple[Product, int]]:
    """The products of the merged lines, each still sold, all in one currency.

    Unordered: ``in_bulk`` answers a dict, so the model's default ordering (by name) would
    only cost the compiling of an ORDER BY on every order."""
    products = (
        Product.objects.select_related("parent")
        .order_by()
        .in_bulk([product_id for product_id, _ in lines])
    )
    for product_id, _ in lines:
        product = products.get(product_id)
        if product is None or not product.is_active:
            raise ProductUnavailable(
                "A product in this order is not available any more.",
                details={"product_id": product_id},
            )
        check_sellable(product, product_id)
    if len({products[pid].currency for pid, _ in lines}) != 1:
        raise ProductUnavailable("All products of one order must share a currency.")
    return [(products[pid], quantity) for pid, quantity in lines]


def order_quote(
    *,
    user,
    shipping_address: dict,
    lines: list[tuple[int, int]] | None = None,
    cart: Cart | None = None,
    shipping_method: str | None = None,
    voucher: str | None = None,
) -> Quote:
    """What placing this order would cost, line by line: the same computation as the order,
    reserving and counting nothing."""
    if lines is None:
        if cart is None:
            raise EmptyOrder()
        lines = list(cart.items.values_list("product_id", "quantity"))
    lines = _merge_lines(lines)
    if not lines:
        raise EmptyOrder()
    return basket_price(
        lines=_products(lines),
        country=shipping_address.get("country", ""),
        shipping_method=shipping_method,
        voucher_code=voucher,
        user=user,
    )


def order_place(
    *,
    user,
    shipping_address: dict,
    payment_token: str,
    lines: list[tuple[int, int]] | None = None,
    cart: Cart | None = None,
    email: str = "",
    shipping_method: str | None = None,
    voucher: str | None = None,
    expected_total: Decimal | None = None,
    savepoint: bool = True,
    detail: bool = False,
) -> Order:
    """Place an order for explicit ``lines`` [(product_id, quantity)] or the ``cart``, priced
    by the same service as the quote (shipping, VAT, discounts) and snapshotted.

    ``user=None`` places a guest's order: it then needs ``email``, where its mails go (with a
    signed link to the order page, orders.links).

    All or nothing: if any line cannot be reserved, InsufficientStock propagates and nothing
    is created; if ``expected_total`` is given and differs from the computed total, PriceChanged
    (409) and nothing is created. A voucher's use is counted race-free. The cart's ordered lines
    are removed; processing is enqueued on commit.

    Inside a caller's transaction the placement is a savepoint, unless the caller lets every
    error end its whole transaction anyway (``savepoint=False``, two statements fewer; the
    failed placement then marks that transaction for rollback).

    ``detail=True``: the order comes with its lines, payment and event as
    ``selectors.order_detail_queryset`` gives them, from the objects just written (for a caller
    that shows the order at once, without reading it back).
    """
    with transaction.atomic(savepoint=savepoint):
        order, lines, payment, event = _place(
            user=user,
            shipping_address=shipping_address,
            payment_token=payment_token,
            lines=lines,
            cart=cart,
            email=email,
            shipping_method=shipping_method,
            voucher=voucher,
            expected_total=expected_total,
        )
    if detail:
        return order_with_relations(order, lines=lines, payments=[payment], events=[event])
    return order


def _place(
    *,
    user,
    shipping_address: dict,
    payment_token: str,
    lines: list[tuple[int, int]] | None,
    cart: Cart | None,
    email: str,
    shipping_method: str | None,
    voucher: str | None,
    expected_total: Decimal | None,
) -> tuple[Order, list[OrderLine], Payment, OrderEvent]:
    quote = order_quote(
        user=user,
        shipping_address=shipping_address,
        lines=lines,
        cart=cart,
        shipping_method=shipping_method,
        voucher=voucher,
    )
    if expected_total is not None and Decimal(expected_total) != quote.total:
        raise PriceChanged(
            f"The total is now {quote.total} {quote.currency}, not {expected_total}.",
            details={"expected": str(expected_total), "actual": str(quote.total)},
        )
    if quote.total <= 0:
        raise EmptyOrder("There is nothing to pay for this order.")
    if user is None and not email:
        raise ValidationError({"email": ["A guest's order needs an e-mail address."]})
    order_lines = [
        OrderLine(
            product=line.product,
            product_name=line.product.name,
            sku=line.product.sku,
            unit_price=line.unit_price,
            quantity=line.quantity,
            line_total=line.line_total,
            discount=line.discount,
            tax_rate=line.tax_rate,
            tax_amount=line.tax_amount,
        )
        for line in quote.lines
    ]
    order = Order(
        number=order_number_new(),
        user=user,
        email=email or (user.email if user is not None else ""),
        shipping_address=shipping_address,
        currency=quote.currency,
        subtotal=quote.subtotal,
        discount=quote.discount,
        shipping=quote.shipping,
        shipping_method=quote.shipping_method,
        shipping_tax_rate=quote.shipping_tax_rate,
        shipping_tax=quote.shipping_tax,
        tax_total=quote.tax_total,
        tax_breakdown=[{"rate": str(t["rate"]), "amount": str(t["amount"])} for t in quote.tax],
        voucher=quote.voucher.code if quote.voucher else "",
        total=quote.total,
    )
    # The status is a protected FSM field; the user is the one signed in; the totals' CHECK
    # constraints hold by construction (basket_price) and the database enforces them anyway.
    order.full_clean(exclude=["number", "status", "user"], validate_constraints=False)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                order.save()
            break
        except IntegrityError:
            order.number = order_number_new()  # a number clash: draw again
    else:
        raise RuntimeError("Could not allocate an order number.")
    for line in order_lines:
        line.order = order
    OrderLine.objects.bulk_create(order_lines)

    payment = payment_create(
        order=order, amount=order.total, currency=order.currency, token=payment_token
    )
    event = OrderEvent.objects.create(
        order=order,
        from_status="",
        to_status=OrderStatus.CREATED,
        actor=OrderEvent.Actor.CUSTOMER,
        user=user,
        reason="order placed",
    )
    if quote.voucher is not None:
        voucher_use_claim(voucher=quote.voucher, order=order, user=user)
    if cart is not None:
        cart_clear(cart=cart, product_ids=[line.product.pk for line in quote.lines])
    # Last: reserving locks each product's stock row until this transaction commits, and every
    # other order of that product waits for it (a best-seller's row is the shop's hottest lock).
    # Everything that does not need the lock is done before it is taken.
    # Nothing here catches InsufficientStock: it undoes the whole placement, so the reservation
    # needs no savepoint of its own.
    stock_reserve(
        order=order,
        lines=[(line.product.pk, line.quantity) for line in quote.lines],
        savepoint=False,
    )

    order_email_due(order=order, kind=OrderEmail.Kind.PLACED, new_order=True)
    from orders.tasks import order_process_task

    enqueue_on_commit(order_process_task, order_id=order.id)
    return order, order_lines, payment, event


def request_fingerprint(payload) -> str:
    """A stable hash of a request body, to tell a replay from a different request."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent_call(
    *,
    user,
    scope: str,
    key: str | None,
    fingerprint: str,
    action: Callable[[], tuple[int, dict]],
) -> tuple[int, dict, bool]:
    """Run ``action`` once per (user, scope, key); replays get the first answer.

    Returns (status, body, replayed). The record is written in the same transaction as what
    the action creates, so concurrent requests with one key serialise on its unique index:
    the first commits, the others then find its answer. An action that raises leaves no
    record, so the client may retry with the same key. The action always runs in a
    transaction of this function's: one that raises rolls it back whole.
    """
    if not key:
        with transaction.atomic():
            status, body = action()
        return status, body, False
    if len(key) > 255 or not all(" " <= char <= "~" for char in key):
        raise InvalidIdempotencyKey(details={"Idempotency-Key": ["Not a valid key."]})
    record = None
    try:
        # No savepoint around the record: if its key is taken, the error ends this whole
        # transaction, which has written nothing else yet, and the answer is read after it.
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                user=user, scope=scope, key=key, request_hash=fingerprint
            )
            status, body = action()
            record.response_status, record.response_body = status, body
            record.save(update_fields=["response_status", "response_body"])
            return status, body, False
    except IntegrityError:
        if record is not None:  # the action's error, not the key's
            raise
    record = IdempotencyRecord.objects.get(user=user, scope=scope, key=key)
    if record.request_hash != fingerprint:
        raise IdempotencyConflict()
    return record.response_status, record.response_body, True
