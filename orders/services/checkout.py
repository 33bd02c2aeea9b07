"""Placing an order: one transaction that snapshots prices, reserves stock and creates the
payment, and an idempotency layer so that a retried request never places a second order."""

import hashlib
import json
import secrets
from collections.abc import Callable
from decimal import Decimal

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
from orders.services.cart import MAX_LINE_QUANTITY, cart_clear
from orders.services.emails import order_email_due
from payments.services import payment_create
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


@transaction.atomic
def order_place(
    *,
    user,
    shipping_address: dict,
    payment_token: str,
    lines: list[tuple[int, int]] | None = None,
    cart: Cart | None = None,
    email: str = "",
) -> Order:
    """Place an order for explicit ``lines`` [(product_id, quantity)] or the ``cart``.

    All or nothing: if any line cannot be reserved, InsufficientStock propagates and nothing
    is created. The cart's ordered lines are removed; processing is enqueued on commit.
    """
    if lines is None:
        if cart is None:
            raise EmptyOrder()
        lines = list(cart.items.values_list("product_id", "quantity"))
    lines = _merge_lines(lines)
    if not lines:
        raise EmptyOrder()

    products = Product.objects.in_bulk([product_id for product_id, _ in lines])
    for product_id, _ in lines:
        product = products.get(product_id)
        if product is None or not product.is_active:
            raise ProductUnavailable(
                "A product in this order is not available any more.",
                details={"product_id": product_id},
            )
    currencies = {products[pid].currency for pid, _ in lines}
    if len(currencies) != 1:
        raise ProductUnavailable("All products of one order must share a currency.")

    order_lines = [
        OrderLine(
            product=products[pid],
            product_name=products[pid].name,
            sku=products[pid].sku,
            unit_price=products[pid].price,
            quantity=quantity,
            line_total=products[pid].price * quantity,
        )
        for pid, quantity in lines
    ]
    order = Order(
        number=order_number_new(),
        user=user,
        email=email or user.email,
        shipping_address=shipping_address,
        currency=currencies.pop(),
        total=sum((line.line_total for line in order_lines), Decimal("0.00")),
    )
    order.full_clean(exclude=["number", "status"])  # protected FSM field
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

    payment_create(order=order, amount=order.total, currency=order.currency, token=payment_token)
    OrderEvent.objects.create(
        order=order,
        from_status="",
        to_status=OrderStatus.CREATED,
        actor=OrderEvent.Actor.CUSTOMER,
        user=user,
        reason="order placed",
    )
    if cart is not None:
        cart_clear(cart=cart, product_ids=[pid for pid, _ in lines])
    # Last: reserving locks each product's stock row until this transaction commits, and every
    # other order of that product waits for it (a best-seller's row is the shop's hottest lock).
    # Everything that does not need the lock is done before it is taken.
    stock_reserve(order=order, lines=lines)

    order_email_due(order=order, kind=OrderEmail.Kind.PLACED)
    from orders.tasks import order_process_task

    enqueue_on_commit(order_process_task, order_id=order.id)
    return order


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
    record, so the client may retry with the same key.
    """
    if not key:
        status, body = action()
        return status, body, False
    if len(key) > 255 or not all(" " <= char <= "~" for char in key):
        raise InvalidIdempotencyKey(details={"Idempotency-Key": ["Not a valid key."]})
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user=user, scope=scope, key=key, request_hash=fingerprint
                )
        except IntegrityError:
            record = IdempotencyRecord.objects.get(user=user, scope=scope, key=key)
            if record.request_hash != fingerprint:
                raise IdempotencyConflict() from None
            return record.response_status, record.response_body, True
        status, body = action()
        record.response_status, record.response_body = status, body
        record.save(update_fields=["response_status", "response_body"])
        return status, body, False
