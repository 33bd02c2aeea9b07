"""Returns API: a customer asks to send back units of a delivered order
(``POST /api/orders/{id}/returns/``, in orders.api); staff approve, receive or reject them here.
Thin: validate, call one service, serialise."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from orders import selectors, services
from orders.models import Return, ReturnLine, ReturnStatus
from shop.api.ids import id_field
from shop.api.schema import error_response

RETURN_TRANSITION = error_response("invalid_transition", note="Not allowed in the return's state.")


class IsStaff(permissions.BasePermission):
    def has_permission(self, request, view):
        return bool(request.user and request.user.is_staff)


class ReturnLineInputSerializer(serializers.Serializer):
    line = id_field(help_text="The id of one of the order's lines.")
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)


class ReturnRequestSerializer(serializers.Serializer):
    lines = ReturnLineInputSerializer(many=True, allow_empty=False)
    reason = serializers.CharField(max_length=255)

    def validate_lines(self, lines):
        ids = [row["line"] for row in lines]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError("Name each line once.")
        return lines


class ReturnRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255)


class ReturnNoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class ReturnLineSerializer(serializers.ModelSerializer):
    line = serializers.IntegerField(source="order_line_id")
    product = serializers.IntegerField(source="order_line.product_id")
    product_name = serializers.CharField(source="order_line.product_name")

    class Meta:
        model = ReturnLine
        fields = ["line", "product", "product_name", "quantity", "refund_amount", "tax_amount"]


class ReturnSerializer(serializers.ModelSerializer):
    lines = ReturnLineSerializer(many=True, read_only=True)
    order_number = serializers.CharField(source="order.number")

    class Meta:
        model = Return
        fields = [
            "id",
            "order",
            "order_number",
            "status",
            "reason",
            "lines",
            "refund_amount",
            "currency",
            "refund",
            "staff_note",
            "created_at",
            "received_at",
            "refunded_at",
        ]
        read_only_fields = fields


def return_body(return_id: int) -> dict:
    return ReturnSerializer(selectors.return_queryset().get(pk=return_id)).data


@extend_schema_view(
    list=extend_schema(
        summary="Returns (customers: their own; staff: all)",
        parameters=[
            OpenApiParameter(
                "status", str, enum=ReturnStatus.values, description="Only returns in this state."
            )
        ],
    ),
    retrieve=extend_schema(summary="One return"),
)
class ReturnViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Returns: customers follow their own (another customer's is a 404), staff decide."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = ReturnSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no real user
            return Return.objects.none()
        status = self.request.query_params.get("status") if self.action == "list" else None
        if status and status not in ReturnStatus.values:
            raise serializers.ValidationError(
                {"status": [f"Unknown status; use one of {', '.join(ReturnStatus.values)}."]}
            )
        user = self.request.user
        return selectors.return_list(user=None if user.is_staff else user, status=status)

    @extend_schema(
        request=ReturnNoteSerializer,
        responses={200: ReturnSerializer, 409: RETURN_TRANSITION},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsStaff])
    def approve(self, request, pk=None):
        """Staff: accept a requested return; the customer is told to send the goods."""
        returned = self.get_object()
        data = ReturnNoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.return_approve(
            return_id=returned.pk, user=request.user, note=data.validated_data["note"]
        )
        return Response(return_body(returned.pk))

    @extend_schema(
        request=None,
        responses={
            200: ReturnSerializer,
            409: error_response(
                "invalid_transition",
                "refund_exceeds_capture",
                name="ReturnReceiveRefusedError",
                note="The return is not requested or approved (received already, or rejected), "
                "or its payment has less left to refund; nothing changed.",
            ),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[IsStaff])
    def receive(self, request, pk=None):
        """Staff: the goods arrived. They are restocked, their share of what was paid (VAT
        included) refunded and a credit note issued; ``refunded`` once the gateway confirms,
        ``received`` while it has not answered."""
        returned = self.get_object()
        services.return_receive(return_id=returned.pk, user=request.user)
        return Response(return_body(returned.pk))

    @extend_schema(
        request=ReturnRejectSerializer,
        responses={200: ReturnSerializer, 409: RETURN_TRANSITION},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsStaff])
    def reject(self, request, pk=None):
        """Staff: refuse a requested or approved return, saying why (the customer is told)."""
        returned = self.get_object()
        data = ReturnRejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.return_reject(
            return_id=returned.pk, user=request.user, reason=data.validated_data["reason"]
        )
        return Response(return_body(returned.pk))
