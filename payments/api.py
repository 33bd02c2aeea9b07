"""Payments API: customers read the payments of their own orders, staff read all."""

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import permissions, serializers, viewsets

from payments import selectors
from payments.models import Payment, Refund


class RefundSerializer(serializers.ModelSerializer):
    class Meta:
        model = Refund
        fields = ["id", "amount", "reason", "at"]
        read_only_fields = fields


class NextActionRedirectSerializer(serializers.Serializer):
    url = serializers.CharField()
    return_url = serializers.CharField()


class NextActionSerializer(serializers.Serializer):
    """What the customer must do before the card is authorized (3-D Secure): go to
    ``redirect_to_url.url`` (the provider sends them back to ``return_url``), or hand
    ``client_secret`` to Stripe.js (``handleNextAction``)."""

    type = serializers.ChoiceField(choices=["redirect_to_url"])
    redirect_to_url = NextActionRedirectSerializer()
    client_secret = serializers.CharField(allow_blank=True)


def next_action_of(payment: Payment) -> dict | None:
    if payment.status != Payment.Status.ACTION_REQUIRED or not payment.next_action_url:
        return None
    return {
        "type": "redirect_to_url",
        "redirect_to_url": {
            "url": payment.next_action_url,
            "return_url": settings.SHOP_URL + reverse("payments:return"),
        },
        "client_secret": payment.client_secret,
    }


class PaymentSerializer(serializers.ModelSerializer):
    refunds = RefundSerializer(many=True, read_only=True)
    next_action = serializers.SerializerMethodField()

    class Meta:
        model = Payment
        fields = [
            "id",
            "order",
            "amount",
            "currency",
            "status",
            "method",
            "card_brand",
            "card_last4",
            "created_at",
            "refunds",
            "next_action",
        ]
        read_only_fields = fields

    @extend_schema_field(NextActionSerializer(allow_null=True))
    def get_next_action(self, payment) -> dict | None:
        return next_action_of(payment)


@extend_schema_view(
    list=extend_schema(summary="Payments of your orders (staff: all payments)"),
    retrieve=extend_schema(summary="One payment"),
)
class PaymentViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = PaymentSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no real user
            return Payment.objects.none()
        return selectors.payment_list(user=self.request.user)
