"""Real threads against PostgreSQL: racing workers never charge a card twice."""

import pytest

from payments.gateways.test import TestGateway
from payments.models import Payment
from payments.services import payment_refund
from tests.utils import requires_postgres, run_together

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_eight_workers_processing_one_payment_charge_it_once(new_payment, pay):
    payment = new_payment()

    results = run_together(8, lambda _: pay(payment.pk).status)

    assert results == ["completed"] * 8
    payment.refresh_from_db()
    assert payment.status == "completed"
    assert len(TestGateway.charges(payment.gateway_reference)) == 1


def test_concurrent_refunds_never_exceed_the_capture(new_payment, pay):
    payment = pay(new_payment(amount="10.00").pk)

    results = run_together(6, lambda _: payment_refund(payment_id=payment.pk, amount="4.00"))

    refunds = [r for r in results if not isinstance(r, Exception)]
    assert len(refunds) == 2
    assert all(
        getattr(r, "code", "") == "refund_exceeds_capture" for r in results if r not in refunds
    )
    payment = Payment.objects.get(pk=payment.pk)
    assert str(payment.refunded_amount) == "8.00" and payment.status == "completed"
