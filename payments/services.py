"""Payments: creating, authorizing, capturing, voiding, refunding, and settling the unknown.

Money follows goods: the order authorizes the card, secures its goods, and only then asks for
the capture; an order that will not take the money asks for it to be given back (void or
refund). Every transition happens in one short transaction that locks the payment row, applies
the FSM transition, saves and writes a PaymentEvent. Gateway calls are made outside any
transaction, one attempt each, with idempotency keys derived from the payment's own key.

A call whose answer never came (GatewayTransientError) changes no state and propagates: the
caller (a Celery task) retries it with backoff, and ``lookup`` asks the gateway what really
happened. Only a definite answer fails a payment.
"""

import copy
import json
import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from inventory.services import reservation_extend
from payments.exceptions import (
    GatewayTransientError,
    PaymentError,
    RefundExceedsCapture,
)
from payments.gateways import GatewayStatus, Lookup, Result, get_gateway
from payments.models import Payment, PaymentEvent, Refund, StripeEvent
from payments.signals import payment_action_settled
from shop.db import atomic_bounded, update_audited
from shop.exceptions import InvalidTransition

logger = logging.getLogger(__name__)
Status = Payment.Status
Event = PaymentEvent.Kind
RefundStatus = Refund.Status
TRANSITIONS = (
    "start", "require_action", "authorize", "complete", "fail", "void", "refund", "recover",
)  # fmt: skip
CENT = Decimal("0.01")
Outcome = StripeEvent.Outcome
KEY_FIELD = "shop_key"  # the metadata field of a PaymentIntent that holds the payment's key


# --- audit and transitions ------------------------------------------------------------------
def _event(payment: Payment, kind: str, name: str, **fields) -> PaymentEvent:
    fields["message"] = str(fields.get("message", ""))[:255]
    return PaymentEvent.objects.create(payment=payment, kind=kind, name=name, **fields)


def _change(payment: Payment, name: str, fields: dict) -> str:
    """Run transition ``name`` on ``payment`` in memory and set ``fields``, checked as a save
    would check them; returns the state it was in."""
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
    # "status" is a protected FSM field: clean_fields() would try to assign it. The unique
    # idempotency key never changes; its index is the check.
    payment.full_clean(
        validate_constraints=False, validate_unique=False, exclude=["order", "status"]
    )
    return before


def _transition_event(payment: Payment, name: str, before: str, message: str) -> PaymentEvent:
    return PaymentEvent(
        payment=payment,
        kind=Event.TRANSITION,
        name=name,
        from_status=before,
        to_status=payment.status,
        gateway_reference=payment.gateway_reference,
        error_code=payment.failure_code if payment.status == Status.FAILED else "",
        message=str(message)[:255],
    )


def _apply(payment: Payment, name: str, *, message: str = "", **fields) -> Payment:
    """Run transition ``name`` on a locked payment, set ``fields``, save, audit."""
    before = _change(payment, name, fields)
    payment.save()
    _transition_event(payment, name, before, message).save()
    if before == Status.ACTION_REQUIRED and payment.status != before:
        # The customer's authentication is over: the order goes on (or is cancelled).
        transaction.on_commit(
            partial(payment_action_settled.send, sender=Payment, payment_id=payment.pk)
        )
    return payment


def _locked(payment_id: int) -> Payment:
    return Payment.objects.select_for_update().get(pk=payment_id)


def payment_transition(*, payment_id: int, transition: str, message: str = "", **fields) -> Payment:
    """Apply one transition to a payment; InvalidTransition if its state does not allow it."""
    with atomic_bounded():
        return _apply(_locked(payment_id), transition, message=message, **fields)


def _step(
    payment_id: int,
    name: str,
    *,
    expected: str,
    message: str = "",
    audit: list[PaymentEvent] = (),
    calls: int = 0,
    **fields,
) -> Payment:
    """A transition that another worker may already have made: then just the current payment.

    ``audit``: audit rows of what led here (a gateway's answer), written either way; ``calls``:
    gateway calls made for it that are not counted yet, counted either way."""
    with atomic_bounded():
        payment = _locked(payment_id)
        if audit:
            PaymentEvent.objects.bulk_create(audit)
        payment.attempts += calls
        if payment.status != expected:
            if calls:
                payment.save(update_fields=["attempts", "updated_at"])
            return payment
        return _apply(payment, name, message=message, **fields)


