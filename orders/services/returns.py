"""Returns: a customer sends back units of a delivered order; staff approve, receive or reject.

**Requesting** (``return_request``) locks the order row, so two requests for one order take
turns: a line's units already in a return that was not rejected count against it, and a line
can never be returned beyond its quantity. Only a delivered order can be returned, within
``RETURNS_WINDOW_DAYS`` of its delivery (the time of its ``delivered`` OrderEvent).

**Receiving** (``return_receive``) is one transaction that locks the return, then the order
(then, inside ``payment_refund_record``, the payment): the goods go back on the shelf through the
stock ledger (``inventory.services.stock_add``, kind ``restock``), the refund of the lines'
share, VAT included (``order_refund_quote``, counting the units of returns received before), is
recorded as pending under the payment's lock (never more than was captured and not yet
refunded), and the credit note is issued, last. A second receive finds the return received and
is refused (``invalid_transition``); a refund that would exceed what is left rolls everything
back. Only after the commit is the refund sent to the gateway (``return_refund_settle``): when it
is confirmed the return is ``refunded``; an unanswered call leaves it ``received`` and the
sweeper (``returns_settle_pending``, every 5 minutes) asks again under the refund's own key.

Every step writes an OrderEvent on the order (its status history) and makes a mail due.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from inventory.models import StockMovement
from inventory.services import stock_add
from orders.exceptions import RefundLinesInvalid, ReturnNotAllowed
from orders.models import (
    Order,
    OrderEmail,
    OrderEvent,
    OrderStatus,
    Return,
    ReturnLine,
    ReturnStatus,
)
from orders.services.emails import order_email_due
from orders.services.invoices import credit_note_issue_for_return
from orders.services.refunds import order_refund_quote
from payments.exceptions import GatewayTransientError
from payments.models import Payment, Refund
from payments.services import payment_refund_record, refund_settle
from shop.db import atomic_bounded
from shop.exceptions import InvalidTransition

logger = logging.getLogger(__name__)
Actor = OrderEvent.Actor
Mail = OrderEmail.Kind
OPEN = [ReturnStatus.REQUESTED, ReturnStatus.APPROVED]
GIVEN_BACK = [ReturnStatus.RECEIVED, ReturnStatus.REFUNDED]
PAST = {"approve": "approved", "receive": "received", "settle": "settled", "reject": "rejected"}


def order_delivered_at(order: Order) -> datetime | None:
    """When the order was delivered: the time of its transition to ``delivered``."""
    event = (
        order.events.filter(to_status=OrderStatus.DELIVERED)
        .exclude(from_status=OrderStatus.DELIVERED)
        .order_by("-at")
        .first()
    )
    return event.at if event else None


def return_window_ends(order: Order) -> datetime | None:
    """Until when the order can be returned; None for an order not delivered."""
    if order.status != OrderStatus.DELIVERED:
        return None
    delivered = order_delivered_at(order)
    if delivered is None:
        return None
    return delivered + timedelta(days=settings.RETURNS_WINDOW_DAYS)


def _units(order: Order, statuses: list[str], *, exclude: int | None = None) -> dict[int, int]:
    """Units of each of the order's lines in its returns of these statuses."""
    rows = ReturnLine.objects.filter(
        return_request__order=order, return_request__status__in=statuses
    )
    if exclude is not None:
        rows = rows.exclude(return_request_id=exclude)
    totals = rows.values("order_line_id").annotate(units=Sum("quantity"))
    return {row["order_line_id"]: row["units"] for row in totals}


def order_returnable_units(order: Order) -> dict[int, int]:
    """How many units of each line can still be asked back (those not in a return that was not
    rejected)."""
    taken = _units(order, [*OPEN, *GIVEN_BACK])
    return {line.pk: line.quantity - taken.get(line.pk, 0) for line in order.lines.all()}


def _note(order: Order, returned: Return, text: str, *, actor: str, user=None) -> None:
    OrderEvent.objects.create(
        order=order,
        from_status=order.status,
        to_status=order.status,
        actor=actor,
        user=user if getattr(user, "pk", None) else None,
        reason=f"return {returned.pk}: {text}"[:255],
    )


def _apply(returned: Return, name: str) -> None:
    before = returned.status
    try:
        getattr(returned, name)()
    except TransitionNotAllowed as exc:
        raise InvalidTransition(
            f"A return that is {before} cannot be {PAST[name]}.",
            details={"status": before, "action": name},
        ) from exc


