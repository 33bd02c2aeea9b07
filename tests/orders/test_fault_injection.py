"""Faults injected while a real worker processes orders, then the recovery the shop runs in
production: the worker restarted, the sweepers (stuck payments, stuck orders) and the
reconciliation. Whatever the fault, every order ends paid once with its stock sold once, or
cancelled with its stock back and no money held; nothing is captured twice at the gateway; the
stock ledger sums to the levels; and the gateway holds exactly what the orders owe.

The faults come from ``tests.faults.FaultyGateway`` (the test gateway) or
``tests.faults.FaultyStripeGateway`` (the Stripe gateway against the local Stripe server): every
test runs with both. The worker and this process use the same one, switched through a file
they both read."""

import random
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import Reservation, StockItem, StockMovement
from inventory.selectors import ledger_totals
from inventory.services import reservations_expire, stock_add
from orders import services
from orders.models import Order, OrderStatus, ReconciliationIssue
from orders.services.reconciliation import gateway_net
from payments.gateways.stripe import StripeGateway
from payments.gateways.test import TestGateway
from payments.models import Payment, PaymentEvent, Refund, TestGatewayCharge
from payments.services import owes_money_back, payment_refund, payments_settle_stuck
from tests.factories import ProductFactory, UserFactory
from tests.faults import ENV, STRIPE_GATEWAY, Faults
from tests.fixtures import STRIPE_WEBHOOK_SECRET
from tests.orders.conftest import order_payload
from tests.utils import requires_worker
from tests.worker import running_worker, wait_until

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    requires_worker,
]
PaymentStatus = Payment.Status
ResState = Reservation.State
WAIT = 30  # seconds: every wait here normally ends within a few


# --- fixtures and helpers -------------------------------------------------------------------
class TestSide:
    """The test gateway's own records: what the "remote side" holds."""

    __test__ = False
    tokens: dict[str, str] = {}

    def lookup(self, key: str):
        return TestGateway().lookup(key)

    def captures(self, pay: Payment) -> int:
        auths = TestGatewayCharge.objects.filter(
            idempotency_key=pay.idempotency_key, operation="authorize", approved=True
        ).values_list("reference", flat=True)
        return TestGatewayCharge.objects.filter(
            parent_reference__in=list(auths), operation="capture", approved=True
        ).count()


class StripeSide:
    """The local Stripe server's records, read through the (fault-free) Stripe gateway."""

    # The test gateway's tokens as Stripe's test PaymentMethods (the two "lost" ones are the
    # local server's own faults).
    tokens = {
        "tok_visa": "pm_card_visa",
        "tok_authorizeLost": "pm_card_authorizeLost",
        "tok_captureLost": "pm_card_captureLost",
    }

    def __init__(self, server):
        self.server = server

    def lookup(self, key: str):
        return StripeGateway().lookup(key)

    def captures(self, pay: Payment) -> int:
        intents = [
            i["id"]
            for i in self.server.intents.values()
            if i["metadata"].get("shop_key") == pay.idempotency_key
        ]
        return sum(self.server.captures(i) for i in intents)


remote: TestSide | StripeSide = TestSide()


@pytest.fixture(params=["test", "stripe"])
def faults(request, tmp_path, monkeypatch, settings):
    """The fault switches, all off, used by this process's gateway and the worker's: around
    the test gateway, or around the Stripe gateway talking to the local Stripe server."""
    global remote
    if request.param == "stripe":
        server = request.getfixturevalue("fake_stripe")
        env = {
            "STRIPE_API_BASE": server.url,
            "STRIPE_SECRET_KEY": server.api_key,
            "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET,
            "STRIPE_MAX_NETWORK_RETRIES": "0",
        }
        switches = Faults(tmp_path / "faults.json", gateway=STRIPE_GATEWAY, env=env)
        remote = StripeSide(server)
    else:
        switches = Faults(tmp_path / "faults.json")
        remote = TestSide()
    switches.set()
    monkeypatch.setenv(ENV, str(switches.path))
    settings.PAYMENT_GATEWAY = switches.gateway
    yield switches
    remote = TestSide()


