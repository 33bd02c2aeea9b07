"""Money follows goods under any interleaving: a hypothesis state machine places orders with
every test card, processes them (one attempt at a time, as a retrying task does), abandons
processing at any step as a killed worker would, cancels, lets reservations lapse, refunds,
and runs the sweepers, in random orders. After every step the stock is within its bounds and
matches its ledger, no payment is captured twice, paid orders have their stock committed and
exactly their money taken, and cancelled orders hold none or are left in a state the sweeper
finishes. At the end, after the sweepers and the reconciliation, every payment is settled and
the gateway holds exactly what the orders owe.

Runs in one process (no worker): each example is rolled back to a savepoint, and what a
commit would set off (giving money back, mails) runs at the end of the step that caused it.

The defaults (30 examples of up to 20 steps) take about 10 s on SQLite and 20 s on
PostgreSQL, with a fixed seed: CI runs the same examples every time. To search longer, e.g.
MONEY_PROPERTIES_EXAMPLES=500 MONEY_PROPERTIES_STEPS=50 pytest tests/orders/test_money_properties.py
"""

import contextlib
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import hypothesis
import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Prefetch, Q, Sum
from django.test import TestCase
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from inventory.exceptions import InsufficientStock
from inventory.models import Reservation, StockItem
from inventory.selectors import ledger_totals
from inventory.services import reservations_expire, stock_add
from orders import services
from orders.exceptions import OrderNotCancellable
from orders.models import Order, OrderEvent, OrderStatus, ReconciliationIssue
from orders.services import lifecycle
from orders.tasks import order_process_task
from payments import services as payment_services
from payments.exceptions import GatewayTransientError
from payments.gateways.test import TestGateway
from payments.models import Payment, Refund, TestGatewayCharge
from payments.services import payment_refund, payments_settle_stuck
from tests.factories import ProductFactory, UserFactory
from tests.orders.conftest import ADDRESS

pytestmark = pytest.mark.django_db