def _save(returned: Return) -> None:
    # "status" is a protected FSM field: clean_fields() would try to assign it.
    returned.full_clean(
        validate_constraints=False, exclude=["order", "status", "refund", "requested_by"]
    )
    returned.save()


def return_request(
    *,
    order_id: int,
    lines: list[tuple[int, int]],
    reason: str,
    user=None,
    now: datetime | None = None,
) -> Return:
    """Ask to send back ``lines`` [(order line id, quantity)] of a delivered order.

    ReturnNotAllowed (409) for an order not delivered, past its return window, or for units
    already in another return; RefundLinesInvalid (400) for lines not of the order, quantities
    below 1 or beyond the line's."""
    reason = (reason or "").strip()
    if not reason:
        raise RefundLinesInvalid("Tell us why you return the items.", details={"reason": "blank"})
    if not lines:
        raise RefundLinesInvalid("Choose at least one item to return.", details={"lines": []})
    now = now or timezone.now()
    with atomic_bounded():
        order = Order.objects.select_for_update().get(pk=order_id)
        ends = return_window_ends(order)
        if ends is None:
            raise ReturnNotAllowed(
                f"Order {order.number} is {order.status}: only a delivered order can be returned.",
                details={"status": order.status},
            )
        if now > ends:
            raise ReturnNotAllowed(
                f"Order {order.number} could be returned until {ends:%d %b %Y}.",
                details={"window_ended": ends.isoformat()},
            )
        order_refund_quote(order=order, lines=lines)  # the lines are the order's, in range
        taken = _units(order, [*OPEN, *GIVEN_BACK])
        try:
            quote = order_refund_quote(order=order, lines=lines, returned=taken)
        except RefundLinesInvalid as exc:
            raise ReturnNotAllowed(
                "Some of these items are already being returned. " + exc.message,
                details=exc.details,
            ) from exc
        returned = Return(
            order=order,
            reason=reason[:255],
            refund_amount=quote.gross,
            currency=order.currency,
            requested_by=user if getattr(user, "pk", None) else None,
        )
        _save(returned)
        for row in quote.lines:
            line = ReturnLine(
                return_request=returned,
                order_line=row.line,
                quantity=row.quantity,
                refund_amount=row.gross,
                tax_amount=row.tax,
            )
            line.full_clean(validate_constraints=False, exclude=["return_request", "order_line"])
            line.save()
        units = sum(row.quantity for row in quote.lines)
        _note(order, returned, f"{units} unit(s) requested back", actor=Actor.CUSTOMER, user=user)
        order_email_due(order=order, kind=Mail.RETURN_REQUESTED, return_request=returned)
    return returned


def _locked(return_id: int) -> Return:
    return Return.objects.select_for_update().get(pk=return_id)


def return_approve(*, return_id: int, user=None, note: str = "") -> Return:
    """Staff accept a requested return: the customer may send the goods."""
    with atomic_bounded():
        returned = _locked(return_id)
        _apply(returned, "approve")
        returned.staff_note = note[:255]
        _save(returned)
        _note(returned.order, returned, note or "approved", actor=Actor.STAFF, user=user)
        order_email_due(order=returned.order, kind=Mail.RETURN_APPROVED, return_request=returned)
    return returned


def return_reject(*, return_id: int, reason: str, user=None) -> Return:
    """Staff refuse a requested or approved return; its units can be asked back again."""
    reason = (reason or "").strip() or "the return was not accepted"
    with atomic_bounded():
        returned = _locked(return_id)
        _apply(returned, "reject")
        returned.staff_note = reason[:255]
        _save(returned)
        _note(returned.order, returned, f"rejected: {reason}", actor=Actor.STAFF, user=user)
        order_email_due(order=returned.order, kind=Mail.RETURN_REJECTED, return_request=returned)
    return returned


def _payment_of(order: Order) -> Payment | None:
    return Payment.objects.filter(order=order).order_by("-id").first()


