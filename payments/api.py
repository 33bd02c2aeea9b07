"""Payments API: customers read the payments of their own orders, staff read all."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import permissions, serializers, viewsets

from payments import selectors
from payments.models import Payment, Refund


class RefundSerializer(serializers.ModelSerializer):
    class Meta:
        model = Refund
        fields = ["id", "amount", "reason", "at"]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    refunds = RefundSerializer(many=True, read_only=True)

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
        ]
        read_only_fields = fields


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