def _advance(
    payment: Payment,
    name: str,
    *,
    expected: str,
    message: str = "",
    audit: list[PaymentEvent] = (),
    calls: int = 0,
    **fields,
) -> Payment:
    """``_step`` for a payment the caller has just read, in one statement when it can be.

    While the payment is still ``expected``, one conditional update (its state is the
    condition, its row lock the serialisation, as ``_step``'s lock and check are) changes it
    and writes ``audit`` and the transition's own audit row with it; nothing else of the row
    is written, so fields changed meanwhile by others stay. A payment that moved meanwhile
    goes to ``_step``, which settles it under the row lock. Leaving ``action_required`` (which
    has a hook of its own) always takes ``_step``."""
    if payment.status != expected or expected == Status.ACTION_REQUIRED:
        return _step(
            payment.pk, name, expected=expected, message=message, audit=audit, calls=calls, **fields
        )
    moved = copy.copy(payment)
    before = _change(moved, name, fields)
    moved.updated_at = timezone.now()
    moved.attempts += calls
    values = {"status": moved.status, "updated_at": moved.updated_at}
    values.update({field: getattr(moved, field) for field in fields})
    if calls:
        values["attempts"] = F("attempts") + calls
    rows = [*audit, _transition_event(moved, name, before, message)]
    with atomic_bounded():
        if update_audited(Payment.objects.filter(pk=payment.pk, status=expected), values, rows):
            return moved
    return _step(
        payment.pk, name, expected=expected, message=message, audit=audit, calls=calls, **fields
    )


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
def payment_create(
    *, order, amount: Decimal, currency: str, token: str, method: str = "card"
) -> Payment:
    """A pending payment for ``order``. Keeps the card's brand and last four digits only.

    Everything is checked before anything is written, so the two rows need no savepoint of
    their own: inside the caller's transaction they are written with it, outside one in one."""
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
    # The idempotency key is new and random; its unique index refuses the impossible clash.
    payment.full_clean(
        validate_constraints=False, validate_unique=False, exclude=["order", "status"]
    )
    with transaction.atomic(savepoint=False):
        payment.save()
        _event(payment, Event.TRANSITION, "create", to_status=payment.status)
    return payment


# --- talking to the gateway -----------------------------------------------------------------
def _attempt(
    payment: Payment,
    operation: str,
    call: Callable[[], Result],
    *,
    answer: list[PaymentEvent] | None = None,
    counted: bool = False,
) -> Result:
    """One gateway call, audited and counted. GatewayTransientError propagates: the answer is
    unknown (its audit row and its count are written at once then).

    ``answer``: a list that receives the answer's audit row unsaved, for the caller to write
    with the change the answer leads to (``_advance(audit=answer, calls=1)``, which counts the
    call too); without it the call is counted before it is made and the answer written at
    once. ``counted``: the caller counted the call already (with an intent it recorded)."""
    if answer is None and not counted:
        Payment.objects.filter(pk=payment.pk).update(attempts=F("attempts") + 1)
    try:
        result = call()
    except GatewayTransientError as exc:
        if answer is not None and not counted:
            Payment.objects.filter(pk=payment.pk).update(attempts=F("attempts") + 1)
        _event(
            payment,
            Event.GATEWAY,
            operation,
            result="error",
            error_code=exc.code,
            message=f"no answer: {exc.message}",
        )
        raise
    event = PaymentEvent(
        payment=payment,
        kind=Event.GATEWAY,
        name=operation,
        result="approved" if result.approved else "declined",
        gateway_reference=result.reference,
        error_code=result.code,
        message=str(result.message or "")[:255],
    )
    if answer is None:
        event.save()
    else:
        answer.append(event)
    return result


def _lookup(payment: Payment) -> Lookup | None:
    """What the gateway holds for this payment (GatewayTransientError if it cannot say)."""
    found = get_gateway().lookup(payment.idempotency_key)
    _event(
        payment,
        Event.GATEWAY,
        "lookup",
        result=found.status if found else "unknown",
        gateway_reference=found.reference if found else "",
        error_code=found.code if found else "",
    )
    return found


