"""The order state machine at work: processing after placement, shipping, cancelling.

Money follows goods. Processing authorizes the card, then commits the order's stock, and only
then captures; when the goods cannot be had, the authorization is voided (or a capture that
already happened refunded) and the order is cancelled. Each step is its own short transaction
that locks the order row, and every gateway call is made outside them, so a crash between
steps leaves a state from which ``order_process`` simply resumes, whatever the step, with the
same outcome. A gateway answer that never came raises GatewayTransientError out of
``order_process`` with nothing changed: the task retries it, and the sweepers finish what a
lost task left.
"""

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from inventory.exceptions import InsufficientStock
from inventory.services import (
    reservation_extend,
    stock_commit,
    stock_release,
    stock_return_sold,
)
from orders.exceptions import OrderNotCancellable
from orders.models import CANCELLABLE, Order, OrderEmail, OrderEvent, OrderStatus
from orders.services.cart import cart_restore_from_order
from orders.services.emails import order_email_due
from orders.services.invoices import credit_note_issue, invoice_issue
from orders.signals import order_cancelled, order_paid
from payments.exceptions import GatewayTransientError, PaymentError
from payments.models import Payment
from payments.services import (
    owes_money_back,
    payment_authorize,
    payment_capture,
    payment_give_back,
    payment_give_back_request,
)
from pricing.services import voucher_use_release
from shop.db import atomic_bounded, update_audited
from shop.exceptions import InvalidTransition

logger = logging.getLogger(__name__)
Actor = OrderEvent.Actor
PaymentStatus = Payment.Status
Mail = OrderEmail.Kind
TERMINAL = {OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED}


def _locked(order_id: int) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)


def _transition(order: Order, name: str, *, actor: str, user=None, reason: str = "") -> OrderEvent:
    """Run transition ``name`` on a locked order; the audit row, not saved yet."""
    before = order.status
    try:
        getattr(order, name)()
    except TransitionNotAllowed as exc:
        raise InvalidTransition(
            f"An order that is {before} cannot be {name.replace('_', ' ')}ed.",
            details={"status": before, "action": name},
        ) from exc
    return OrderEvent(
        order=order,
        from_status=before,
        to_status=order.status,
        actor=actor,
        user=user,
        reason=reason,
    )


def _apply(order: Order, name: str, *, actor: str, user=None, reason: str = "") -> Order:
    """Run transition ``name`` on a locked order, save it and write the audit row."""
    event = _transition(order, name, actor=actor, user=user, reason=reason)
    order.save()
    event.save()
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


def _payment_of(order: Order) -> Payment | None:
    return Payment.objects.filter(order=order).order_by("-id").first()


