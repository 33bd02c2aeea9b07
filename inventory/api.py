"""Staff API of the inventory: stock levels, adjustments with a reason, reorder requests."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from catalog.models import Product
from inventory import selectors, services
from inventory.models import ReorderRequest, StockItem
from shop.api.ids import id_or_404
from shop.api.schema import error_response


class StockItemSerializer(serializers.ModelSerializer):
    product_id = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(source="product.sku", read_only=True)
    name = serializers.CharField(source="product.name", read_only=True)
    available = serializers.IntegerField(read_only=True)

    class Meta:
        model = StockItem
        fields = [
            "product_id",
            "sku",
            "name",
            "quantity",
            "reserved",
            "available",
            "reorder_point",
            "reorder_quantity",
            "updated_at",
        ]
        read_only_fields = fields


class AdjustSerializer(serializers.Serializer):
    delta = serializers.IntegerField(help_text="Units to add (positive) or remove (negative).")
    reason = serializers.CharField(max_length=255, help_text="Why: stock count, damage, ...")

    def validate_delta(self, value: int) -> int:
        if value == 0:
            raise serializers.ValidationError("An adjustment must change the stock.")
        if abs(value) > 1_000_000:
            raise serializers.ValidationError("At most 1,000,000 units at a time.")
        return value


PRODUCT_ID = OpenApiParameter("product_id", int, OpenApiParameter.PATH, description="Product id.")


class ReorderRequestSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)

    class Meta:
        model = ReorderRequest
        fields = ["id", "product", "sku", "quantity", "status", "created_at", "updated_at"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(summary="Stock levels (staff)"),
    retrieve=extend_schema(summary="Stock of one product (staff)", parameters=[PRODUCT_ID]),
)
class StockViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [permissions.IsAdminUser]
    serializer_class = StockItemSerializer
    lookup_field = "product_id"
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return selectors.stock_list()

    def get_object(self):
        id_or_404(self.kwargs[self.lookup_field])  # looked up through the product foreign key
        return super().get_object()

    @extend_schema(
        summary="Add or remove stock with a reason (staff)",
        parameters=[PRODUCT_ID],
        request=AdjustSerializer,
        responses={
            200: StockItemSerializer,
            409: error_response("insufficient_stock", note="Removing more than is available."),
        },
    )
    @action(detail=True, methods=["post"])
    def adjust(self, request, product_id=None):
        product = get_object_or_404(Product, pk=product_id)
        serializer = AdjustSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.stock_adjust(
            product_id=product.pk,
            delta=serializer.validated_data["delta"],
            reason=serializer.validated_data["reason"],
            actor=request.user,
        )
        item = selectors.stock_for(product.pk)
        return Response(StockItemSerializer(item).data, status=status.HTTP_200_OK)


@extend_schema_view(
    list=extend_schema(
        summary="Reorder requests (staff)",
        parameters=[
            OpenApiParameter(
                "status", str, enum=ReorderRequest.Status.values, description="By state."
            )
        ],
    ),
    retrieve=extend_schema(summary="One reorder request (staff)"),
)
class ReorderRequestViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [permissions.IsAdminUser]
    serializer_class = ReorderRequestSerializer

    def get_queryset(self):
        status_filter = self.request.query_params.get("status") or None
        # Checked, not passed on: an unknown state would match nothing, and one with a NUL byte
        # would be a 500 on PostgreSQL.
        if status_filter and status_filter not in ReorderRequest.Status.values:
            raise serializers.ValidationError(
                {
                    "status": [
                        f"Unknown status; use one of {', '.join(ReorderRequest.Status.values)}."
                    ]
                }
            )
        return selectors.reorder_list(status=status_filter)
