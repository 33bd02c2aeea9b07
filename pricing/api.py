"""Staff API of pricing: vouchers (codes, kinds, limits, how often they were used)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.exceptions import ValidationError

from pricing import services
from pricing.models import Voucher
from shop.api.schema import error_response


class VoucherSerializer(serializers.ModelSerializer):
    class Meta:
        model = Voucher
        fields = [
            "id",
            "code",
            "kind",
            "value",
            "currency",
            "min_subtotal",
            "starts_at",
            "ends_at",
            "usage_limit",
            "per_customer_limit",
            "times_used",
            "is_active",
            "created_at",
        ]
        read_only_fields = ["id", "times_used", "created_at"]
        # Uniqueness is the service's to check (codes are compared upper-case).
        extra_kwargs = {"code": {"validators": []}}


@extend_schema_view(
    list=extend_schema(summary="Vouchers (staff)"),
    retrieve=extend_schema(summary="One voucher (staff)"),
    create=extend_schema(
        summary="Create a voucher (staff)",
        responses={201: VoucherSerializer, 400: error_response("validation_error")},
    ),
    partial_update=extend_schema(
        summary="Change a voucher (staff)",
        responses={200: VoucherSerializer, 400: error_response("validation_error")},
    ),
)
class VoucherViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [permissions.IsAdminUser]
    serializer_class = VoucherSerializer
    queryset = Voucher.objects.order_by("-created_at", "id")
    http_method_names = ["get", "post", "patch", "head", "options"]

    def _save(self, serializer, voucher=None):
        try:
            serializer.instance = services.voucher_save(
                voucher=voucher, **serializer.validated_data
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc

    def perform_create(self, serializer):
        self._save(serializer)

    def perform_update(self, serializer):
        self._save(serializer, voucher=serializer.instance)