def order_process(*, order_id: int) -> Order:
    """Walk a placed order through confirmation, authorization, stock commitment and capture.

    Idempotent, and safe to resume after a crash at any point."""
    with atomic_bounded():
        # Confirming and starting are one transaction: one lock, one UPDATE, one INSERT.
        order = _locked(order_id)
        events = []
        stock_held = False
        if order.status == OrderStatus.CREATED:
            events.append(
                _transition(order, "confirm", actor=Actor.SYSTEM, reason="stock reserved")
            )
        if order.status == OrderStatus.CONFIRMED:
            # The reservations must outlive the payment, however long the gateway takes.
            reservation_extend(order=order)
            stock_held = True
            events.append(
                _transition(order, "start_processing", actor=Actor.SYSTEM, reason="taking payment")
            )
        if events:
            order.save(update_fields=["status", "updated_at"])
            OrderEvent.objects.bulk_create(events)
    if order.status == OrderStatus.CANCELLED:
        # Cancelled while its card was being authorized, the authorization's answer lost: the
        # cancel found nothing to give back yet, and only this retry knows to look again.
        payment = _payment_of(order)
        if payment is not None and owes_money_back(payment):
            _give_back_now(payment.id, order.cancel_reason or "order cancelled")
        return order
    if order.status != OrderStatus.PROCESSING or order.paid_at is not None:
        return order

    payment = _payment_of(order)
    if payment is None:
        return order_cancel(order_id=order_id, actor=Actor.SYSTEM, reason="no payment")
    # 1. Hold the money (outside any transaction: gateway I/O).
    payment = payment_authorize(payment_id=payment.id, current=payment, stock_held=stock_held)
    if payment.status == PaymentStatus.FAILED:
        reason = f"payment failed: {payment.failure_message or payment.failure_code}"
        return order_cancel(
            order_id=order_id, actor=Actor.SYSTEM, reason=reason, payment_failed=True
        )
    if payment.status not in (PaymentStatus.AUTHORIZED, PaymentStatus.COMPLETED):
        return Order.objects.get(pk=order_id)  # its order was cancelled meanwhile
    # 2. Secure the goods.
    order, secured = _order_secure_goods(order_id=order_id)
    if not secured:
        if order.status != OrderStatus.CANCELLED:  # cancelling gives the money back
            return order_cancel(
                order_id=order_id,
                actor=Actor.SYSTEM,
                reason="stock no longer available (reservation expired)",
            )
        # Cancelled while the card was being authorized: the hold goes back now.
        _give_back_now(payment.id, "order cancelled during payment")
        return order
    # 3. Only now take the money.
    try:
        payment = payment_capture(payment_id=payment.id, current=payment)
    except InvalidTransition:
        order = Order.objects.get(pk=order_id)
        if order.status != OrderStatus.CANCELLED:
            raise
        # Cancelled once its goods were secured: nothing is captured, the hold goes back.
        _give_back_now(payment.id, "order cancelled during payment")
        return order
    if payment.status == PaymentStatus.COMPLETED:
        return _order_paid(order=order, payment=payment)
    reason = f"payment failed: {payment.failure_message or payment.failure_code}"
    return order_cancel(order_id=order_id, actor=Actor.SYSTEM, reason=reason, payment_failed=True)


def _order_secure_goods(*, order_id: int) -> tuple[Order, bool]:
    """Commit the order's reserved stock (idempotent). False when it is gone, or the order was
    cancelled meanwhile."""
    order = None
    try:
        # Stock that cannot be had rolls this whole transaction back: it holds nothing else.
        with atomic_bounded():
            order = _locked(order_id)
            if order.status != OrderStatus.PROCESSING:
                return order, False
            sold = stock_commit(order=order, savepoint=False)
            if sold:
                _note(order, reason="stock committed")
    except InsufficientStock:
        return order, False
    return order, True


def _order_paid(*, order: Order, payment: Payment) -> Order:
    """Mark ``order`` (as its goods were secured) paid, with its event, confirmation mail and
    invoice; or, cancelled while the card was being charged, give the money back."""
    order_id = order.pk
    with atomic_bounded():
        now = timezone.now()
        event = OrderEvent(
            order=order,
            from_status=OrderStatus.PROCESSING,
            to_status=OrderStatus.PROCESSING,
            actor=Actor.SYSTEM,
            reason=f"payment of {payment.amount} {payment.currency} captured",
        )
        # The conditional update is the lock and the check: still processing and unpaid.
        unpaid = Order.objects.filter(
            pk=order_id, status=OrderStatus.PROCESSING, paid_at__isnull=True
        )
        if update_audited(unpaid, {"paid_at": now, "updated_at": now}, [event]):
            order.paid_at = order.updated_at = now
            # Paid only now (under the lock): its confirmation cannot be due yet.
            order_email_due(order=order, kind=Mail.CONFIRMED, new_order=True)
            transaction.on_commit(partial(order_paid.send, sender=Order, order=order))
            # Last: numbering locks the year's invoice series until this commits.
            invoice_issue(order_id=order_id, locked=order, new=True)
        else:
            # Cancelled while the card was being charged (given back below), or paid already.
            order = _locked(order_id)
    if order.status == OrderStatus.CANCELLED:
        _give_back_now(payment.id, "order cancelled during payment")
        return order
    if settings.ORDERS_AUTO_SHIP:
        order_ship(order_id=order_id, actor=Actor.SYSTEM, reason="shipped automatically")
        order = order_deliver(
            order_id=order_id, actor=Actor.SYSTEM, reason="delivered automatically"
        )
    return order