def _capture_key(payment: Payment) -> str:
    return f"{payment.idempotency_key}:capture"


def _card_fields(payment: Payment, card) -> dict:
    """The card's brand and last four digits, when the gateway told them only now."""
    if card is None or payment.card_last4 or not card.last4:
        return {}
    return {"card_brand": card.brand[:20], "card_last4": card.last4}


def _hold_stock_for_authentication(payment: Payment) -> None:
    """The customer may take until the authentication expires (and the sweeper comes by):
    the order's stock waits as long."""
    ttl = settings.PAYMENT_ACTION_EXPIRES + settings.PAYMENT_STUCK_AFTER
    reservation_extend(order=payment.order_id, ttl=ttl)


def _sync(payment: Payment, found: Lookup | None) -> Payment:
    """Bring the payment to what the gateway's records say (never beyond them)."""
    if found is None:
        return payment
    status = payment.status
    waiting = (Status.PROCESSING, Status.ACTION_REQUIRED)
    if found.status == GatewayStatus.ACTION_REQUIRED:
        if status != Status.PROCESSING:
            return payment
        _hold_stock_for_authentication(payment)
        return _step(
            payment.pk,
            "require_action",
            expected=Status.PROCESSING,
            gateway_reference=found.reference,
            next_action_url=found.next_action_url,
            client_secret=found.client_secret,
            action_requested_at=timezone.now(),
        )
    if found.status == GatewayStatus.DECLINED and status in waiting:
        return _fail(payment, found.code or "declined")
    if found.status == GatewayStatus.VOIDED:
        if status == Status.AUTHORIZED:
            return _step(
                payment.pk,
                "void",
                expected=status,
                failure_code="voided",
                failure_message="The authorization was voided at the gateway.",
            )
        if status in waiting:
            return _fail(payment, "voided", "The authorization was voided at the gateway.")
        return payment
    if status in waiting and found.status in (
        GatewayStatus.AUTHORIZED,
        GatewayStatus.CAPTURED,
    ):
        payment = _step(
            payment.pk,
            "authorize",
            expected=status,
            gateway_reference=found.reference,
            next_action_url="",
            client_secret="",
        )
    if found.status == GatewayStatus.CAPTURED:
        # Authorized: the capture went through unheard. Failed: it did so after all.
        transition = {Status.AUTHORIZED: "complete", Status.FAILED: "recover"}.get(payment.status)
        if transition:
            payment = _step(
                payment.pk,
                transition,
                expected=payment.status,
                captured_amount=found.captured_amount,
                gateway_reference=found.reference,
                message="capture found at the gateway",
            )
    return payment


def payment_sync(*, payment_id: int) -> Payment:
    """Ask the gateway where the payment stands and record it (GatewayTransientError if the
    gateway cannot say). Never sends money anywhere."""
    payment = Payment.objects.get(pk=payment_id)
    return _sync(payment, _lookup(payment))


# --- authorize, capture, void ---------------------------------------------------------------
def _authorize_errors(payment: Payment) -> int:
    return PaymentEvent.objects.filter(
        payment=payment, kind=Event.GATEWAY, name="authorize", result="error"
    ).count()


