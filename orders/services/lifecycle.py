"""The order state machine at work: processing after placement, shipping, cancelling.

Each step is its own short transaction that locks the order row, so a crash between steps
leaves a state from which ``order_process`` simply resumes. Payment and stock services are
idempotent, so resuming never charges twice or moves stock twice.
"""

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from inventory.exceptions import InsufficientStock
from inventory.services import reservation_extend, stock_add, stock_commit, stock_release
from orders.exceptions import OrderNotCancellable
from orders.models import CANCELLABLE, Order, OrderEvent, OrderStatus
from orders.services.cart import cart_restore_from_order
from orders.signals import order_cancelled, order_paid
from payments.models import Payment
from payments.services import payment_process, payment_refund, payment_transition
from shop.exceptions import InvalidTransition

logger = logging.getLogger(__name__)
Actor = OrderEvent.Actor
TERMINAL = {OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED}


def _locked(order_id: int) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)


def _apply(order: Order, name: str, *, actor: str, user=None, reason: str = "") -> Order:
    """Run transition ``name`` on a locked order, save it and write the audit row."""
    before = order.status
    try:
        getattr(order, name)()
    except TransitionNotAllowed as exc:
        raise InvalidTransition(
            f"An order that is {before} cannot be {name.replace('_', ' ')}ed.",
            details={"status": before, "action": name},
        ) from exc
    order.save()
    OrderEvent.objects.create(
        order=order,
        from_status=before,
        to_status=order.status,
        actor=actor,
        user=user,
        reason=reason,
    )
    return order


def _note(order: Order, *, reason: str, actor: str = Actor.SYSTEM, user=None) -> None:
    """An audit row for something that happened without a state change."""
    OrderEvent.objects.create(
        order=order,
        from_status=order.status,
        to_status=order.status,
        actor=actor,
        user=user,
        reason=reason,
    )


def _email(order: Order, kind: str) -> None:
    from orders.tasks import send_order_email

    transaction.on_commit(partial(send_order_email.delay, order_id=order.id, kind=kind))


def _payment_of(order: Order) -> Payment | None:
    return Payment.objects.filter(order=order).order_by("-id").first()


def order_process(*, order_id: int) -> Order:
    """Walk a placed order through confirmation, payment and stock commitment. Idempotent."""
    with transaction.atomic():
        order = _locked(order_id)
        if order.status == OrderStatus.CREATED:
            _apply(order, "confirm", actor=Actor.SYSTEM, reason="stock reserved")
    with transaction.atomic():
        order = _locked(order_id)
        if order.status == OrderStatus.CONFIRMED:
            # The reservations must outlive the payment, however long the gateway takes.
            reservation_extend(order=order)
            _apply(order, "start_processing", actor=Actor.SYSTEM, reason="taking payment")
    order = Order.objects.get(pk=order_id)
    if order.status != OrderStatus.PROCESSING or order.paid_at is not None:
        return order

    payment = _payment_of(order)
    if payment is None:
        return order_cancel(order_id=order_id, actor=Actor.SYSTEM, reason="no payment")
    payment = payment_process(payment_id=payment.id)  # outside any transaction: gateway I/O

    if payment.status == Payment.Status.COMPLETED:
        return _order_paid(order_id=order_id, payment=payment)
    reason = f"payment failed: {payment.failure_message or payment.failure_code or 'declined'}"
    order = order_cancel(order_id=order_id, actor=Actor.SYSTEM, reason=reason, payment_failed=True)
    return order


def _order_paid(*, order_id: int, payment: Payment) -> Order:
    with transaction.atomic():
        order = _locked(order_id)
        if order.status == OrderStatus.CANCELLED:
            # Cancelled while the card was being charged: give the money back.
            _refund_if_captured(order, reason="order cancelled during payment")
            return order
        if order.paid_at is not None:
            return order
        try:
            stock_commit(order=order)
        except InsufficientStock:
            commit_failed = True
        else:
            commit_failed = False
            order.paid_at = timezone.now()
            order.save(update_fields=["paid_at", "updated_at"])
            _note(order, reason=f"payment of {payment.amount} {payment.currency} captured")
            _email(order, "confirmed")
            transaction.on_commit(partial(order_paid.send, sender=Order, order=order))
    if commit_failed:
        return order_cancel(
            order_id=order_id,
            actor=Actor.SYSTEM,
            reason="stock no longer available (reservation expired)",
        )
    if settings.ORDERS_AUTO_SHIP:
        order_ship(order_id=order_id, actor=Actor.SYSTEM, reason="shipped automatically")
        order = order_deliver(
            order_id=order_id, actor=Actor.SYSTEM, reason="delivered automatically"
        )
    return order