def return_receive(*, return_id: int, user=None) -> Return:
    """Staff received the goods: restock them, record the refund of their share (VAT included)
    and issue the credit note, in one transaction; then send the refund to the gateway.

    InvalidTransition (409) when the return is not requested or approved (a second receive);
    RefundExceedsCapture (409) when the payment has less left to refund; nothing changes then."""
    with atomic_bounded():
        returned = _locked(return_id)
        order = Order.objects.select_for_update().get(pk=returned.order_id)
        _apply(returned, "receive")
        rows = list(returned.lines.select_related("order_line").order_by("order_line__product_id"))
        # Units of returns received before take their shares first: the sum of every return's
        # refund of a line is, to the cent, never more than what the line cost.
        before = _units(order, GIVEN_BACK, exclude=returned.pk)
        quote = order_refund_quote(
            order=order,
            lines=[(row.order_line_id, row.quantity) for row in rows],
            returned=before,
        )
        shares = {refund.line.pk: refund for refund in quote.lines}
        for row in rows:
            row.refund_amount = shares[row.order_line_id].gross
            row.tax_amount = shares[row.order_line_id].tax
            row.save(update_fields=["refund_amount", "tax_amount"])
            stock_add(
                product_id=row.order_line.product_id,
                quantity=row.quantity,
                reason=f"return {returned.pk} of order {order.number}",
                kind=StockMovement.Kind.RESTOCK,
                reference=order.number,
                actor=user if getattr(user, "pk", None) else None,
            )
        returned.refund_amount = quote.gross
        returned.received_at = timezone.now()
        units = sum(row.quantity for row in rows)
        _note(
            order, returned, f"{units} unit(s) received and restocked", actor=Actor.STAFF, user=user
        )
        payment = _payment_of(order)
        if quote.gross > 0:
            if payment is None:
                raise InvalidTransition(
                    f"Order {order.number} has no payment to refund.",
                    details={"status": returned.status, "action": "receive"},
                )
            returned.refund = payment_refund_record(
                payment_id=payment.pk,
                amount=quote.gross,
                reason=f"return {returned.pk} of order {order.number}",
                actor=user,
            )
        else:
            _apply(returned, "settle")
            returned.refunded_at = timezone.now()
        _save(returned)
        # Last: numbering locks the year's credit note series until this commits.
        credit_note_issue_for_return(return_id=returned.pk)
        if returned.status == ReturnStatus.REFUNDED:
            order_email_due(order=order, kind=Mail.RETURN_REFUNDED, return_request=returned)
    return return_refund_settle(return_id=returned.pk)


def return_refund_settle(*, return_id: int) -> Return:
    """Send a received return's refund to the gateway (again: same key) and, once it is
    confirmed, mark the return refunded and tell the customer. Call it outside a transaction.

    Idempotent. An unanswered gateway leaves the return received (the sweeper comes back)."""
    returned = Return.objects.select_related("refund").get(pk=return_id)
    if returned.status != ReturnStatus.RECEIVED or returned.refund is None:
        return returned
    try:
        refund = refund_settle(refund_id=returned.refund_id)
    except GatewayTransientError:
        logger.warning("refund of return %s sent, no answer yet: it stays received", return_id)
        return returned
    if refund.status != Refund.Status.SUCCEEDED:
        if refund.status == Refund.Status.FAILED:
            logger.error("the gateway refused the refund of return %s", return_id)
        return returned
    with atomic_bounded():
        returned = _locked(return_id)
        if returned.status != ReturnStatus.RECEIVED:
            return returned
        _apply(returned, "settle")
        returned.refunded_at = timezone.now()
        _save(returned)
        order = returned.order
        _note(
            order,
            returned,
            f"refunded {returned.refund_amount} {returned.currency}",
            actor=Actor.SYSTEM,
        )
        order_email_due(order=order, kind=Mail.RETURN_REFUNDED, return_request=returned)
    return returned


def returns_settle_pending(*, limit: int = 500) -> int:
    """Settle the refunds of received returns that the gateway has not confirmed yet (their
    answer was lost). Returns how many returns ended refunded."""
    ids = list(
        Return.objects.filter(status=ReturnStatus.RECEIVED, refund__isnull=False)
        .order_by("received_at")
        .values_list("id", flat=True)[:limit]
    )
    settled = 0
    for return_id in ids:
        try:
            settled += return_refund_settle(return_id=return_id).status == ReturnStatus.REFUNDED
        except Exception:  # one bad return must not stop the others; it is retried next run
            logger.exception("settling return %s failed", return_id)
    return settled