def payment_authorize(
    *, payment_id: int, current: Payment | None = None, stock_held: bool = False
) -> Payment:
    """Authorize the card: the payment ends authorized, or failed on a definite decline.

    Call it outside any transaction (it talks to the gateway). An unanswered call raises
    GatewayTransientError with the payment still processing; calling again repeats the same
    idempotent request. After PAYMENT_MAX_ATTEMPTS unanswered calls the gateway is asked what
    it holds: nothing at all is a definite failure; anything else is settled to the truth.

    ``current``: the payment as the caller has just read it (not read again; every change is
    conditional on the state it shows). ``stock_held``: the caller has just pushed the
    expiry of the order's reservations, which starting the payment would do again.

    The answer's audit row, the call's count and the transition it leads to are one statement
    after the call: a crash before it leaves the payment processing without them, and the
    retry asks again under the same key, whose answer is the same."""
    payment = current if current is not None else Payment.objects.get(pk=payment_id)
    if payment.status == Status.PENDING:
        payment = _advance(payment, "start", expected=Status.PENDING)
        if not stock_held:
            # The order's stock stays reserved while its card is being authorized.
            reservation_extend(order=payment.order_id)
    if payment.status != Status.PROCESSING or payment.give_back_requested_at:
        # Already decided, waiting for the customer's authentication (the return page, a
        # webhook or the sweeper settles it), or its order no longer wants it.
        return payment
    gateway = get_gateway()
    answer: list[PaymentEvent] = []
    try:
        result = _attempt(
            payment,
            "authorize",
            lambda: gateway.authorize(
                payment.amount, payment.currency, payment.token_reference, payment.idempotency_key
            ),
            answer=answer,
        )
    except GatewayTransientError:
        if _authorize_errors(payment) < max(int(settings.PAYMENT_MAX_ATTEMPTS), 1):
            raise
        found = _lookup(payment)
        if found is None:
            return _fail(payment, "processing_error", "The gateway kept failing; gave up.")
        return _sync(payment, found)
    card = _card_fields(payment, result.card)
    if result.action_required:
        _hold_stock_for_authentication(payment)
        payment = _advance(
            payment,
            "require_action",
            expected=Status.PROCESSING,
            audit=answer,
            calls=1,
            gateway_reference=result.reference,
            next_action_url=result.next_action_url,
            client_secret=result.client_secret,
            action_requested_at=timezone.now(),
            **card,
        )
    elif not result.approved:
        code, message = result.code or "declined", result.message or "declined"
        return _advance(
            payment,
            "fail",
            expected=Status.PROCESSING,
            audit=answer,
            calls=1,
            failure_code=code[:40],
            failure_message=message[:255],
            message=message,
        )
    else:
        payment = _advance(
            payment,
            "authorize",
            expected=Status.PROCESSING,
            audit=answer,
            calls=1,
            gateway_reference=result.reference,
            **card,
        )
    if payment.status == Status.FAILED:
        # Settled as failed while this call was under way: the hold must not stay on the card.
        _void_at_gateway(payment, result.reference)
    return payment


def _void_at_gateway(payment: Payment, reference: str) -> None:
    try:
        payment_release_hold(payment_id=payment.pk, reference=reference)
    except (GatewayTransientError, PaymentError) as exc:
        logger.warning("voiding a late authorization of payment %s: %s", payment.pk, exc)


def _abandon(payment: Payment, code: str, message: str) -> Payment:
    """Give up a payment waiting for the customer's authentication: cancel it at the gateway,
    then fail it. One the customer finished meanwhile is settled to that instead (and the
    caller goes on from there). GatewayTransientError when the gateway does not answer."""
    payment = payment_sync(payment_id=payment.pk)
    if payment.status != Status.ACTION_REQUIRED:
        return payment
    result = _attempt(payment, "void", lambda: get_gateway().void(payment.gateway_reference))
    if not result.approved:
        return payment_sync(payment_id=payment.pk)
    return _fail(payment, code, message)


def payment_release_hold(*, payment_id: int, reference: str) -> None:
    """Void an authorization the gateway holds for a payment the shop already failed.

    GatewayTransientError when unanswered; PaymentError when the gateway refuses."""
    payment = Payment.objects.get(pk=payment_id)
    if payment.status != Status.FAILED:
        raise InvalidTransition(
            "Only the hold of a failed payment is released this way.",
            details={"status": payment.status, "action": "release_hold"},
        )
    result = _attempt(payment, "void", lambda: get_gateway().void(reference))
    if not result.approved and result.code != "already_captured":
        raise PaymentError(result.message or "The gateway refused the void.")


