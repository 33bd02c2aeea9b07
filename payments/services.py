"""Payments: creating, processing (authorize, capture), refunding, voiding and settling.

Every transition happens in one short transaction that locks the payment row, applies the
FSM transition, saves and writes a PaymentEvent. Gateway calls are made outside those
transactions and carry idempotency keys derived from the payment's own key, so a retry, a
concurrent worker or a resume after a crash never charges twice.
"""

import logging
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from inventory.services import reservation_extend
from payments.exceptions import (
    GatewayTransientError,
    PaymentError,
    RefundExceedsCapture,
)
from payments.gateways import Result, get_gateway
from payments.models import Payment, PaymentEvent, Refund
from shop.exceptions import InvalidTransition

logger = logging.getLogger(__name__)
Status = Payment.Status
Event = PaymentEvent.Kind
TRANSITIONS = ("start", "authorize", "complete", "fail", "void", "refund")


# --- audit and transitions ------------------------------------------------------------------
def _event(payment: Payment, kind: str, name: str, **fields) -> PaymentEvent:
    fields["message"] = str(fields.get("message", ""))[:255]
    return PaymentEvent.objects.create(payment=payment, kind=kind, name=name, **fields)


def _apply(payment: Payment, name: str, *, message: str = "", **fields) -> Payment:
    """Run transition ``name`` on a locked payment, set ``fields``, save, audit."""
    if name not in TRANSITIONS:
        raise ValueError(f"{name!r} is not a payment transition.")
    before = payment.status
    try:
        getattr(payment, name)()
    except TransitionNotAllowed as exc:
        raise InvalidTransition(
            f"A payment that is {before} cannot {name}.",
            details={"status": before, "action": name},
        ) from exc
    for field, value in fields.items():
        setattr(payment, field, value)
    # "status" is a protected FSM field: clean_fields() would try to assign it.
    payment.full_clean(validate_constraints=False, exclude=["order", "status"])
    payment.save()
    _event(
        payment,
        Event.TRANSITION,
        name,
        from_status=before,
        to_status=payment.status,
        gateway_reference=payment.gateway_reference,
        error_code=payment.failure_code if payment.status == Status.FAILED else "",
        message=message,
    )
    return payment


def _locked(payment_id: int) -> Payment:
    return Payment.objects.select_for_update().get(pk=payment_id)


@transaction.atomic
def payment_transition(*, payment_id: int, transition: str, message: str = "", **fields) -> Payment:
    """Apply one transition to a payment; InvalidTransition if its state does not allow it."""
    return _apply(_locked(payment_id), transition, message=message, **fields)


def _step(payment_id: int, name: str, *, expected: str, message: str = "", **fields) -> Payment:
    """A transition that another worker may already have made: then just the current payment."""
    with transaction.atomic():
        payment = _locked(payment_id)
        if payment.status != expected:
            return payment
        return _apply(payment, name, message=message, **fields)


def _fail(payment: Payment, code: str, message: str = "") -> Payment:
    return _step(
        payment.pk,
        "fail",
        expected=payment.status,
        failure_code=code[:40],
        failure_message=(message or code)[:255],
        message=message or code,
    )


# --- creating -------------------------------------------------------------------------------
@transaction.atomic
def payment_create(
    *, order, amount: Decimal, currency: str, token: str, method: str = "card"
) -> Payment:
    """A pending payment for ``order``. Keeps the card's brand and last four digits only."""
    try:
        amount = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise PaymentError("The amount is not a number.", details={"amount": str(amount)}) from exc
    if not amount.is_finite() or amount <= 0:
        raise PaymentError("The amount must be positive.", details={"amount": str(amount)})
    if not token:
        raise PaymentError("A payment token is required.", details={"token": "required"})
    card = get_gateway().describe(token)
    payment = Payment(
        order=order,
        amount=amount.quantize(Decimal("0.01")),
        currency=(currency or "").upper(),
        method=method,
        token_reference=token,
        card_brand=card.brand if card else "",
        card_last4=card.last4 if card else "",
    )
    payment.full_clean(validate_constraints=False, exclude=["order", "status"])
    payment.save()
    _event(payment, Event.TRANSITION, "create", to_status=payment.status)
    return payment