def _refund_if_captured(order: Order, *, reason: str, user=None) -> None:
    payment = _payment_of(order)
    if payment is not None and payment.status == Payment.Status.COMPLETED:
        payment_refund(payment_id=payment.id, reason=reason, actor=user)


def order_cancel(
    *, order_id: int, actor: str, user=None, reason: str = "", payment_failed: bool = False
) -> Order:
    """Cancel before shipping: release reservations, or return stock and refund if paid.

    Cancelling a cancelled order does nothing."""
    with transaction.atomic():
        order = _locked(order_id)
        if order.status == OrderStatus.CANCELLED:
            return order
        if order.status not in CANCELLABLE:
            raise OrderNotCancellable(
                f"Order {order.number} is {order.status} and can no longer be cancelled.",
                details={"status": order.status},
            )
        stock_release(order=order, reason=reason or "order cancelled")
        payment = _payment_of(order)
        if payment is not None and payment.status == Payment.Status.PENDING:
            # Never sent to the gateway: it ends here, so no payment is left unfinished.
            payment_transition(
                payment_id=payment.id,
                transition="fail",
                message="order cancelled",
                failure_code="order_cancelled",
                failure_message="the order was cancelled",
            )
        if order.paid_at is not None:
            for line in order.lines.all():
                stock_add(
                    product_id=line.product_id,
                    quantity=line.quantity,
                    kind="restock",
                    reason=f"order {order.number} cancelled after payment",
                    reference=order.number,
                    actor=user,
                )
            _refund_if_captured(order, reason=reason or "order cancelled", user=user)
        order.cancel_reason = reason[:255]
        _apply(order, "cancel", actor=actor, user=user, reason=reason)
        if payment_failed:
            cart_restore_from_order(order=order)
            _email(order, "payment_failed")
        else:
            _email(order, "cancelled")
        transaction.on_commit(
            partial(order_cancelled.send, sender=Order, order=order, reason=reason)
        )
    return order


@transaction.atomic
def order_ship(*, order_id: int, actor: str, user=None, reason: str = "") -> Order:
    order = _locked(order_id)
    if order.status == OrderStatus.PROCESSING and order.paid_at is None:
        raise InvalidTransition(
            "The order cannot ship before its payment is captured.",
            details={"status": order.status, "action": "ship"},
        )
    _apply(order, "ship", actor=actor, user=user, reason=reason or "handed to the carrier")
    _email(order, "shipped")
    return order


@transaction.atomic
def order_deliver(*, order_id: int, actor: str, user=None, reason: str = "") -> Order:
    order = _locked(order_id)
    return _apply(order, "deliver", actor=actor, user=user, reason=reason or "delivered")


def orders_resume_stuck(*, older_than: timedelta | None = None) -> list[int]:
    """Orders left in created/confirmed/unpaid processing: enqueue their processing again.

    ``order_process`` is idempotent, so an order that was only slow is not harmed."""
    from orders.tasks import process_order

    older_than = settings.ORDERS_STUCK_AFTER if older_than is None else older_than
    cutoff = timezone.now() - older_than
    ids = list(
        Order.objects.filter(
            status__in=[OrderStatus.CREATED, OrderStatus.CONFIRMED, OrderStatus.PROCESSING],
            paid_at__isnull=True,
            updated_at__lte=cutoff,
        ).values_list("id", flat=True)
    )
    for order_id in ids:
        process_order.delay(order_id=order_id)
    if ids:
        logger.warning("resumed %d stuck orders", len(ids))
    return ids