def payment_capture(*, payment_id: int, current: Payment | None = None) -> Payment:
    """Capture an authorized payment, once the goods are secured; completed, or failed when the
    gateway definitely refuses (the authorization lapsed or was voided).

    The intent is recorded first, with the call's count, and only while the payment is still
    authorized and wanted (that update is the check); an unanswered call raises
    GatewayTransientError with the payment still authorized, and repeating the call (same key)
    or a lookup settles it. ``current``: the payment as the caller has just read it."""
    payment = current if current is not None else Payment.objects.get(pk=payment_id)
    if payment.status in (Status.COMPLETED, Status.REFUNDED):
        return payment
    if payment.status != Status.AUTHORIZED or payment.give_back_requested_at:
        raise InvalidTransition(
            f"A payment that is {payment.status} cannot be captured.",
            details={"status": payment.status, "action": "capture"},
        )
    now = timezone.now()
    intent = Payment.objects.filter(
        pk=payment.pk, status=Status.AUTHORIZED, give_back_requested_at__isnull=True
    ).update(
        attempts=F("attempts") + 1,
        # The first request's time stays.
        capture_requested_at=Coalesce(F("capture_requested_at"), Value(now)),
    )
    if not intent:
        # Moved since the caller read it: completed meanwhile, or its order gave it up.
        return payment_capture(payment_id=payment.pk)
    payment = copy.copy(payment)
    payment.attempts += 1
    payment.capture_requested_at = payment.capture_requested_at or now
    gateway = get_gateway()
    answer: list[PaymentEvent] = []
    result = _attempt(
        payment,
        "capture",
        lambda: gateway.capture(payment.gateway_reference, payment.amount, _capture_key(payment)),
        answer=answer,
        counted=True,
    )
    if result.approved:
        return _advance(
            payment,
            "complete",
            expected=Status.AUTHORIZED,
            audit=answer,
            captured_amount=result.amount,
        )
    if result.code == "already_captured":
        PaymentEvent.objects.bulk_create(answer)
        return _sync(payment, _lookup(payment))
    return _advance(
        payment,
        "fail",
        expected=Status.AUTHORIZED,
        audit=answer,
        failure_code=(result.code or "capture_declined")[:40],
        failure_message=(result.message or "The gateway refused the capture.")[:255],
    )


def payment_void(*, payment_id: int, reason: str = "") -> Payment:
    """Give back an authorization that was not captured: the payment ends failed/"voided".

    If the gateway says it was captured after all, the payment is settled to completed (the
    caller then refunds it). GatewayTransientError when unanswered (nothing changes)."""
    payment = Payment.objects.get(pk=payment_id)
    if payment.status != Status.AUTHORIZED:
        raise InvalidTransition(
            f"A payment that is {payment.status} cannot be voided.",
            details={"status": payment.status, "action": "void"},
        )
    result = _attempt(payment, "void", lambda: get_gateway().void(payment.gateway_reference))
    if not result.approved:
        if result.code == "already_captured":
            return _sync(payment, _lookup(payment))
        raise PaymentError(result.message or "The gateway refused the void.")
    return _step(
        payment_id,
        "void",
        expected=Status.AUTHORIZED,
        failure_code="voided",
        failure_message=(reason or "authorization voided")[:255],
        message=reason or "voided",
    )


# --- refunds --------------------------------------------------------------------------------
def _pending_refunds(payment: Payment) -> Decimal:
    total = payment.refunds.filter(status=RefundStatus.PENDING).aggregate(s=Sum("amount"))["s"]
    return total or Decimal("0.00")


def payment_refund_record(
    *, payment_id: int, amount: Decimal | None = None, reason: str = "", actor=None
) -> Refund:
    """Record a pending refund of part or all (``amount=None``) of what was captured and not
    yet refunded, under the payment's row lock (so two refunds can never both pass the check).

    Talks to nobody: it may run inside a caller's transaction (a return records its refund
    with the restock), and ``refund_settle`` sends it once that transaction has committed."""
    with atomic_bounded():
        payment = _locked(payment_id)
        if payment.status != Status.COMPLETED:
            raise InvalidTransition(
                f"A payment that is {payment.status} cannot be refunded.",
                details={"status": payment.status, "action": "refund"},
            )
        remaining = payment.refundable_amount - _pending_refunds(payment)
        try:
            amount = remaining if amount is None else Decimal(amount).quantize(CENT)
        except (InvalidOperation, TypeError, ValueError) as exc:
            raise PaymentError("The refund amount is not a number.") from exc
        if amount <= 0:
            raise PaymentError("A refund must be positive.", details={"amount": str(amount)})
        if amount > remaining:
            raise RefundExceedsCapture(
                f"Only {remaining} {payment.currency} can still be refunded.",
                details={"requested": str(amount), "refundable": str(remaining)},
            )
        refund = Refund(
            payment=payment,
            amount=amount,
            reason=reason[:255],
            idempotency_key=f"{payment.idempotency_key}:refund:{payment.refunds.count() + 1}",
            actor=actor if getattr(actor, "pk", None) else None,
        )
        refund.full_clean(validate_constraints=False, exclude=["payment", "actor"])
        refund.save()
    return refund


