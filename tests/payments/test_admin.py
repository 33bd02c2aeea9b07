"""Staff screens of the payments: read-only payment with its events, the refund action."""

from decimal import Decimal

import pytest

from payments.models import Payment

pytestmark = pytest.mark.django_db


def test_the_payment_screens_render_without_the_token(admin_client, new_payment, pay):
    payment = pay(new_payment().pk)

    listing = admin_client.get("/admin/payments/payment/")
    detail = admin_client.get(f"/admin/payments/payment/{payment.pk}/change/")

    assert listing.status_code == 200 and detail.status_code == 200
    assert b"tok_visa" not in detail.content
    assert b"authorize" in detail.content  # the events inline


def test_staff_refund_the_remaining_amount_from_the_list(
    admin_client, admin_user, new_payment, pay
):
    payment = pay(new_payment(amount="30.00").pk)

    admin_client.post(
        "/admin/payments/payment/",
        {"action": "refund_remaining", "_selected_action": [payment.pk]},
    )

    payment = Payment.objects.get(pk=payment.pk)
    assert payment.status == "refunded" and payment.refunded_amount == Decimal("30.00")
    assert payment.refunds.get().actor == admin_user
