"""Real threads against PostgreSQL: returns received or asked for at once never give back more
units than were bought or more money than was paid for them."""

from decimal import Decimal as D

import pytest

from inventory.models import StockMovement
from orders import services
from orders.models import Return
from payments.models import Payment, Refund
from payments.services import payment_refund
from tests.factories import StaffFactory
from tests.utils import requires_postgres, run_together

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def book_line(order):
    return order.lines.order_by("product_id").first()


def test_two_staff_receiving_one_return_at_once_refund_it_once(delivered):
    order = delivered(books=2)
    book = book_line(order)
    returned = services.return_request(order_id=order.pk, lines=[(book.pk, 2)], reason="x")
    staff = [StaffFactory(), StaffFactory()]

    outcomes = run_together(
        2, lambda i: services.return_receive(return_id=returned.pk, user=staff[i])
    )

    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refused) == 1 and refused[0].code == "invalid_transition"
    assert Refund.objects.count() == 1
    payment = Payment.objects.get(order=order)
    assert payment.refunded_amount == book.line_total - book.discount
    assert StockMovement.objects.filter(kind="restock", reference=order.number).count() == 1
    assert Return.objects.get().status == "refunded"


def test_returns_of_one_line_received_at_once_give_back_exactly_what_it_cost(delivered):
    order = delivered(books=3)
    book = book_line(order)
    returns = [
        services.return_request(order_id=order.pk, lines=[(book.pk, 1)], reason=str(i))
        for i in range(3)
    ]
    staff = StaffFactory()

    outcomes = run_together(
        3, lambda i: services.return_receive(return_id=returns[i].pk, user=staff)
    )

    assert [o.status for o in outcomes] == ["refunded"] * 3
    payment = Payment.objects.get(order=order)
    assert payment.refunded_amount == book.line_total - book.discount
    assert sum(Return.objects.values_list("refund_amount", flat=True), D("0")) == (
        book.line_total - book.discount
    )


def test_customers_asking_back_the_same_units_at_once_get_them_once(delivered, user):
    order = delivered(books=2)
    book = book_line(order)

    outcomes = run_together(
        4,
        lambda i: services.return_request(
            order_id=order.pk, lines=[(book.pk, 2)], reason=f"try {i}", user=user
        ),
    )

    taken = [o for o in outcomes if isinstance(o, Return)]
    refused = [o for o in outcomes if not isinstance(o, Return)]
    assert len(taken) == 1
    assert {getattr(o, "code", o) for o in refused} == {"return_not_allowed"}
    assert Return.objects.count() == 1


def test_a_return_and_a_staff_refund_at_once_never_refund_more_than_was_captured(delivered):
    order = delivered(books=2)
    book = book_line(order)
    returned = services.return_request(order_id=order.pk, lines=[(book.pk, 2)], reason="x")
    payment = Payment.objects.get(order=order)
    goodwill = payment.captured_amount - D("1.00")  # leaves less than the return refunds
    staff = StaffFactory()

    def work(i):
        if i == 0:
            return services.return_receive(return_id=returned.pk, user=staff)
        return payment_refund(payment_id=payment.pk, amount=goodwill, reason="goodwill")

    outcomes = run_together(2, work)

    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refused) == 1 and refused[0].code == "refund_exceeds_capture"
    payment.refresh_from_db()
    assert payment.refunded_amount <= payment.captured_amount
    assert payment.refunded_amount in (goodwill, book.line_total - book.discount)
    restocked = StockMovement.objects.filter(kind="restock", reference=order.number).exists()
    assert restocked == (Return.objects.get().status == "refunded")