def payment_refund(
    *, payment_id: int, amount: Decimal | None = None, reason: str = "", actor=None
) -> Refund:
    """Refund part or all (``amount=None``) of what was captured and not yet refunded.

    The refund is recorded as pending (``payment_refund_record``), committed, and only then
    sent to the gateway with its own idempotency key. An unanswered call leaves it pending:
    ``refund_settle`` (the sweeper) finishes it, and the same key never refunds twice."""
    refund = payment_refund_record(payment_id=payment_id, amount=amount, reason=reason, actor=actor)
    try:
        return refund_settle(refund_id=refund.pk)
    except GatewayTransientError:
        logger.warning("refund %s sent, no answer yet: it stays pending", refund.pk)
        return refund


def refund_settle(*, refund_id: int) -> Refund:
    """Send a pending refund to the gateway (again: same key) and record its answer.

    GatewayTransientError when the gateway does not answer; the refund stays pending."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:
        return refund
    payment = refund.payment
    gateway = get_gateway()
    result = _attempt(
        payment,
        "refund",
        lambda: gateway.refund(payment.gateway_reference, refund.amount, refund.idempotency_key),
    )
    with atomic_bounded():
        payment = _locked(payment.pk)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status != RefundStatus.PENDING:
            return refund
        refund.gateway_reference = result.reference
        refund.settled_at = timezone.now()
        if not result.approved:
            refund.status, refund.failure_code = RefundStatus.FAILED, (result.code or "")[:40]
            refund.save()
            _event(
                payment,
                Event.REFUND,
                "refund",
                from_status=payment.status,
                to_status=payment.status,
                result="declined",
                error_code=result.code,
                message=result.message or "the gateway refused the refund",
            )
            return refund
        refund.status = RefundStatus.SUCCEEDED
        refund.save()
        payment.refunded_amount = payment.refunded_amount + refund.amount
        message = f"refunded {refund.amount} {payment.currency}" + (
            f": {refund.reason}" if refund.reason else ""
        )
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


# --- giving the money back ------------------------------------------------------------------
def payment_give_back_request(*, payment_id: int, reason: str = "") -> Payment:
    """Record that the payment's order will not take the money (call it in the transaction
    that cancels the order). A payment never sent to the gateway fails here and now; for the
    rest, ``payment_give_back`` talks to the gateway after the commit."""
    with atomic_bounded():
        payment = _locked(payment_id)
        if payment.give_back_requested_at is None:
            payment.give_back_requested_at = timezone.now()
            payment.save(update_fields=["give_back_requested_at", "updated_at"])
            _event(
                payment,
                Event.TRANSITION,
                "give_back",
                from_status=payment.status,
                to_status=payment.status,
                message=reason or "the order no longer takes this payment",
            )
        if payment.status == Status.PENDING:
            payment = _apply(
                payment,
                "fail",
                message=reason or "order cancelled",
                failure_code="order_cancelled",
                failure_message="the order was cancelled",
            )
    return payment


def owes_money_back(payment: Payment) -> bool:
    """Does the customer still have money held or taken that they must get back?"""
    if payment.status in (Status.PROCESSING, Status.ACTION_REQUIRED, Status.AUTHORIZED):
        return True
    pending = _pending_refunds(payment) if payment.status == Status.COMPLETED else 0
    return payment.status == Status.COMPLETED and payment.refundable_amount - pending > 0


def payment_give_back(*, payment_id: int, reason: str = "", now: datetime | None = None) -> Payment:
    """Make sure the customer ends up holding all their money: void what is authorized, refund
    what was captured, settle what is unknown. Idempotent; GatewayTransientError when the
    gateway cannot be reached (the sweeper comes back to it). ``now`` is the sweeper's clock."""
    payment = payment_give_back_request(payment_id=payment_id, reason=reason)
    reason = reason or "order cancelled"
    if payment.status == Status.ACTION_REQUIRED:
        payment = _abandon(payment, "order_cancelled", "The order was cancelled.")
    if payment.status == Status.PROCESSING:
        payment = payment_sync(payment_id=payment_id)
        if payment.status == Status.PROCESSING:
            # The gateway never saw it. Only once no attempt can still be on its way is that
            # final; until then the payment stays processing and the sweeper comes back.
            quiet_since = (now or timezone.now()) - settings.PAYMENT_STUCK_AFTER
            if payment.updated_at > quiet_since:
                return payment
            return _fail(payment, "abandoned", "The order was cancelled before authorization.")
    if payment.status == Status.AUTHORIZED and payment.capture_requested_at:
        payment = payment_sync(payment_id=payment_id)  # the capture may have gone through
    if payment.status == Status.AUTHORIZED:
        payment = payment_void(payment_id=payment_id, reason=reason)
    if payment.status == Status.COMPLETED:
        # A refund sent before whose answer never came is asked for again (same key) first:
        # owes_money_back already counts it as given back, so it cannot be the gate here.
        for refund in payment.refunds.filter(status=RefundStatus.PENDING):
            refund_settle(refund_id=refund.pk)
        payment.refresh_from_db()
        if owes_money_back(payment):
            refund = payment_refund(payment_id=payment_id, reason=reason)
            if refund.status == RefundStatus.PENDING:
                raise GatewayTransientError("The refund is sent but not yet answered.")
        payment.refresh_from_db()
    return payment


