"""The customer's privacy rights, wishlist and back-in-stock alerts over the API."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api import ProductSerializer
from catalog.models import Product
from customers import alerts, privacy, wishlist
from customers.models import StockAlert, WishlistItem
from shop.api.ids import id_or_404
from shop.api.schema import ShopAutoSchema, error_response


# --- privacy --------------------------------------------------------------------------------
class AccountDeleteSerializer(serializers.Serializer):
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})


class AccountExportView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="account_export",
        summary="Everything the shop holds about the signed-in customer",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        """Profile, addresses, orders with lines, shipping addresses, payments (brand and last
        four digits), invoice numbers, vouchers used, interactions, reviews, wishlist,
        back-in-stock alerts and the cart, as one JSON document."""
        return Response(privacy.customer_export(user=request.user))


class _DeleteWithBodySchema(ShopAutoSchema):
    """The API contract's DELETE /api/account/ carries the password in its body; the schema
    shows that body (drf-spectacular describes bodies of PUT, PATCH and POST only)."""

    def _get_request_body(self, direction="request"):
        method, self.method = self.method, "POST" if self.method == "DELETE" else self.method
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = method


class AccountView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    schema = _DeleteWithBodySchema()
    # The password is checked here: guessing it is held to the sign-in rate.
    throttle_scope = "login"

    @extend_schema(
        operation_id="account_delete",
        summary="Erase the signed-in customer's account (the password confirms it)",
        request=AccountDeleteSerializer,
        responses={204: None, 409: error_response("open_orders")},
    )
    def delete(self, request):
        """Personal data is erased everywhere; orders stay for accounting without it."""
        data = AccountDeleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            privacy.account_erase(user=request.user, password=data.validated_data["password"])
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- wishlist -------------------------------------------------------------------------------
class WishlistItemSerializer(serializers.ModelSerializer):
    product = ProductSerializer(read_only=True)

    class Meta:
        model = WishlistItem
        fields = ["product", "added_at"]


class WishlistAddSerializer(serializers.Serializer):
    product = serializers.IntegerField(min_value=1)

    def validate_product(self, value):
        product = Product.objects.filter(pk=value, is_active=True).first()
        if product is None:
            raise serializers.ValidationError("No such product.")
        return product


@extend_schema_view(
    list=extend_schema(summary="The signed-in customer's wishlist, the newest first"),
    create=extend_schema(
        summary="Save a product (saving it again changes nothing: 200)",
        request=WishlistAddSerializer,
        responses={200: WishlistItemSerializer, 201: WishlistItemSerializer},
    ),
    destroy=extend_schema(summary="Take a product off the wishlist"),
)
class WishlistViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = WishlistItemSerializer
    lookup_field = "product_id"
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return wishlist.wishlist_items(owner=self.request.user)

    def create(self, request, *args, **kwargs):
        data = WishlistAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item, created = wishlist.wishlist_add(
            owner=request.user, product=data.validated_data["product"]
        )
        return Response(
            WishlistItemSerializer(item, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def destroy(self, request, *args, **kwargs):
        # Another customer's wishlist is never reached: only the caller's own items are looked at.
        product_id = id_or_404(self.kwargs["product_id"])
        if not wishlist.wishlist_remove(owner=request.user, product_id=product_id):
            raise NotFound("This product is not on your wishlist.")
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- back in stock --------------------------------------------------------------------------
class StockAlertSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()

    class Meta:
        model = StockAlert
        fields = ["product", "status", "created_at"]

    def get_status(self, alert) -> str:
        return "sent" if alert.sent_at else "waiting"


class NotifyMeView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="product_notify_me",
        summary="Get one e-mail when this out-of-stock product is back",
        request=None,
        responses={
            200: StockAlertSerializer,
            201: StockAlertSerializer,
            409: error_response(
                "product_in_stock",
                "product_unavailable",
                name="NotifyMeRefusedError",
            ),
        },
    )
    def post(self, request, pk):
        """Asking again while the alert waits changes nothing (200)."""
        product = get_object_or_404(Product.objects.filter(is_active=True), pk=id_or_404(pk))
        alert, created = alerts.stock_alert_subscribe(owner=request.user, product=product)
        return Response(
            StockAlertSerializer(alert).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