# --- talking to the gateway -----------------------------------------------------------------
def retry_delay(attempt: int) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, ...): exponential."""
    base = float(settings.PAYMENT_RETRY_BACKOFF)
    return min(base * 2 ** (attempt - 1), float(settings.PAYMENT_RETRY_BACKOFF_MAX))


def _call(payment: Payment, operation: str, call: Callable[[], Result]) -> Result | None:
    """Call the gateway, retrying transient errors; None if every attempt failed."""
    attempts = max(int(settings.PAYMENT_MAX_ATTEMPTS), 1)
    for attempt in range(1, attempts + 1):
        Payment.objects.filter(pk=payment.pk).update(attempts=F("attempts") + 1)
        try:
            result = call()
        except GatewayTransientError as exc:
            _event(
                payment,
                Event.GATEWAY,
                operation,
                result="error",
                error_code=exc.code,
                message=f"attempt {attempt}: {exc.message}",
            )
            delay = retry_delay(attempt)
            if attempt < attempts and delay > 0:
                time.sleep(delay)
            continue
        _event(
            payment,
            Event.GATEWAY,
            operation,
            result="approved" if result.approved else "declined",
            gateway_reference=result.reference,
            error_code=result.code,
            message=result.message,
        )
        return result
    return None


def _capture_key(payment: Payment) -> str:
    return f"{payment.idempotency_key}:capture"


def _authorize(payment: Payment) -> Payment:
    gateway = get_gateway()
    result = _call(
        payment,
        "authorize",
        lambda: gateway.authorize(
            payment.amount, payment.currency, payment.token_reference, payment.idempotency_key
        ),
    )
    if result is None:
        return _fail(payment, "processing_error", "The gateway kept failing; gave up.")
    if not result.approved:
        return _fail(payment, result.code or "declined", result.message or "declined")
    return _step(
        payment.pk, "authorize", expected=Status.PROCESSING, gateway_reference=result.reference
    )


def _capture(payment: Payment) -> Payment:
    gateway = get_gateway()
    result = _call(
        payment,
        "capture",
        lambda: gateway.capture(payment.gateway_reference, payment.amount, _capture_key(payment)),
    )
    if result is not None and result.approved:
        return _step(
            payment.pk, "complete", expected=Status.AUTHORIZED, captured_amount=result.amount
        )
    code = "processing_error" if result is None else (result.code or "capture_declined")
    # The authorization would hold the customer's money until it lapses: give it back.
    void = _call(payment, "void", lambda: gateway.void(payment.gateway_reference))
    if void is not None and not void.approved and void.code == "already_captured":
        return _resume(payment)  # the capture did go through after all
    return _fail(payment, code, "The capture failed; the authorization was voided.")


def _resume(payment: Payment) -> Payment:
    """Bring the payment up to what the gateway knows (after a crash or a lost answer)."""
    gateway = get_gateway()
    try:
        found = gateway.lookup(payment.idempotency_key)
    except GatewayTransientError:
        return payment  # the idempotent calls that follow are safe without knowing
    _event(
        payment,
        Event.GATEWAY,
        "lookup",
        result=found.status if found else "unknown",
        gateway_reference=found.reference if found else "",
        error_code=found.code if found else "",
    )
    if found is None:
        return payment
    if found.status == "declined":
        return _fail(payment, found.code or "declined")
    if found.status == "voided":
        return _fail(payment, "voided", "The authorization was voided at the gateway.")
    if payment.status == Status.PROCESSING:
        payment = _step(
            payment.pk, "authorize", expected=Status.PROCESSING, gateway_reference=found.reference
        )
    if found.status == "captured" and payment.status == Status.AUTHORIZED:
        payment = _step(
            payment.pk,
            "complete",
            expected=Status.AUTHORIZED,
            captured_amount=found.captured_amount,
            message="capture found at the gateway",
        )
    return payment


def payment_process(*, payment_id: int) -> Payment:
    """Authorize and capture; returns the payment completed or failed.

    Call it outside any transaction (it talks to the gateway). Idempotent: a finished payment
    comes back unchanged, and one left in processing or authorized is first compared with the
    gateway's records, then resumed with the same idempotency keys."""
    payment = Payment.objects.get(pk=payment_id)
    if payment.status in Payment.TERMINAL:
        return payment
    if payment.status == Status.PENDING:
        payment = _step(payment_id, "start", expected=Status.PENDING)
        # The order's stock stays reserved while its card is being charged.
        reservation_extend(order=payment.order)
    else:
        payment = _resume(payment)
    if payment.status == Status.PROCESSING:
        payment = _authorize(payment)
    if payment.status == Status.AUTHORIZED:
        payment = _capture(payment)
    return payment


