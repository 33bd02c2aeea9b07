"""Reconciliation: the shop's payments, refunds and orders against the gateway's own records.

For every payment it asks the gateway (``lookup``) what it holds and compares:

- states: a payment the shop left unfinished or recorded wrongly is settled to the gateway's
  truth (certain, so repaired); a hold on the card of a failed payment is voided (repaired);
- refunds: pending refunds are sent again under their own keys (repaired); confirmed amounts
  that differ are flagged;
- orders: a cancelled order, or one whose payment failed, must hold no money: whatever the
  gateway still holds is given back (repaired); a paid order must have exactly its total
  captured (flagged otherwise, since which side is right needs a person).

Repairs run only with ``fix=True``; every difference is written as a ReconciliationIssue
(``fixed`` or ``open``) that staff see in the admin and ``/metrics`` counts. After a run with
fixes, for every order: captured - refunded at the gateway equals what the order owes, its
total less the refunds the shop granted if it is paid and not cancelled, else 0.
"""

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from orders.models import Order, OrderStatus, ReconciliationIssue
from payments.exceptions import GatewayTransientError, PaymentError
from payments.gateways import GatewayStatus, Lookup, get_gateway
from payments.models import Payment, Refund
from payments.services import (
    payment_give_back,
    payment_release_hold,
    payment_sync,
    refund_settle,
)

logger = logging.getLogger(__name__)
ZERO = Decimal("0.00")
PaymentStatus = Payment.Status
IssueStatus = ReconciliationIssue.Status


@dataclass
class Report:
    checked: int = 0
    unreachable: int = 0
    found: Counter = field(default_factory=Counter)
    fixed: Counter = field(default_factory=Counter)

    def counts(self) -> dict:
        return {
            "checked": self.checked,
            "unreachable": self.unreachable,
            "found": sum(self.found.values()),
            "fixed": sum(self.fixed.values()),
            "open": sum(self.found.values()) - sum(self.fixed.values()),
        }


def gateway_net(found: Lookup | None) -> Decimal:
    """What the gateway holds as taken from the customer: captured less refunded."""
    if found is None or found.status != GatewayStatus.CAPTURED:
        return ZERO
    return found.captured_amount - found.refunded_amount


def order_owed(order: Order) -> Decimal:
    """What the customer owes for ``order`` now: its total less the refunds the shop granted,
    if it is paid and not cancelled; otherwise nothing."""
    if order.status == OrderStatus.CANCELLED or order.paid_at is None:
        return ZERO
    refunded = sum((p.refunded_amount for p in order.payments.all()), ZERO)
    return order.total - refunded


def _in_flight(payment: Payment, now) -> bool:
    """Too recent to judge: a worker may be talking to the gateway about it right now."""
    young = payment.updated_at > now - settings.PAYMENT_STUCK_AFTER
    return young and payment.status in Payment.UNFINISHED


