"""Payments API: customers read the payments of their own orders, staff read all and give
back part of a payment."""

from decimal import Decimal

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from payments import selectors, services
from payments.models import Payment, Refund
from shop.api.schema import error_response


class IsStaff(permissions.BasePermission):
    def has_permission(self, request, view):
        return bool(request.user and request.user.is_staff)


class RefundSerializer(serializers.ModelSerializer):
    class Meta:
        model = Refund
        fields = ["id", "amount", "reason", "status", "at"]
        read_only_fields = fields


class RefundInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text="What to give back; at most what was captured and not yet refunded.",
    )
    reason = serializers.CharField(max_length=255)


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


def api_v1_status(status: str) -> str:
    """A payment state as version 1 of the API names it (no ``action_required``)."""
    return Payment.Status.PROCESSING if status == Payment.Status.ACTION_REQUIRED else status


class PaymentStatusField(serializers.ChoiceField):
    """Version 1's payment state: ``processing`` while the holder must act (``next_action``
    says what to do), so that clients generated from version 1 meet no unknown state."""

    def __init__(self, **kwargs):
        super().__init__(choices=Payment.API_V1_STATUSES, read_only=True, **kwargs)

    def to_representation(self, value):
        return api_v1_status(value)


class PaymentSerializer(serializers.ModelSerializer):
    refunds = RefundSerializer(many=True, read_only=True)
    status = PaymentStatusField()
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

    @extend_schema(
        summary="Staff: give back part of a captured payment",
        request=RefundInputSerializer,
        responses={
            201: RefundSerializer,
            409: error_response(
                "invalid_transition",
                "refund_exceeds_capture",
                name="RefundRefusedError",
                note="The payment is not completed, or the amount is more than was captured "
                "and not yet refunded (details: requested, refundable).",
            ),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[IsStaff])
    def refund(self, request, pk=None):
        """Record the refund and send it to the gateway: 201 with the refund, ``succeeded``,
        or ``pending`` while the gateway has not answered (it is sent again until it does)."""
        payment = self.get_object()
        data = RefundInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        refund = services.payment_refund(
            payment_id=payment.pk,
            amount=data.validated_data["amount"],
            reason=data.validated_data["reason"],
            actor=request.user,
        )
        return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no real user
            return Payment.objects.none()
        return selectors.payment_list(user=self.request.user)
