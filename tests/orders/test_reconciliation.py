"""Reconciliation: the shop's payments, refunds and orders against the gateway's records."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from orders import services
from orders.models import Order, OrderStatus, ReconciliationIssue
from payments.gateways.test import TestGateway
from payments.models import Payment, Refund
from payments.services import payment_authorize, payment_capture, payment_create
from shop import metrics
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db
Status = Payment.Status


@pytest.fixture(autouse=True)
def _settled_long_ago(settings):
    """Every payment here is old enough to be judged (none is in flight)."""
    settings.PAYMENT_STUCK_AFTER = timezone.timedelta(seconds=0)


def paid_order(total="30.00", token="tok_visa") -> tuple[Order, Payment]:
    order = OrderFactory(total=Decimal(total), status=OrderStatus.PROCESSING)
    payment = payment_create(order=order, amount=order.total, currency="EUR", token=token)
    payment_authorize(payment_id=payment.pk)
    payment = payment_capture(payment_id=payment.pk)
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now())
    order.refresh_from_db()
    return order, payment


def held(payment: Payment) -> Decimal:
    found = TestGateway().lookup(payment.idempotency_key)
    return found.captured_amount - found.refunded_amount if found else Decimal("0")


def test_a_consistent_shop_reports_nothing():
    paid_order()

    report = services.payments_reconcile(fix=True)

    assert report.counts()["found"] == 0 and report.checked == 1
    assert services.money_differences() == []


def test_a_cancelled_order_left_charged_is_refunded():
    """The state the old pipeline left behind: cancelled, captured, never refunded."""
    order, payment = paid_order()
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CANCELLED, paid_at=None)
    assert services.money_differences() != []

    report = services.payments_reconcile(fix=True)

    payment.refresh_from_db()
    assert payment.status == Status.REFUNDED and held(payment) == 0
    assert report.fixed["cancelled_order_charged"] == 1
    issue = ReconciliationIssue.objects.get(payment=payment)
    assert issue.status == "fixed" and issue.kind == "cancelled_order_charged"
    assert services.money_differences() == []


def test_a_payment_recorded_failed_while_the_gateway_captured_it_is_settled_and_refunded():
    """The old lost-capture path: failed in the shop, captured at the gateway."""
    order, payment = paid_order()
    Payment.objects.filter(pk=payment.pk).update(
        status=Status.FAILED, captured_amount=0, failure_code="processing_error"
    )
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CANCELLED, paid_at=None)

    services.payments_reconcile(fix=True)

    payment.refresh_from_db()
    assert payment.status == Status.REFUNDED and payment.captured_amount == Decimal("30.00")
    assert held(payment) == 0
    assert services.money_differences() == []


def test_a_hold_left_on_a_failed_payment_is_voided():
    order = OrderFactory(total=Decimal("12.00"), status=OrderStatus.CANCELLED)
    payment = payment_create(order=order, amount=order.total, currency="EUR", token="tok_visa")
    payment_authorize(payment_id=payment.pk)
    Payment.objects.filter(pk=payment.pk).update(status=Status.FAILED)

    report = services.payments_reconcile(fix=True)

    assert report.fixed["hold_on_failed_payment"] == 1
    assert TestGateway().lookup(payment.idempotency_key).status == "voided"


def test_a_pending_refund_is_sent_again():
    order, payment = paid_order()
    refund = Refund.objects.create(
        payment=payment, amount=Decimal("10.00"), idempotency_key=f"{payment.pk}-r-manual"
    )

    services.payments_reconcile(fix=True)

    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.status == "succeeded" and payment.refunded_amount == Decimal("10.00")
    assert held(payment) == Decimal("20.00")
    assert services.money_differences() == []  # the paid order owes its total less the refund


def test_without_fix_differences_are_only_flagged():
    order, payment = paid_order()
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CANCELLED)

    report = services.payments_reconcile(fix=False)

    payment.refresh_from_db()
    assert payment.status == Status.COMPLETED and held(payment) == Decimal("30.00")
    assert report.counts()["open"] == 1
    assert ReconciliationIssue.objects.get(payment=payment).status == "open"


def test_a_difference_that_needs_a_person_stays_open_counted_and_exits_non_zero():
    order, payment = paid_order()
    # The shop believes it captured more than the gateway did: which side is right is unclear.
    Payment.objects.filter(pk=payment.pk).update(amount=Decimal("31.00"))
    Payment.objects.filter(pk=payment.pk).update(captured_amount=Decimal("31.00"))
    out = StringIO()

    with pytest.raises(SystemExit) as exit_:
        call_command("reconcile_payments", "--fix", stdout=out, stderr=StringIO())

    assert exit_.value.code == 1
    assert "amounts_differ: 1 found, 0 repaired" in out.getvalue()
    issue = ReconciliationIssue.objects.get(payment=payment, kind="amounts_differ")
    assert issue.status == "open"
    assert 'shop_reconciliation_issues{status="open"} 1.0' in metrics.render().decode()

    # Found again the next night: still one open issue, updated, not a second one.
    with pytest.raises(SystemExit):
        call_command("reconcile_payments", "--fix", stdout=StringIO(), stderr=StringIO())
    assert ReconciliationIssue.objects.filter(kind="amounts_differ", status="open").count() == 1


def test_an_issue_that_is_gone_on_the_next_run_is_resolved():
    order, payment = paid_order()
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CANCELLED)
    services.payments_reconcile(fix=False)
    assert ReconciliationIssue.objects.filter(status="open").count() == 1

    services.payments_reconcile(fix=True)  # refunds it
    services.payments_reconcile(fix=True)  # and finds nothing left

    assert not ReconciliationIssue.objects.filter(status="open").exists()


def test_the_command_reports_a_clean_run_and_exits_zero():
    paid_order()
    out = StringIO()

    call_command("reconcile_payments", stdout=out)

    assert "checked 1 payments, 0 unreachable; 0 differences, 0 repaired, 0 open" in out.getvalue()


def test_the_reconciliation_runs_nightly_from_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["orders-reconcile-payments"]
    assert entry["task"] == "orders.tasks.payments_reconcile_task"


def test_the_nightly_window_skips_old_settled_payments_but_not_open_issues():
    old_clean, old_payment = paid_order()
    old_flagged, flagged_payment = paid_order()
    recent, recent_payment = paid_order()
    long_ago = timezone.now() - timezone.timedelta(days=90)
    Payment.objects.filter(pk__in=[old_payment.pk, flagged_payment.pk]).update(updated_at=long_ago)
    ReconciliationIssue.objects.create(
        payment=flagged_payment, order=old_flagged, kind="amounts_differ", message="earlier"
    )

    report = services.payments_reconcile(changed_within=timezone.timedelta(days=35))

    assert report.checked == 2  # the recent payment and the one with an open issue


def test_the_nightly_task_uses_the_window(settings, monkeypatch):
    seen, real = {}, services.payments_reconcile

    def reconcile(**kwargs):
        seen.update(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(services, "payments_reconcile", reconcile)
    settings.RECONCILIATION_DAYS = 7
    from orders.tasks import payments_reconcile_task

    payments_reconcile_task()

    assert seen == {"fix": True, "changed_within": timezone.timedelta(days=7)}