# --- the sweeper ----------------------------------------------------------------------------
def _settle(payment_id: int, now: datetime) -> Payment:
    payment = Payment.objects.get(pk=payment_id)
    if payment.give_back_requested_at:
        return payment_give_back(payment_id=payment_id, now=now)
    if payment.status == Status.PROCESSING:
        payment = payment_sync(payment_id=payment_id)
        if payment.status == Status.PROCESSING:  # the gateway never saw it, and never will
            return _fail(payment, "processing_error", "Not authorized before its deadline.")
        return payment
    if payment.status == Status.AUTHORIZED and payment.capture_requested_at:
        return payment_sync(payment_id=payment_id)
    if payment.status == Status.ACTION_REQUIRED:
        # The return page or a webhook normally settles it; past its expiry it is given up.
        payment = payment_sync(payment_id=payment_id)
        expired = now - settings.PAYMENT_ACTION_EXPIRES
        requested = payment.action_requested_at or payment.updated_at
        if payment.status == Status.ACTION_REQUIRED and requested <= expired:
            return _abandon(
                payment,
                "authentication_abandoned",
                "The card's authentication was not completed in time.",
            )
        return payment
    # Authorized, no capture asked for: the order decides (its own sweeper resumes it).
    return payment


def payments_settle_stuck(*, now: datetime | None = None, limit: int = 500) -> int:
    """Settle what was left unfinished past PAYMENT_STUCK_AFTER: unknown answers are looked
    up, money the order gave up is given back, pending refunds are sent again. Never captures:
    that is the order's decision. Returns how many payments reached a terminal state."""
    now = now or timezone.now()
    cutoff = now - settings.PAYMENT_STUCK_AFTER
    # A pending payment was never sent to the gateway: its order starts it, and the stuck-order
    # sweeper resumes that order, so a worker outage delays orders instead of cancelling them.
    # (A cancelled order's pending payment fails in the cancel's own transaction.)
    unfinished = [Status.PROCESSING, Status.ACTION_REQUIRED, Status.AUTHORIZED]
    stuck = Payment.objects.filter(status__in=unfinished, updated_at__lte=cutoff)
    owed = Payment.objects.filter(
        status=Status.COMPLETED, give_back_requested_at__isnull=False, updated_at__lte=cutoff
    ).filter(captured_amount__gt=F("refunded_amount"))
    ids = list(
        (stuck | owed).order_by("updated_at").values_list("id", flat=True).distinct()[:limit]
    )
    settled = 0
    for payment_id in ids:
        try:
            payment = _settle(payment_id, now)
        except Exception:  # one bad payment must not stop the others; it is retried next run
            logger.exception("settling payment %s failed", payment_id)
            continue
        settled += payment.status in Payment.TERMINAL
    refunds = list(
        Refund.objects.filter(status=RefundStatus.PENDING, at__lte=cutoff).values_list(
            "id", flat=True
        )[:limit]
    )
    for refund_id in refunds:
        try:
            refund_settle(refund_id=refund_id)
        except Exception:
            logger.exception("settling refund %s failed", refund_id)
    return settled