class _Run:
    def __init__(self, *, fix: bool):
        self.fix = fix
        self.report = Report()
        self.now = timezone.now()

    def issue(self, payment: Payment, kind: str, message: str, *, fixed: bool, **details):
        self.report.found[kind] += 1
        if fixed:
            self.report.fixed[kind] += 1
        details = {key: str(value) for key, value in details.items()}
        if fixed:
            ReconciliationIssue.objects.create(
                order_id=payment.order_id,
                payment=payment,
                kind=kind,
                status=IssueStatus.FIXED,
                message=message[:255],
                details=details,
            )
            return
        ReconciliationIssue.objects.update_or_create(
            payment=payment,
            kind=kind,
            status=IssueStatus.OPEN,
            defaults={"order_id": payment.order_id, "message": message[:255], "details": details},
        )
        logger.warning("reconciliation: payment %s: %s", payment.pk, message)

    def repair(self, payment: Payment, kind: str, message: str, action, **details) -> bool:
        """Flag a difference, and repair it with ``action`` when fixing; True if repaired."""
        if not self.fix:
            self.issue(payment, kind, message, fixed=False, **details)
            return False
        try:
            action()
        except (GatewayTransientError, PaymentError) as exc:
            self.issue(payment, kind, f"{message} (repair failed: {exc})", fixed=False, **details)
            return False
        self.issue(payment, kind, message, fixed=True, **details)
        return True

    # --- one payment ------------------------------------------------------------------------
    def check(self, payment: Payment) -> None:
        gateway = get_gateway()
        try:
            found = gateway.lookup(payment.idempotency_key)
        except GatewayTransientError:
            self.report.unreachable += 1
            return
        self.report.checked += 1
        before = sum(self.report.found.values())
        self.check_state(payment, found)
        payment.refresh_from_db()
        self.check_refunds(payment)
        payment.refresh_from_db()
        try:
            found = gateway.lookup(payment.idempotency_key)
        except GatewayTransientError:
            self.report.unreachable += 1
            return
        self.check_amounts(payment, found)
        if sum(self.report.found.values()) == before:
            # Nothing differs any more: what was open about this payment is settled.
            ReconciliationIssue.objects.filter(payment=payment, status=IssueStatus.OPEN).update(
                status=IssueStatus.RESOLVED, updated_at=self.now
            )

    def check_state(self, payment: Payment, found: Lookup | None) -> None:
        status = payment.status
        gw = found.status if found else "none"
        settles = {
            PaymentStatus.PROCESSING: set(GatewayStatus),
            PaymentStatus.ACTION_REQUIRED: set(GatewayStatus) - {GatewayStatus.ACTION_REQUIRED},
            PaymentStatus.AUTHORIZED: {GatewayStatus.CAPTURED, GatewayStatus.VOIDED},
            PaymentStatus.FAILED: {GatewayStatus.CAPTURED},
        }
        if gw in settles.get(status, ()):
            self.repair(
                payment,
                "state_differs",
                f"The shop has the payment {status}, the gateway has it {gw}.",
                lambda: payment_sync(payment_id=payment.pk),
                shop=status,
                gateway=gw,
            )
        elif status == PaymentStatus.FAILED and gw == GatewayStatus.AUTHORIZED:
            self.repair(
                payment,
                "hold_on_failed_payment",
                "The payment failed, yet the gateway holds an authorization: voided.",
                lambda: payment_release_hold(payment_id=payment.pk, reference=found.reference),
                gateway=gw,
            )
        elif (
            status in (PaymentStatus.COMPLETED, PaymentStatus.REFUNDED)
            and gw != GatewayStatus.CAPTURED
        ):
            self.issue(
                payment,
                "capture_missing",
                f"The shop has the payment {status}, the gateway has no capture ({gw}).",
                fixed=False,
                shop=status,
                gateway=gw,
            )

    def check_refunds(self, payment: Payment) -> None:
        for refund in payment.refunds.filter(status=Refund.Status.PENDING):
            self.repair(
                payment,
                "refund_pending",
                f"Refund {refund.pk} of {refund.amount} was never answered: sent again.",
                lambda refund_id=refund.pk: refund_settle(refund_id=refund_id),
                refund=refund.pk,
            )

    def check_amounts(self, payment: Payment, found: Lookup | None) -> None:
        order = payment.order
        net = gateway_net(found)
        if found is not None and found.status == GatewayStatus.CAPTURED:
            shop = (payment.captured_amount, payment.refunded_amount)
            gateway = (found.captured_amount, found.refunded_amount)
            if shop != gateway:
                self.issue(
                    payment,
                    "amounts_differ",
                    f"Captured/refunded: shop {shop[0]}/{shop[1]}, "
                    f"gateway {gateway[0]}/{gateway[1]}.",
                    fixed=False,
                    shop_captured=shop[0],
                    shop_refunded=shop[1],
                    gateway_captured=gateway[0],
                    gateway_refunded=gateway[1],
                )
        gone = order.status == OrderStatus.CANCELLED
        if gone and net > 0:
            self.repair(
                payment,
                "cancelled_order_charged",
                f"Order {order.number} is cancelled, yet {net} {payment.currency} is captured "
                "and not refunded: refunded.",
                lambda: payment_give_back(payment_id=payment.pk, reason="reconciliation"),
                held=net,
            )
        elif order.paid_at is not None and not gone and net != order_owed(order):
            self.issue(
                payment,
                "paid_order_amount_differs",
                f"Order {order.number} owes {order_owed(order)}, the gateway holds {net}.",
                fixed=False,
                owed=order_owed(order),
                held=net,
            )

    # --- the gateway's side -------------------------------------------------------------
    def check_unknown(self, *, since) -> None:
        """Money the gateway holds for payments the shop never recorded (a gateway that can
        list its records, as Stripe lists its PaymentIntents and their refunds): flagged, for
        staff to refund or explain."""
        try:
            records = get_gateway().records(since=since, until=self.now)
        except (GatewayTransientError, PaymentError):
            self.report.unreachable += 1
            return
        keys = [r.idempotency_key for r in records if r.idempotency_key]
        known = set(
            Payment.objects.filter(idempotency_key__in=keys).values_list(
                "idempotency_key", flat=True
            )
        )
        for record in records:
            found = record.lookup
            holds = found.status == GatewayStatus.AUTHORIZED or gateway_net(found) > 0
            if record.idempotency_key in known or not holds:
                continue
            self.report.found["unknown_at_gateway"] += 1
            ReconciliationIssue.objects.update_or_create(
                payment=None,
                kind="unknown_at_gateway",
                status=IssueStatus.OPEN,
                message=(
                    f"The gateway holds {found.reference} ({found.status}), unknown to the shop."
                )[:255],
                defaults={
                    "details": {
                        "reference": found.reference,
                        "key": record.idempotency_key,
                        "status": str(found.status),
                        "held": str(gateway_net(found)),
                    }
                },
            )
            logger.warning("reconciliation: %s unknown to the shop", found.reference)