@pytest.fixture
def worker_env(faults):
    """The worker uses the faulty gateway and retries after a second or two, not minutes."""
    return {**faults.env(), "TASK_RETRY_BACKOFF": "1", "TASK_RETRY_BACKOFF_MAX": "2"}


@pytest.fixture
def shelf():
    """A product whose stock came in through the ledger, as every real unit does."""

    def make(quantity: int, price: str = "20.00"):
        product = ProductFactory(price=Decimal(price))
        stock_add(product_id=product.pk, quantity=quantity, reason="delivery")
        return product

    return make


def customer() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory())
    return client


def place(client: APIClient, product, quantity: int = 1, token: str = "tok_visa") -> int:
    token = remote.tokens.get(token, token)
    response = client.post(
        "/api/orders/", order_payload((product, quantity), token=token), format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def cancel(client: APIClient, order_id: int) -> None:
    response = client.post(f"/api/orders/{order_id}/cancel/")
    assert response.status_code == 200, response.content


def payment(order_id: int) -> Payment:
    return Payment.objects.get(order_id=order_id)


def payment_by_key(key: str) -> Payment:
    """The payment a gateway call was about (a capture's key is the payment's plus a suffix)."""
    return Payment.objects.get(idempotency_key=key.split(":")[0])


def approved_captures(pay: Payment) -> int:
    return remote.captures(pay)


def is_final(order: Order) -> bool:
    return order.status == OrderStatus.CANCELLED or order.paid_at is not None


def money_back(pay: Payment) -> bool:
    """A cancelled order's money has gone back, or there was never any at the gateway (the
    sweeper then closes the payment)."""
    if pay.refunds.filter(status=Refund.Status.PENDING).exists():
        return False
    if not owes_money_back(pay):
        return True
    return pay.status == PaymentStatus.PROCESSING and remote.lookup(pay.idempotency_key) is None


def settled(order_ids: list[int]):
    """Every order paid or cancelled, and every cancelled order's give-back done."""

    def check() -> bool:
        orders = list(Order.objects.filter(pk__in=order_ids))
        return all(is_final(o) for o in orders) and all(
            money_back(payment(o.pk)) for o in orders if o.status == OrderStatus.CANCELLED
        )

    return check


def describe(order_ids: list[int]) -> str:
    """Where each order, its payment and the gateway stand: what a timed-out wait reports."""
    rows = []
    for order in Order.objects.filter(pk__in=order_ids).order_by("pk"):
        pay = payment(order.pk)
        found = remote.lookup(pay.idempotency_key)
        pending = pay.refunds.filter(status=Refund.Status.PENDING).count()
        rows.append(
            f"{order.pk}: {order.status}{' paid' if order.paid_at else ''}, payment {pay.status}"
            f"{' give-back' if pay.give_back_requested_at else ''}"
            f"{' capture-asked' if pay.capture_requested_at else ''}"
            f"{f' {pending} refunds pending' if pending else ''}, "
            f"gateway {found.status if found else 'none'}"
        )
    return "\n".join(rows)


def settle(order_ids: list[int], what: str) -> None:
    try:
        wait_until(settled(order_ids), timeout=WAIT, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{describe(order_ids)}") from None


def recover():
    """What the periodic jobs do once the worker is gone: settle the stuck payments as if
    their deadline had passed, then reconcile with the gateway, repairing what is certain."""
    later = timezone.now() + django_settings.PAYMENT_STUCK_AFTER + timedelta(minutes=1)
    payments_settle_stuck(now=later)
    return services.payments_reconcile(fix=True)


def assert_consistent(order_ids: list[int], products) -> None:
    """Orders, stock, payments and the gateway agree."""
    for order in Order.objects.filter(pk__in=order_ids).prefetch_related("lines"):
        pay = payment(order.pk)
        found = remote.lookup(pay.idempotency_key)
        ordered = sum(line.quantity for line in order.lines.all())
        moved = StockMovement.objects.filter(reference=order.number).aggregate(
            quantity=Sum("delta"), reserved=Sum("reserved_delta")
        )
        states = set(Reservation.objects.filter(order=order).values_list("state", flat=True))
        where = f"order {order.number}: {order.status}, payment {pay.status}"
        assert approved_captures(pay) <= 1, f"{where}: captured twice"
        assert moved["reserved"] == 0, f"{where}: reserved units left behind"
        if order.status == OrderStatus.CANCELLED:
            assert pay.status in (PaymentStatus.FAILED, PaymentStatus.REFUNDED), where
            assert not states & {ResState.ACTIVE, ResState.COMMITTED}, (where, states)
            assert moved["quantity"] == 0, f"{where}: its units did not all come back"
            assert gateway_net(found) == 0, f"{where}: the gateway still holds money"
            assert found is None or found.status != "authorized", f"{where}: a hold is left"
        else:
            assert order.status == OrderStatus.PROCESSING and order.paid_at is not None, where
            assert pay.status in (PaymentStatus.COMPLETED, PaymentStatus.REFUNDED), where
            assert pay.captured_amount == order.total, where
            assert states == {ResState.COMMITTED}, (where, states)
            sales = StockMovement.objects.filter(reference=order.number, kind="sale")
            assert sales.count() == order.lines.count(), f"{where}: sold {sales.count()} times"
            assert moved["quantity"] == -ordered, where
            assert gateway_net(found) == order.total - pay.refunded_amount, where
    for product in products:
        item = StockItem.objects.get(pk=product.pk)
        assert ledger_totals(product.pk) == (item.quantity, item.reserved), product.sku
        assert item.reserved == 0, f"{product.sku}: {item.reserved} units still reserved"
    assert services.money_differences() == []
    open_issues = ReconciliationIssue.objects.filter(status=ReconciliationIssue.Status.OPEN)
    assert list(open_issues.values_list("kind", "message")) == []


def statuses(order_ids: list[int]) -> dict[str, int]:
    orders = Order.objects.filter(pk__in=order_ids)
    return {
        "paid": orders.filter(paid_at__isnull=False).exclude(status=OrderStatus.CANCELLED).count(),
        "cancelled": orders.filter(status=OrderStatus.CANCELLED).count(),
    }


# --- the worker killed at each step ---------------------------------------------------------
# (where the gateway call stops, the payment state the shop must have recorded before the kill;
# None: killed while the gateway call is under way).
KILL_POINTS = {
    "the gateway authorized, its answer not yet recorded": ("authorize:after", None),
    "authorized, the goods not yet secured": ("authorize:after", PaymentStatus.AUTHORIZED),
    "the stock committed, the capture not yet sent": ("capture:before", None),
    "the gateway captured, its answer not yet recorded": ("capture:after", None),
    "the capture recorded, paid_at not yet written": ("capture:after", PaymentStatus.COMPLETED),
}


def kill_after_recording(worker, faults, order_ids, keys, status) -> None:
    """Let the paused calls finish and their answer be recorded, but hold the orders' rows, so
    processing stops at its next step; kill the worker there."""
    with transaction.atomic():
        list(Order.objects.select_for_update().filter(pk__in=order_ids).order_by("pk"))
        faults.set()  # the paused calls go on
        wait_until(
            lambda: any(payment_by_key(k).status == status for k in keys),
            timeout=WAIT,
            interval=0.02,
            what=f"a payment to be recorded {status}",
        )
        worker.kill()


def assert_caught_mid_step(point: str, pay: Payment) -> None:
    """The kill left the payment exactly between the two halves of the step."""
    pause, recorded = KILL_POINTS[point]
    found = remote.lookup(pay.idempotency_key)
    order = Order.objects.get(pk=pay.order_id)
    assert order.paid_at is None
    if recorded:
        assert pay.status == recorded
    elif pause == "authorize:after":
        assert pay.status == PaymentStatus.PROCESSING and found.status == "authorized"
    else:
        assert pay.status == PaymentStatus.AUTHORIZED and pay.capture_requested_at is not None
        assert Reservation.objects.get(order=order).state == ResState.COMMITTED
        assert found.status == ("captured" if pause == "capture:after" else "authorized")


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_worker_killed_at_any_step_recovers_to_orders_paid_once(point, faults, worker_env, shelf):
    pause, recorded = KILL_POINTS[point]
    product = shelf(10)
    client = customer()
    faults.set(pause=pause)
    with running_worker(concurrency=2, env=worker_env) as worker:
        ids = [place(client, product, quantity) for quantity in (1, 2, 1)]
        wait_until(faults.reached, timeout=WAIT, interval=0.02, what=f"a call to reach {pause}")
        keys = [key for _, key in faults.reached()]
        if recorded:
            kill_after_recording(worker, faults, ids, keys, recorded)
        else:
            worker.kill()
        caught = [payment_by_key(key) for key in keys]
        for pay in caught:
            if not recorded or pay.status == recorded:
                assert_caught_mid_step(point, pay)

        faults.set()
        worker.start()
        services.orders_resume_stuck(older_than=timedelta(0))  # the beat sweeper's job
        settle(ids, "every order to settle after the restart")
    recover()

    assert statuses(ids) == {"paid": 3, "cancelled": 0}
    assert_consistent(ids, [product])


# --- answers lost after the gateway did the work --------------------------------------------
def test_lost_answers_of_authorize_capture_void_and_refund_settle_to_the_truth(
    faults, worker_env, shelf
):
    plenty, scarce = shelf(10), shelf(1)
    client, rival, regular = customer(), customer(), customer()
    faults.set(lose_first=["void", "refund"])
    with running_worker(concurrency=2, env=worker_env, start=False) as worker:
        # An order whose reservation lapses and whose unit goes to another customer: its
        # authorization is voided, and the void's answer is lost.
        gone = place(client, scarce)
        reservations_expire(now=timezone.now() + timedelta(days=1))
        taken = place(rival, scarce)
        auth_lost = place(client, plenty, token="tok_authorizeLost")
        capture_lost = place(client, plenty, 2, token="tok_captureLost")
        refunded = place(client, plenty)  # paid, then cancelled: the refund's answer is lost
        partly = place(regular, plenty, 3)  # paid, then refunded in part by staff: answer lost
        ids = [gone, taken, auth_lost, capture_lost, refunded, partly]
        worker.start()
        settle(ids, "every order to be processed")
        assert statuses(ids) == {"paid": 5, "cancelled": 1}

        cancel(client, refunded)
        partial = payment_refund(payment_id=payment(partly).pk, amount=Decimal("5.00"))
        assert partial.status == Refund.Status.PENDING  # sent, its answer lost
        settle(ids, "the refund of the cancelled order")
    recover()

    assert Order.objects.get(pk=gone).status == OrderStatus.CANCELLED
    assert payment(gone).failure_code == "voided"
    assert approved_captures(payment(gone)) == 0
    assert payment(refunded).status == PaymentStatus.REFUNDED
    partial.refresh_from_db()
    assert partial.status == Refund.Status.SUCCEEDED
    assert payment(partly).refunded_amount == Decimal("5.00")
    lost = PaymentEvent.objects.filter(kind="gateway", result="error")
    assert set(lost.values_list("name", flat=True)) >= {"authorize", "capture", "void", "refund"}
    assert statuses(ids) == {"paid": 4, "cancelled": 2}
    assert_consistent(ids, [plenty, scarce])


# --- the gateway down for a while -----------------------------------------------------------
def errors_of(order_id: int, operation: str) -> int:
    return PaymentEvent.objects.filter(
        payment__order_id=order_id, kind="gateway", name=operation, result="error"
    ).count()


def test_the_gateway_down_for_a_while_delays_orders_but_loses_or_doubles_nothing(
    faults, worker_env, shelf
):
    product = shelf(10)
    client = customer()
    # Enough patience that the outage alone never fails a payment.
    env = {**worker_env, "PAYMENT_MAX_ATTEMPTS": "50"}
    faults.set(pause="capture:before")
    with running_worker(concurrency=2, env=env) as worker:
        capturing = place(client, product)
        wait_until(faults.reached, timeout=WAIT, interval=0.02, what="a capture under way")
        faults.set(down=True)  # the paused capture goes on into an outage
        authorizing = [place(client, product) for _ in range(2)]
        given_up = place(client, product)
        ids = [capturing, *authorizing, given_up]
        wait_until(
            lambda: (
                errors_of(capturing, "capture") >= 2
                and all(errors_of(i, "authorize") >= 2 for i in [*authorizing, given_up])
            ),
            timeout=WAIT,
            what="the worker to retry into the outage",
        )
        cancel(client, given_up)  # the customer gives up; the money cannot go back yet
        assert Order.objects.filter(pk__in=ids, paid_at__isnull=False).count() == 0

        faults.set()  # the gateway is back
        services.orders_resume_stuck(older_than=timedelta(0))
        settle(ids, "every order to settle after the outage")
        assert worker.process.poll() is None
    recover()

    assert Order.objects.get(pk=given_up).status == OrderStatus.CANCELLED
    assert statuses(ids) == {"paid": 3, "cancelled": 1}
    assert_consistent(ids, [product])


# --- the reservation expired and the stock sold to someone else ----------------------------
def test_an_order_whose_stock_was_sold_after_its_reservation_expired_is_cancelled_and_voided(
    faults, worker_env, shelf
):
    product = shelf(3)
    late, early = customer(), customer()
    with running_worker(concurrency=2, env=worker_env, start=False) as worker:
        lapsed = place(late, product, 2)
        reservations_expire(now=timezone.now() + timedelta(days=1))  # no worker for too long
        sold = place(early, product, 3)  # every unit, to someone else
        worker.start()
        settle([lapsed, sold], "both orders to be processed")
    recover()

    assert Order.objects.get(pk=lapsed).status == OrderStatus.CANCELLED
    pay = payment(lapsed)
    assert pay.status == PaymentStatus.FAILED and pay.failure_code == "voided"
    assert remote.lookup(pay.idempotency_key).status == "voided"
    assert approved_captures(pay) == 0
    assert statuses([lapsed, sold]) == {"paid": 1, "cancelled": 1}
    assert_consistent([lapsed, sold], [product])


# --- the customer cancels while the worker processes ----------------------------------------
def test_cancels_racing_processing_leave_every_order_cancelled_with_nothing_held(
    faults, worker_env, shelf
):
    product = shelf(20)
    client = customer()
    chance = random.Random(20240607)  # the same moments on every run
    tokens = ["tok_visa", "tok_visa", "tok_captureLost", "tok_authorizeLost"]
    with running_worker(concurrency=2, env=worker_env, start=False) as worker:
        ids = [place(client, product, 1 + i % 2, token=tokens[i % 4]) for i in range(8)]
        worker.start()
        wait_until(
            lambda: Payment.objects.filter(order_id__in=ids).exclude(status="pending").exists(),
            timeout=WAIT,
            interval=0.02,
            what="the worker to start processing",
        )
        seen = {}
        for order_id in chance.sample(ids, len(ids)):
            time.sleep(chance.uniform(0, 0.2))
            pay = payment(order_id)
            seen[order_id] = pay.status + (
                "+paid" if Order.objects.get(pk=order_id).paid_at else ""
            )
            cancel(client, order_id)
        services.orders_resume_stuck(older_than=timedelta(0))
        settle(ids, "every cancelled order to give money back")
        assert worker.process.poll() is None
    recover()

    assert statuses(ids) == {"paid": 0, "cancelled": 8}, seen
    assert_consistent(ids, [product])