PaymentStatus = Payment.Status
ResState = Reservation.State
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
TOKENS = [
    "tok_visa",
    "tok_chargeDeclined",
    "tok_authorizeLost",
    "tok_captureLost",
    "tok_processingError",
]
HYPOTHESIS = hypothesis.settings(
    max_examples=int(os.environ.get("MONEY_PROPERTIES_EXAMPLES", "30")),
    stateful_step_count=int(os.environ.get("MONEY_PROPERTIES_STEPS", "20")),
    derandomize=True,  # the same examples on every run
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class Crash(Exception):
    """Stands for the worker dying at this point of processing."""


# Where a processing attempt is abandoned: (object, attribute, before or after the call).
CRASH_POINTS = {
    "the payment started, its authorization not sent": (
        payment_services,
        "reservation_extend",
        "before",
    ),
    "the gateway authorized, its answer not recorded": (TestGateway, "authorize", "after"),
    "authorized, the goods not secured": (lifecycle, "_order_secure_goods", "before"),
    "the stock committed, the capture not asked for": (lifecycle, "payment_capture", "before"),
    "the capture asked for, the gateway not reached": (TestGateway, "capture", "before"),
    "the gateway captured, its answer not recorded": (TestGateway, "capture", "after"),
    "the capture recorded, paid_at not written": (lifecycle, "_order_paid", "before"),
}


def crashing(original, when: str):
    def call(*args, **kwargs):
        if when == "before":
            raise Crash(original.__name__)
        original(*args, **kwargs)
        raise Crash(original.__name__)

    return call


def losing_the_answer(original):
    def call(*args, **kwargs):
        original(*args, **kwargs)
        raise GatewayTransientError("The answer was lost on the way back.")

    return call


def later():
    """A moment past every deadline: reservations lapsed, stuck payments due for the sweeper."""
    deadlines = (django_settings.INVENTORY_RESERVATION_TTL, django_settings.PAYMENT_STUCK_AFTER)
    return timezone.now() + max(deadlines) + timedelta(minutes=1)


# --- what the gateway and the shop hold, in a few queries per step --------------------------
@dataclass(frozen=True)
class Held:
    """The gateway's side of one payment: approved captures, captured less refunded, and
    whether an authorization is still open on the card."""

    captures: int = 0
    net: Decimal = ZERO
    open_hold: bool = False


def gateway_view() -> dict[int, Held]:
    """Held, by payment id, read from the gateway's records (not through lookup(), which
    opens a connection of its own per question)."""
    payment_of_key = dict(Payment.objects.values_list("idempotency_key", "pk"))
    payment_of_auth = dict(
        TestGatewayCharge.objects.filter(
            idempotency_key__in=list(payment_of_key), operation="authorize", approved=True
        ).values_list("reference", "idempotency_key")
    )
    records = defaultdict(list)
    for operation, parent, amount in TestGatewayCharge.objects.filter(
        parent_reference__in=list(payment_of_auth), approved=True
    ).values_list("operation", "parent_reference", "amount"):
        records[payment_of_key[payment_of_auth[parent]]].append((operation, amount))
    view = {pk: Held() for pk in payment_of_key.values()}
    for key in payment_of_auth.values():
        pk = payment_of_key[key]
        amounts = {
            op: sum((amount for kind, amount in records[pk] if kind == op), ZERO)
            for op in ("capture", "refund")
        }
        captures = sum(kind == "capture" for kind, _ in records[pk])
        voided = any(kind == "void" for kind, _ in records[pk])
        view[pk] = Held(
            captures, amounts["capture"] - amounts["refund"], not captures and not voided
        )
    return view


def pending_refunds() -> dict[int, Decimal]:
    """Refunds sent whose answer never came, by payment id."""
    pending = Refund.objects.filter(status=Refund.Status.PENDING)
    return dict(pending.values("payment").annotate(s=Sum("amount")).values_list("payment", "s"))


def orders_with_payment():
    """(order, its payment, the states of its reservations) for every order, loading only the
    fields the checks read (the rest is encrypted, and decrypting it every step is slow)."""
    payments = Payment.objects.only(
        "order_id", "status", "captured_amount", "refunded_amount", "give_back_requested_at"
    )
    reservations = Reservation.objects.only("order_id", "state")
    orders = (
        Order.objects.only("number", "status", "paid_at", "total")
        .prefetch_related(Prefetch("payments", payments), Prefetch("reservations", reservations))
        .order_by("pk")
    )
    for order in orders:
        (payment,) = order.payments.all()
        yield order, payment, {r.state for r in order.reservations.all()}


class MoneyFollowsGoods(RuleBasedStateMachine):
    orders = Bundle("orders")

    def __init__(self):
        super().__init__()
        self._example = transaction.atomic()
        self._example.__enter__()
        self.user = UserFactory()
        self.products = []
        for quantity, price in ((5, "20.00"), (3, "7.50")):
            product = ProductFactory(price=Decimal(price))
            stock_add(product_id=product.pk, quantity=quantity, reason="delivery")
            self.products.append(product)

    # --- helpers ----------------------------------------------------------------------------
    def _attempt(self, order_id: int) -> bool:
        """One run of the processing task; False when an unanswered gateway call cut it short
        (the task retries it later)."""
        with TestCase.captureOnCommitCallbacks(execute=True):
            try:
                services.order_process(order_id=order_id)
            except GatewayTransientError:
                return False
        return True

    def _payment(self, order_id: int) -> Payment:
        return Payment.objects.get(order_id=order_id)

    def _settle_payments(self) -> None:
        with TestCase.captureOnCommitCallbacks(execute=True):
            payments_settle_stuck(now=later())

    def _resume_orders(self) -> None:
        resumed = []
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(order_process_task, "delay", lambda *, order_id: resumed.append(order_id))
            services.orders_resume_stuck(older_than=timedelta(0))
        for order_id in resumed:
            self._attempt(order_id)

    def _sweep(self, payments_first: bool = True) -> None:
        """The periodic jobs, due at about the same time, in either order: stuck payments
        settled, stuck orders processed again."""
        jobs = [self._settle_payments, self._resume_orders]
        for job in jobs if payments_first else reversed(jobs):
            job()

    def _place(self, token, which, quantity):
        # Processing is enqueued on commit; here it is a rule of its own, so nothing runs now.
        try:
            order = services.order_place(
                user=self.user,
                shipping_address=ADDRESS,
                payment_token=token,
                lines=[(self.products[which].pk, quantity)],
            )
        except InsufficientStock:
            return multiple()
        return order.pk

    # --- rules ------------------------------------------------------------------------------
    ORDER = {
        "token": st.sampled_from(TOKENS),
        "which": st.integers(0, 1),
        "quantity": st.integers(1, 3),
    }

    @initialize(target=orders, **ORDER)
    def place_first(self, token, which, quantity):
        """Every example starts with an order, so more of its steps have one to act on."""
        return self._place(token, which, quantity)

    @rule(target=orders, **ORDER)
    def place(self, token, which, quantity):
        return self._place(token, which, quantity)

    @rule(order_id=orders, attempts=st.integers(1, 3))
    def process(self, order_id, attempts):
        """The task, run ``attempts`` times (its retries), or until an attempt is not cut short."""
        for _ in range(attempts):
            if self._attempt(order_id):
                return

    @rule(order_id=orders, point=st.sampled_from(sorted(CRASH_POINTS)))
    def kill(self, order_id, point):
        """A processing attempt dies at ``point``; what its commits would have set off after
        that is lost with it."""
        target, name, when = CRASH_POINTS[point]
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(target, name, crashing(getattr(target, name), when))
            with (
                TestCase.captureOnCommitCallbacks(execute=False),
                contextlib.suppress(Crash, GatewayTransientError),
            ):
                services.order_process(order_id=order_id)

    @rule(order_id=orders)
    def cancel(self, order_id):
        with (
            TestCase.captureOnCommitCallbacks(execute=True),
            contextlib.suppress(OrderNotCancellable),
        ):
            services.order_cancel(
                order_id=order_id, actor=OrderEvent.Actor.CUSTOMER, reason="changed my mind"
            )

    def _refundable(self) -> list[int]:
        pending = pending_refunds()
        return [
            p.order_id
            for p in Payment.objects.filter(status=PaymentStatus.COMPLETED)
            if p.refundable_amount - pending.get(p.pk, ZERO) > 0
        ]

    @precondition(lambda self: self._refundable())
    @rule(data=st.data(), percent=st.integers(1, 100), answer_lost=st.booleans())
    def refund(self, data, percent, answer_lost):
        """Staff refund part or all of what is left; the gateway's answer may be lost (the
        refund is made, the shop keeps it pending until it asks again)."""
        order_id = data.draw(st.sampled_from(self._refundable()), label="order")
        payment = self._payment(order_id)
        left = payment.refundable_amount - pending_refunds().get(payment.pk, ZERO)
        amount = max(CENT, (left * percent / 100).quantize(CENT))
        with pytest.MonkeyPatch.context() as patch:
            if answer_lost:
                patch.setattr(TestGateway, "refund", losing_the_answer(TestGateway.refund))
            with TestCase.captureOnCommitCallbacks(execute=True):
                refund = payment_refund(payment_id=payment.pk, amount=amount, reason="goodwill")
        expected = Refund.Status.PENDING if answer_lost else Refund.Status.SUCCEEDED
        assert refund.status == expected

    @rule(
        what=st.sampled_from(["reservations lapse", "payments swept first", "orders swept first"])
    )
    def time_passes(self, what):
        """Past every deadline: the reservation sweeper, or the payment and order sweepers (in
        either order: both fall due together). After the sweepers no cancelled order holds
        money any more."""
        if what == "reservations lapse":
            reservations_expire(now=later())
            return
        self._sweep(payments_first=what == "payments swept first")
        self.assert_cancelled_orders_hold_nothing("swept")

    # --- invariants -------------------------------------------------------------------------
    @invariant()
    def stock_within_bounds_and_ledger(self):
        for item in StockItem.objects.filter(pk__in=[p.pk for p in self.products]):
            assert 0 <= item.reserved <= item.quantity, (item.product_id, item.reserved)
            assert ledger_totals(item.pk) == (item.quantity, item.reserved), item.product_id

    @invariant()
    def money_follows_goods(self):
        """Nothing is captured twice; a paid order has its goods and exactly its money; a
        cancelled one has its goods back and holds no money, or its payment is where the
        sweeper will give that money back."""
        view, pending = gateway_view(), pending_refunds()
        for payment_id, held in view.items():
            assert held.captures <= 1, f"payment {payment_id} captured {held.captures} times"
        for order, payment, states in orders_with_payment():
            held = view[payment.pk]
            if order.status == OrderStatus.CANCELLED:
                assert not states & {ResState.ACTIVE, ResState.COMMITTED}, (order.number, states)
                if held.net or held.open_hold:
                    assert payment.give_back_requested_at is not None, (order.number, held)
                    swept = payment.status in Payment.UNFINISHED or (
                        payment.status == PaymentStatus.COMPLETED and payment.refundable_amount > 0
                    )
                    assert swept or payment.pk in pending, (
                        f"order {order.number} is cancelled, the gateway holds {held}, and its "
                        f"payment ({payment.status}) is out of the sweeper's reach"
                    )
            elif order.paid_at is not None:
                assert states == {ResState.COMMITTED}, (order.number, states)
                assert payment.status in (PaymentStatus.COMPLETED, PaymentStatus.REFUNDED)
                owed = order.total - payment.refunded_amount
                # A refund whose answer was lost may be made or not: the shop asks again.
                low = owed - pending.get(payment.pk, ZERO)
                assert low <= held.net <= owed, (order.number, held, owed)

    def assert_cancelled_orders_hold_nothing(self, when: str) -> None:
        view = gateway_view()
        for order, payment, _ in orders_with_payment():
            if order.status == OrderStatus.CANCELLED:
                held = view[payment.pk]
                assert (held.net, held.open_hold) == (ZERO, False), (when, order.number, held)

    # --- the end of an example --------------------------------------------------------------
    def teardown(self):
        try:
            if not transaction.get_rollback():
                self._check_settled()
        finally:
            transaction.set_rollback(True)
            self._example.__exit__(None, None, None)

    def _check_settled(self):
        self._sweep()
        self._sweep()  # an order resumed by the first may have left a payment to settle
        report = services.payments_reconcile(fix=True)
        assert services.money_differences() == []
        open_issues = ReconciliationIssue.objects.filter(status=ReconciliationIssue.Status.OPEN)
        assert list(open_issues.values_list("kind", "message")) == [], report.counts()
        live = ~Q(order__status=OrderStatus.CANCELLED) & Q(order__paid_at__isnull=True)
        unsettled = Payment.objects.exclude(status__in=Payment.TERMINAL).exclude(
            Q(status=PaymentStatus.AUTHORIZED) & live
        )
        assert list(unsettled.values_list("pk", "status", "order__status")) == []
        self.assert_cancelled_orders_hold_nothing("at the end")


def test_money_follows_goods_in_any_interleaving(settings):
    settings.PAYMENT_GATEWAY = "payments.gateways.test.TestGateway"
    settings.PAYMENT_MAX_ATTEMPTS = 3
    run_state_machine_as_test(MoneyFollowsGoods, settings=HYPOTHESIS)
