"""Real threads against PostgreSQL: racing workers never charge a card twice."""

import threading

import pytest
from django.db import connection

from payments.gateways.test import TestGateway
from payments.models import Payment
from payments.services import payment_process, payment_refund
from tests.utils import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def together(n: int, work) -> list:
    barrier = threading.Barrier(n)
    results: list = []

    def run():
        try:
            barrier.wait(timeout=30)
            results.append(work())
        except Exception as exc:
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_eight_workers_processing_one_payment_charge_it_once(new_payment):
    payment = new_payment()

    results = together(8, lambda: payment_process(payment_id=payment.pk).status)

    assert results == ["completed"] * 8
    payment.refresh_from_db()
    assert payment.status == "completed"
    assert len(TestGateway.charges(payment.gateway_reference)) == 1


def test_concurrent_refunds_never_exceed_the_capture(new_payment):
    payment = payment_process(payment_id=new_payment(amount="10.00").pk)

    results = together(6, lambda: payment_refund(payment_id=payment.pk, amount="4.00"))

    refunds = [r for r in results if not isinstance(r, Exception)]
    assert len(refunds) == 2
    assert all(
        getattr(r, "code", "") == "refund_exceeds_capture" for r in results if r not in refunds
    )
    payment = Payment.objects.get(pk=payment.pk)
    assert str(payment.refunded_amount) == "8.00" and payment.status == "completed"
