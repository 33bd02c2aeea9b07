"""Read queries of the payments."""

from django.db.models import Prefetch, QuerySet

from payments.models import Payment, PaymentEvent, Refund


def payment_list(*, user) -> QuerySet[Payment]:
    """Staff see every payment; a customer only those of their own orders."""
    qs = Payment.objects.select_related("order").prefetch_related(
        Prefetch("refunds", queryset=Refund.objects.order_by("at", "id"))
    )
    if not user.is_staff:
        qs = qs.filter(order__user=user)
    return qs.order_by("-created_at", "-id")


def payment_events(payment: Payment) -> QuerySet[PaymentEvent]:
    return PaymentEvent.objects.filter(payment=payment).order_by("at", "id")
