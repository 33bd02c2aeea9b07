"""Staff give back part of a payment: POST /api/payments/{id}/refund/ and the admin action,
both through payment_refund (never more than captured and not yet refunded)."""

from decimal import Decimal

import pytest

from payments.models import Payment

pytestmark = pytest.mark.django_db


def refund_url(payment) -> str:
    return f"/api/payments/{payment.pk}/refund/"


def test_staff_refund_part_of_a_payment_through_the_api(staff_client, staff, new_payment, pay):
    payment = pay(new_payment(amount="30.00").pk)

    response = staff_client.post(
        refund_url(payment), {"amount": "12.50", "reason": "scratched"}, format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["amount"], body["reason"], body["status"]) == ("12.50", "scratched", "succeeded")
    payment = Payment.objects.get(pk=payment.pk)
    assert payment.status == "completed" and payment.refunded_amount == Decimal("12.50")
    assert payment.refunds.get().actor == staff
    listed = staff_client.get(f"/api/payments/{payment.pk}/").json()["refunds"]
    assert [(r["amount"], r["status"]) for r in listed] == [("12.50", "succeeded")]


def test_a_refund_beyond_what_is_left_is_a_conflict_and_changes_nothing(
    staff_client, new_payment, pay
):
    payment = pay(new_payment(amount="30.00").pk)
    staff_client.post(refund_url(payment), {"amount": "20.00", "reason": "a"}, format="json")

    response = staff_client.post(
        refund_url(payment), {"amount": "10.01", "reason": "b"}, format="json"
    )

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "refund_exceeds_capture"
    assert error["details"] == {"requested": "10.01", "refundable": "10.00"}
    assert Payment.objects.get(pk=payment.pk).refunds.count() == 1


def test_refunding_the_rest_ends_the_payment_refunded(staff_client, new_payment, pay):
    payment = pay(new_payment(amount="30.00").pk)
    staff_client.post(refund_url(payment), {"amount": "20.00", "reason": "a"}, format="json")

    response = staff_client.post(
        refund_url(payment), {"amount": "10.00", "reason": "b"}, format="json"
    )

    assert response.status_code == 201
    assert Payment.objects.get(pk=payment.pk).status == "refunded"


@pytest.mark.parametrize(
    "body",
    [{"amount": "0", "reason": "x"}, {"amount": "-5", "reason": "x"}, {"amount": "ten"}, {}],
)
def test_a_refund_without_a_positive_amount_and_a_reason_is_invalid(
    staff_client, new_payment, pay, body
):
    payment = pay(new_payment(amount="30.00").pk)

    response = staff_client.post(refund_url(payment), body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert not Payment.objects.get(pk=payment.pk).refunds.exists()


def test_a_payment_not_captured_cannot_be_refunded(staff_client, new_payment):
    payment = new_payment(amount="30.00")

    response = staff_client.post(
        refund_url(payment), {"amount": "1.00", "reason": "x"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"


def test_customers_cannot_refund_even_their_own_payment(user_client, user, new_payment, pay):
    payment = pay(new_payment(user=user, amount="30.00").pk)

    response = user_client.post(
        refund_url(payment), {"amount": "1.00", "reason": "x"}, format="json"
    )

    assert response.status_code == 403
    assert not Payment.objects.get(pk=payment.pk).refunds.exists()


def test_staff_refund_part_of_a_payment_in_the_admin(admin_client, admin_user, new_payment, pay):
    payment = pay(new_payment(amount="30.00").pk)
    selected = {"action": "refund_part", "_selected_action": [payment.pk]}

    form = admin_client.post("/admin/payments/payment/", selected)
    done = admin_client.post(
        "/admin/payments/payment/",
        {**selected, "apply": "1", "amount": "7.25", "reason": "late"},
        follow=True,
    )

    assert form.status_code == 200 and b"can still be refunded" in form.content
    assert b"Refund of 7.25 EUR recorded (succeeded)" in done.content
    payment = Payment.objects.get(pk=payment.pk)
    assert payment.refunded_amount == Decimal("7.25")
    assert payment.refunds.get().actor == admin_user


def test_the_admin_refuses_more_than_is_left(admin_client, new_payment, pay):
    payment = pay(new_payment(amount="30.00").pk)

    done = admin_client.post(
        "/admin/payments/payment/",
        {
            "action": "refund_part",
            "_selected_action": [payment.pk],
            "apply": "1",
            "amount": "30.01",
            "reason": "too much",
        },
        follow=True,
    )

    assert b"can still be refunded" in done.content
    assert Payment.objects.get(pk=payment.pk).refunded_amount == Decimal("0.00")