@transaction.atomic
def payment_tokens_forget(*, order_ids: list[int]) -> int:
    """An erased account: forget the card tokens of the orders' settled payments (brand and
    last four digits stay, the accounts need them). Returns how many payments were changed."""
    return (
        Payment.objects.filter(order_id__in=list(order_ids), status__in=Payment.TERMINAL)
        .exclude(token_reference="")
        .update(token_reference="")
    )


# --- Stripe's webhook events ----------------------------------------------------------------
# Stripe's webhook events: verified and stored once by the view, applied by a task.
#
# An event says *that* a PaymentIntent or a refund changed, not what the shop must do: applying
# it asks Stripe where the payment stands now (``payment_sync``, the same service the shop uses
# after a lost answer) and settles pending refunds under their own keys. So events may come in
# any order, twice, or before the shop heard the answer to its own request, and the payment
# still only ever moves to where Stripe's records are. Events of other types are acknowledged
# and ignored.


def stripe_event_receive(*, event: dict) -> tuple[StripeEvent, bool]:
    """Store a verified event unless its id is known; True when it is new (and enqueued)."""
    from payments.tasks import stripe_event_process_task

    try:
        with transaction.atomic():
            stored = StripeEvent(
                event_id=event["id"],
                type=str(event.get("type", ""))[:100],
                payload=json.dumps(event),
            )
            stored.full_clean(validate_unique=False)
            stored.save()
            transaction.on_commit(partial(stripe_event_process_task.delay, event_id=stored.pk))
    except IntegrityError:
        return StripeEvent.objects.get(event_id=event["id"]), False
    return stored, True


def _payment_of(intent: dict) -> Payment | None:
    key = (intent.get("metadata") or {}).get(KEY_FIELD)
    if key:
        found = Payment.objects.filter(idempotency_key=key).first()
        if found is not None:
            return found
    reference = intent.get("id") or ""
    return Payment.objects.filter(gateway_reference=reference).first() if reference else None


def _intent_of(event: dict) -> dict | None:
    """The PaymentIntent an event is about, as far as the event itself says."""
    obj = (event.get("data") or {}).get("object") or {}
    kind = event.get("type", "")
    if kind.startswith("payment_intent."):
        return obj
    if kind.startswith(("charge.", "refund.")) and obj.get("payment_intent"):
        intent = obj["payment_intent"]
        return intent if isinstance(intent, dict) else {"id": intent}
    return None


def stripe_event_process(*, event_id: int) -> StripeEvent:
    """Apply one stored event (safe to run twice; GatewayTransientError when Stripe cannot be
    asked, and the task retries)."""
    stored = StripeEvent.objects.get(pk=event_id)
    if stored.processed_at is not None:
        return stored
    event = json.loads(stored.payload)
    intent = _intent_of(event)
    outcome = Outcome.IGNORED
    if intent is not None:
        payment = _payment_of(intent)
        if payment is None:
            outcome = Outcome.UNKNOWN_PAYMENT
            logger.warning("stripe event %s: no payment for %s", stored.event_id, intent.get("id"))
        else:
            payment_sync(payment_id=payment.pk)
            for refund_id in Refund.objects.filter(
                payment=payment, status=Refund.Status.PENDING
            ).values_list("id", flat=True):
                refund_settle(refund_id=refund_id)
            outcome = Outcome.APPLIED
    StripeEvent.objects.filter(pk=stored.pk, processed_at__isnull=True).update(
        outcome=outcome, processed_at=timezone.now()
    )
    stored.refresh_from_db()
    return stored