# --- refunds and voids ----------------------------------------------------------------------
def payment_refund(
    *, payment_id: int, amount: Decimal | None = None, reason: str = "", actor=None
) -> Refund:
    """Refund part or all (``amount=None``) of what was captured and not yet refunded.

    The payment row stays locked while the gateway is asked, so two refunds can never both
    pass the check; the refund's idempotency key is derived from the payment's key and the
    refund's number, so a retry after a rollback does not refund twice at the gateway."""
    with transaction.atomic():
        payment = _locked(payment_id)
        if payment.status != Status.COMPLETED:
            raise InvalidTransition(
                f"A payment that is {payment.status} cannot be refunded.",
                details={"status": payment.status, "action": "refund"},
            )
        remaining = payment.refundable_amount
        try:
            amount = remaining if amount is None else Decimal(amount).quantize(Decimal("0.01"))
        except (InvalidOperation, TypeError, ValueError) as exc:
            raise PaymentError("The refund amount is not a number.") from exc
        if amount <= 0:
            raise PaymentError("A refund must be positive.", details={"amount": str(amount)})
        if amount > remaining:
            raise RefundExceedsCapture(
                f"Only {remaining} {payment.currency} can still be refunded.",
                details={"requested": str(amount), "refundable": str(remaining)},
            )
        key = f"{payment.idempotency_key}:refund:{payment.refunds.count() + 1}"
        gateway = get_gateway()
        result = _call(
            payment, "refund", lambda: gateway.refund(payment.gateway_reference, amount, key)
        )
        if result is None:
            raise GatewayTransientError("The gateway did not answer the refund; try again.")
        if not result.approved:
            raise PaymentError(
                result.message or "The gateway refused the refund.",
                details={"gateway_code": result.code},
            )
        refund = Refund(
            payment=payment,
            amount=amount,
            reason=reason[:255],
            gateway_reference=result.reference,
            idempotency_key=key,
            actor=actor if getattr(actor, "pk", None) else None,
        )
        refund.full_clean(validate_constraints=False, exclude=["payment", "actor"])
        refund.save()
        payment.refunded_amount = payment.refunded_amount + amount
        message = f"refunded {amount} {payment.currency}" + (f": {reason}" if reason else "")
        if payment.is_fully_refunded():
            _apply(payment, "refund", message=message)
        else:
            payment.save(update_fields=["refunded_amount", "updated_at"])
            _event(
                payment,
                Event.REFUND,
                "refund",
                from_status=payment.status,
                to_status=payment.status,
                result="partial",
                gateway_reference=result.reference,
                message=message,
            )
    return refund


def payment_void(*, payment_id: int, reason: str = "") -> Payment:
    """Give back an authorization that was not captured: the payment ends failed/"voided"."""
    payment = Payment.objects.get(pk=payment_id)
    if payment.status != Status.AUTHORIZED:
        raise InvalidTransition(
            f"A payment that is {payment.status} cannot be voided.",
            details={"status": payment.status, "action": "void"},
        )
    gateway = get_gateway()
    result = _call(payment, "void", lambda: gateway.void(payment.gateway_reference))
    if result is None:
        raise GatewayTransientError("The gateway did not answer the void; try again.")
    if not result.approved:
        if result.code == "already_captured":
            return _resume(payment)
        raise PaymentError(result.message or "The gateway refused the void.")
    return _step(
        payment_id,
        "void",
        expected=Status.AUTHORIZED,
        failure_code="voided",
        failure_message=(reason or "authorization voided")[:255],
        message=reason or "voided",
    )


# --- the sweeper ----------------------------------------------------------------------------
def _settle(payment_id: int) -> Payment:
    payment = Payment.objects.select_related("order").get(pk=payment_id)
    if payment.status in Payment.TERMINAL:
        return payment
    if payment.status == Status.PENDING:
        # Never sent to the gateway, so nothing to ask: nobody is going to process it.
        return _fail(payment, "expired", "Not processed before its deadline.")
    if payment.order.status != "cancelled":
        return payment_process(payment_id=payment_id)
    # The order is gone: finish the payment without charging, or give the money back.
    payment = _resume(payment)
    if payment.status == Status.PROCESSING:
        return _fail(payment, "abandoned", "The order was cancelled before authorization.")
    if payment.status == Status.AUTHORIZED:
        return payment_void(payment_id=payment_id, reason="order cancelled")
    if payment.status == Status.COMPLETED and payment.refundable_amount > 0:
        payment_refund(payment_id=payment_id, reason="order cancelled")
        payment.refresh_from_db()
    return payment


def payments_settle_stuck(*, now: datetime | None = None, limit: int = 500) -> int:
    """Finish payments left unfinished past PAYMENT_STUCK_AFTER. Returns how many ended."""
    cutoff = (now or timezone.now()) - settings.PAYMENT_STUCK_AFTER
    ids = list(
        Payment.objects.filter(status__in=Payment.UNFINISHED, updated_at__lte=cutoff)
        .order_by("updated_at")
        .values_list("id", flat=True)[:limit]
    )
    settled = 0
    for payment_id in ids:
        try:
            payment = _settle(payment_id)
        except Exception:  # one bad payment must not stop the others; it is retried next run
            logger.exception("settling payment %s failed", payment_id)
            continue
        settled += payment.status in Payment.TERMINAL
    return settled