def _give_back_now(payment_id: int, reason: str) -> None:
    """Give a cancelled order's money back now if the gateway answers; else later, by task."""
    try:
        payment_give_back(payment_id=payment_id, reason=reason)
    except (GatewayTransientError, PaymentError) as exc:
        logger.warning("giving back payment %s: %s; retried by a task", payment_id, exc)
        from payments.tasks import payment_give_back_task

        payment_give_back_task.delay(payment_id=payment_id, reason=reason)


def order_cancel(
    *, order_id: int, actor: str, user=None, reason: str = "", payment_failed: bool = False
) -> Order:
    """Cancel before shipping: reserved stock is released, sold stock put back, and whatever
    the customer paid or has held is given back (after the commit: gateway I/O).

    Cancelling a cancelled order changes nothing but still makes sure the money went back."""
    with atomic_bounded():
        order = _locked(order_id)
        if order.status != OrderStatus.CANCELLED:
            if order.status not in CANCELLABLE:
                raise OrderNotCancellable(
                    f"Order {order.number} is {order.status} and can no longer be cancelled.",
                    details={"status": order.status},
                )
            reason = reason or "order cancelled"
            stock_release(order=order, reason=reason)
            stock_return_sold(order=order, reason=f"order {order.number} cancelled", actor=user)
            if order.paid_at is None:
                voucher_use_release(order=order)  # an unpaid order gives its voucher use back
            payment = _payment_of(order)
            if payment is not None:
                payment_give_back_request(payment_id=payment.id, reason=reason)
            order.cancel_reason = reason[:255]
            _apply(order, "cancel", actor=actor, user=user, reason=reason)
            if payment_failed:
                cart_restore_from_order(order=order)
                order_email_due(order=order, kind=Mail.PAYMENT_FAILED)
            else:
                order_email_due(order=order, kind=Mail.CANCELLED)
            transaction.on_commit(
                partial(order_cancelled.send, sender=Order, order=order, reason=reason)
            )
            if order.paid_at is not None:
                # Last, like the invoice: the credit note's series is locked until the commit.
                credit_note_issue(order_id=order.id)
    payment = _payment_of(order)
    if payment is not None and owes_money_back(payment):
        transaction.on_commit(partial(_give_back_now, payment.id, order.cancel_reason))
    return order


def order_ship(*, order_id: int, actor: str, user=None, reason: str = "") -> Order:
    """Hand a paid order to the carrier; never one whose money went back."""
    with atomic_bounded():
        order = _locked(order_id)
        if order.status == OrderStatus.PROCESSING and order.paid_at is None:
            raise InvalidTransition(
                "The order cannot ship before its payment is captured.",
                details={"status": order.status, "action": "ship"},
            )
        payment = _payment_of(order)
        if order.status == OrderStatus.PROCESSING and (
            payment is None
            or payment.status != PaymentStatus.COMPLETED
            or payment.refundable_amount <= 0
            or payment.give_back_requested_at is not None
        ):
            raise InvalidTransition(
                "The order's money was given back: it cannot ship.",
                details={"status": order.status, "action": "ship"},
            )
        _apply(order, "ship", actor=actor, user=user, reason=reason or "handed to the carrier")
        order_email_due(order=order, kind=Mail.SHIPPED)
    return order


def order_deliver(*, order_id: int, actor: str, user=None, reason: str = "") -> Order:
    with atomic_bounded():
        order = _locked(order_id)
        return _apply(order, "deliver", actor=actor, user=user, reason=reason or "delivered")


def orders_resume_stuck(*, older_than: timedelta | None = None) -> list[int]:
    """Orders left in created/confirmed/unpaid processing: enqueue their processing again.

    ``order_process`` is idempotent, so an order that was only slow is not harmed."""
    from orders.tasks import order_process_task

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
        order_process_task.delay(order_id=order_id)
    if ids:
        logger.warning("resumed %d stuck orders", len(ids))
    return ids