def payments_reconcile(
    *,
    fix: bool = False,
    payment_ids: list[int] | None = None,
    changed_within: timedelta | None = None,
) -> Report:
    """Compare payments with the gateway; repair what is certain when ``fix``; flag the rest.

    All payments by default, or ``payment_ids``, or those changed within ``changed_within``
    (the nightly run: a gateway is not asked about years of settled payments every night)
    together with every payment that still has an open issue; the nightly run also lists the
    gateway's own records of the period and flags money held for payments the shop does not
    know. Returns the run's report."""
    run = _Run(fix=fix)
    payments = Payment.objects.select_related("order").order_by("id")
    if payment_ids is not None:
        payments = payments.filter(pk__in=list(payment_ids))
    if changed_within is not None:
        open_issues = ReconciliationIssue.objects.filter(status=IssueStatus.OPEN).values(
            "payment_id"
        )
        payments = payments.filter(
            Q(updated_at__gte=run.now - changed_within) | Q(pk__in=open_issues)
        )
    for payment in payments.iterator(chunk_size=500):
        if _in_flight(payment, run.now):
            continue
        try:
            run.check(payment)
        except Exception:  # one broken payment must not stop the nightly run
            logger.exception("reconciling payment %s failed", payment.pk)
    if changed_within is not None:
        run.check_unknown(since=run.now - changed_within)
    logger.info("reconciliation: %s", run.report.counts())
    return run.report


def money_differences(*, order_ids: list[int] | None = None) -> list[dict]:
    """Orders for which what the gateway holds (captured - refunded, over all their payments)
    differs from what they owe. Empty when the reconciliation invariant holds. Orders still on
    their way (neither paid nor cancelled) are left out: nothing is owed or settled yet."""
    gateway = get_gateway()
    orders = Order.objects.prefetch_related("payments").order_by("id")
    if order_ids is not None:
        orders = orders.filter(pk__in=list(order_ids))
    differences = []
    for order in orders.iterator(chunk_size=200):
        if order.paid_at is None and order.status != OrderStatus.CANCELLED:
            continue
        payments = order.payments.all()
        held = sum((gateway_net(gateway.lookup(p.idempotency_key)) for p in payments), ZERO)
        owed = order_owed(order)
        if held != owed:
            differences.append({"order": order.number, "owed": owed, "held": held})
    return differences
