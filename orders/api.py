"""Cart and order API: validate, call one service, serialise."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from orders import selectors, services
from orders.api_returns import ReturnRequestSerializer, ReturnSerializer, return_body
from orders.documents import invoice_response
from orders.models import CartItem, InvoiceKind, Order, OrderEvent, OrderLine, OrderStatus
from payments.api import NextActionSerializer, PaymentStatusField, next_action_of
from shop.api.ids import MAX_ID, id_field, id_or_404
from shop.api.schema import error_response
from shop.api.shared import represent, validated

Actor = OrderEvent.Actor
NOT_IN_STOCK = error_response(
    "product_unavailable", "insufficient_stock", name="CartLineRefusedError"
)
CART_ADD_REFUSED = error_response(
    "product_unavailable", "insufficient_stock", "currency_mismatch", name="CartAddRefusedError"
)
INVALID_TRANSITION = error_response("invalid_transition", note="Not allowed in the order's state.")
# What a quote and an order refuse alike: the body, the destination, the voucher.
CHECKOUT_INVALID = error_response(
    "validation_error",
    "empty_order",
    "unsupported_country",
    "voucher_invalid",
    name="CheckoutInvalidError",
)


# --- serializers ----------------------------------------------------------------------------
class CartLineSerializer(serializers.Serializer):
    product = serializers.IntegerField(source="product.id")
    name = serializers.CharField(source="product.name")
    slug = serializers.CharField(source="product.slug")
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    available = serializers.IntegerField()


class CartSerializer(serializers.Serializer):
    items = CartLineSerializer(many=True)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()


class CartItemWriteSerializer(serializers.Serializer):
    product = id_field()
    quantity = serializers.IntegerField(
        min_value=1, max_value=services.cart.MAX_LINE_QUANTITY, default=1
    )


class CartQuantitySerializer(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=0, max_value=services.cart.MAX_LINE_QUANTITY)


class AddressSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    postal_code = serializers.CharField(max_length=20)
    country = serializers.RegexField(
        r"^[A-Za-z]{2}$", max_length=2, error_messages={"invalid": "Use a two-letter country code."}
    )
    phone = serializers.RegexField(
        r"^\+?[0-9 ()-]{6,20}$",
        required=False,
        allow_blank=True,
        default="",
        error_messages={"invalid": "Enter a phone number."},
    )

    def validate_country(self, value):
        return value.upper()


class PaymentInputSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=["card"], default="card")
    token = serializers.CharField(max_length=100)


class OrderItemInputSerializer(serializers.Serializer):
    product = id_field()
    quantity = serializers.IntegerField(min_value=1, max_value=services.cart.MAX_LINE_QUANTITY)


class CheckoutQuoteSerializer(serializers.Serializer):
    from_cart = serializers.BooleanField(required=False, default=False)
    items = OrderItemInputSerializer(many=True, required=False)
    shipping_address = AddressSerializer()
    shipping_method = serializers.SlugField(
        max_length=30, required=False, default="standard", help_text="standard or express."
    )
    voucher = serializers.CharField(
        max_length=40, required=False, allow_blank=True, default="", help_text="A voucher code."
    )

    def validate(self, data):
        if data.get("from_cart") == bool(data.get("items")):
            raise serializers.ValidationError(
                {"items": ['Send either "from_cart": true or a non-empty "items" list.']}
            )
        return data


class PlaceOrderSerializer(CheckoutQuoteSerializer):
    payment = PaymentInputSerializer()
    expected_total = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text="The total the customer saw: if the order now costs otherwise, 409 "
        "price_changed and nothing is placed.",
    )

    def validate(self, data):
        if data.get("from_cart") == bool(data.get("items")):
            raise serializers.ValidationError(
                {"items": ['Send either "from_cart": true or a non-empty "items" list.']}
            )
        return data


class OrderLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderLine
        fields = [
            "product",
            "product_name",
            "sku",
            "unit_price",
            "quantity",
            "line_total",
            "discount",
            "tax_rate",
            "tax_amount",
        ]


class TaxSerializer(serializers.Serializer):
    rate = serializers.DecimalField(max_digits=5, decimal_places=4)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)


class QuoteLineSerializer(serializers.Serializer):
    product = serializers.IntegerField(source="product.pk")
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=4)
    tax_amount = serializers.DecimalField(max_digits=12, decimal_places=2)


class ShippingOptionSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)


class QuoteSerializer(serializers.Serializer):
    lines = QuoteLineSerializer(many=True)
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    shipping = serializers.DecimalField(max_digits=12, decimal_places=2)
    shipping_method = serializers.CharField()
    tax = TaxSerializer(many=True)
    tax_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    voucher = serializers.CharField(source="voucher.code", allow_null=True, default=None)
    shipping_methods = ShippingOptionSerializer(many=True)


class OrderEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderEvent
        fields = ["from_status", "to_status", "actor", "reason", "at"]


class OrderPaymentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = PaymentStatusField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    card_brand = serializers.CharField()
    card_last4 = serializers.CharField()
    failure_code = serializers.CharField()
    next_action = serializers.SerializerMethodField()

    @extend_schema_field(NextActionSerializer(allow_null=True))
    def get_next_action(self, payment) -> dict | None:
        return next_action_of(payment)


class OrderSerializer(serializers.ModelSerializer):
    lines = OrderLineSerializer(many=True, read_only=True)
    payment = serializers.SerializerMethodField()
    tax = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "status",
            "user",
            "lines",
            "subtotal",
            "discount",
            "shipping",
            "shipping_method",
            "tax",
            "tax_total",
            "voucher",
            "total",
            "currency",
            "created_at",
            "updated_at",
            "paid_at",
            "cancel_reason",
            "payment",
        ]

    @extend_schema_field(TaxSerializer(many=True))
    def get_tax(self, order):
        return order.tax_breakdown

    @extend_schema_field(OrderPaymentSerializer(allow_null=True))
    def get_payment(self, order):
        payment = selectors.order_latest_payment(order)
        return represent(OrderPaymentSerializer, payment) if payment else None


class OrderDetailSerializer(OrderSerializer):
    events = OrderEventSerializer(many=True, read_only=True)
    shipping_address = serializers.JSONField(read_only=True)

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "email", "shipping_address", "events"]


def _basket(request, payload: dict) -> dict:
    """The basket and delivery of a quote or order body, as the services take them."""
    from_cart = payload["from_cart"]
    return {
        "shipping_address": dict(payload["shipping_address"]),
        "lines": None
        if from_cart
        else [(item["product"], item["quantity"]) for item in payload["items"]],
        "cart": services.cart_get(user=request.user) if from_cart else None,
        "shipping_method": payload.get("shipping_method") or None,
        "voucher": payload.get("voucher") or None,
    }


class QuoteView(APIView):
    """What an order would cost: lines with their VAT, discounts, shipping and the total."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=CheckoutQuoteSerializer,
        responses={
            200: QuoteSerializer,
            400: CHECKOUT_INVALID,
            409: error_response(
                "product_unavailable", "voucher_exhausted", name="QuoteConflictError"
            ),
        },
        operation_id="checkout_quote",
    )
    def post(self, request):
        """Price an order without placing it: nothing is reserved or counted."""
        data = CheckoutQuoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        quote = services.order_quote(user=request.user, **_basket(request, data.validated_data))
        return Response(QuoteSerializer(quote).data)


def order_body(order_id: int) -> dict:
    """The order as the API shows it, freshly read."""
    order = selectors.order_detail_queryset().get(pk=order_id)
    return represent(OrderDetailSerializer, order)


# --- cart -----------------------------------------------------------------------------------
def cart_body(cart) -> dict:
    lines = selectors.cart_lines(cart)
    return CartSerializer(
        {
            "items": lines,
            "total": selectors.cart_total(lines),
            "currency": lines[0]["product"].currency if lines else settings.SHOP_CURRENCY,
        }
    ).data


class CartView(APIView):
    """The signed-in customer's cart, at current prices."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(operation_id="cart_get", responses=CartSerializer)
    def get(self, request):
        return Response(cart_body(services.cart_get(user=request.user)))


class CartItemsView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="cart_item_add",
        request=CartItemWriteSerializer,
        responses={201: CartSerializer, 409: CART_ADD_REFUSED},
    )
    def post(self, request):
        """Add units of a product to the cart."""
        data = CartItemWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cart = services.cart_get_or_create(user=request.user)
        services.cart_add_item(
            cart=cart,
            product_id=data.validated_data["product"],
            quantity=data.validated_data["quantity"],
        )
        return Response(cart_body(cart), status=status.HTTP_201_CREATED)


class CartItemView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    def _cart(self, request):
        cart = services.cart_get(user=request.user)
        if cart is None:
            raise NotFound("This product is not in the cart.")
        return cart

    @extend_schema(
        operation_id="cart_item_update",
        request=CartQuantitySerializer,
        responses={200: CartSerializer, 409: NOT_IN_STOCK},
    )
    def patch(self, request, product_id: int):
        """Set a line's quantity (0 removes it)."""
        data = CartQuantitySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cart = self._cart(request)
        try:
            services.cart_set_quantity(
                cart=cart,
                product_id=id_or_404(product_id),
                quantity=data.validated_data["quantity"],
            )
        except CartItem.DoesNotExist as exc:
            raise NotFound(str(exc)) from exc
        return Response(cart_body(cart))

    @extend_schema(operation_id="cart_item_remove", responses={200: CartSerializer})
    def delete(self, request, product_id: int):
        cart = self._cart(request)
        try:
            services.cart_remove_item(cart=cart, product_id=id_or_404(product_id))
        except CartItem.DoesNotExist as exc:
            raise NotFound(str(exc)) from exc
        return Response(cart_body(cart))


# --- orders ---------------------------------------------------------------------------------
class IsStaff(permissions.BasePermission):
    def has_permission(self, request, view):
        return bool(request.user and request.user.is_staff)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "status", str, enum=OrderStatus.values, description="Staff: by state."
            ),
            OpenApiParameter(
                "user",
                {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                description="Staff: one customer's orders.",
            ),
        ]
    )
)
class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A customer's own orders; staff see every order."""

    permission_classes = [permissions.IsAuthenticated]

    @property
    def throttle_scope(self):
        # Placing an order has its own, stricter rate (ScopedRateThrottle) on top of the API's
        # general ones; reading orders does not.
        return "orders" if getattr(self, "action", None) == "create" else None

    def get_serializer_class(self):
        return OrderSerializer if self.action == "list" else OrderDetailSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no real user
            return Order.objects.none()
        user = self.request.user
        if self.action == "list":
            if user.is_staff:
                qs = selectors.order_list(status=self.request.query_params.get("status") or None)
                customer = self.request.query_params.get("user")
                if customer:
                    if not customer.isdecimal() or int(customer) > MAX_ID:
                        raise serializers.ValidationError({"user": ["Use a user id."]})
                    qs = qs.filter(user_id=int(customer))
                return qs
            return selectors.order_list(user=user)
        # The invoice needs only the order (whose it is), not its lines and trail.
        qs = Order.objects.all() if self.action == "invoice" else selectors.order_detail_queryset()
        return qs if user.is_staff else qs.filter(user=user)

    def perform_content_negotiation(self, request, force=False):
        # The invoice answers a PDF whatever the client accepts (Accept: application/pdf
        # included), and its errors in JSON, like every other answer of the API.
        return super().perform_content_negotiation(
            request, force=force or getattr(self, "action", None) == "invoice"
        )

    def list(self, request, *args, **kwargs):
        status_filter = request.query_params.get("status")
        if status_filter and status_filter not in OrderStatus.values:
            raise serializers.ValidationError(
                {"status": [f"Unknown status; use one of {', '.join(OrderStatus.values)}."]}
            )
        return super().list(request, *args, **kwargs)

    @extend_schema(
        operation_id="order_place",
        request=PlaceOrderSerializer,
        responses={
            201: OrderDetailSerializer,
            400: CHECKOUT_INVALID,
            409: error_response(
                "product_unavailable",
                "insufficient_stock",
                "voucher_exhausted",
                "price_changed",
                "idempotency_conflict",
                name="OrderConflictError",
                note="Nothing was placed.",
            ),
        },
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                location=OpenApiParameter.HEADER,
                description="Replays return the first answer.",
            )
        ],
    )
    def create(self, request):
        """Place an order from the cart or from explicit items."""
        payload = validated(PlaceOrderSerializer, request.data)

        def place():
            order = services.order_place(
                user=request.user,
                payment_token=payload["payment"]["token"],
                expected_total=payload.get("expected_total"),
                savepoint=False,  # idempotent_call's transaction ends with any error
                detail=True,  # the answer, without reading back what was just written
                **_basket(request, payload),
            )
            return status.HTTP_201_CREATED, represent(OrderDetailSerializer, order)

        code, body, replayed = services.idempotent_call(
            user=request.user,
            scope="orders.place",
            key=request.headers.get("Idempotency-Key"),
            fingerprint=services.request_fingerprint(request.data),
            action=place,
        )
        response = Response(body, status=code)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    def _run(self, request, pk, service, **kwargs):
        # DRF's lookup: an id that is not a number is a 404, not a ValueError (500).
        order = self.get_object()
        actor = Actor.STAFF if request.user.is_staff else Actor.CUSTOMER
        service(order_id=order.id, actor=actor, user=request.user, **kwargs)
        return Response(order_body(order.id))

    @extend_schema(request=None, responses={200: OrderDetailSerializer, 409: INVALID_TRANSITION})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel before shipping: stock is released and a captured payment refunded."""
        reason = "cancelled by staff" if request.user.is_staff else "cancelled by the customer"
        return self._run(request, pk, services.order_cancel, reason=reason)

    @extend_schema(request=None, responses={200: OrderDetailSerializer, 409: INVALID_TRANSITION})
    @action(detail=True, methods=["post"], permission_classes=[IsStaff])
    def ship(self, request, pk=None):
        """Staff: hand a paid order to the carrier."""
        return self._run(request, pk, services.order_ship)

    @extend_schema(request=None, responses={200: OrderDetailSerializer, 409: INVALID_TRANSITION})
    @action(detail=True, methods=["post"], permission_classes=[IsStaff])
    def deliver(self, request, pk=None):
        """Staff: the carrier delivered the order."""
        return self._run(request, pk, services.order_deliver)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "kind",
                str,
                enum=InvoiceKind.values,
                description="invoice (the default), or credit_note: the document that cancels "
                "the invoice of an order cancelled after payment.",
            )
        ],
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The document as a PDF; Content-Disposition names the file "
                "(invoice-2026-000001.pdf).",
            ),
            404: error_response(
                "not_found",
                note="No such order of yours, or it has no such document yet (an invoice once "
                "paid, a credit note once cancelled after payment).",
            ),
        },
    )
    @action(detail=True, methods=["get"])
    def invoice(self, request, pk=None):
        """The order's invoice (or credit note) as a PDF."""
        kind = request.query_params.get("kind") or InvoiceKind.INVOICE
        if kind not in InvoiceKind.values:
            raise serializers.ValidationError(
                {"kind": [f"Use one of {', '.join(InvoiceKind.values)}."]}
            )
        order = self.get_object()
        document = selectors.order_invoice(order, kind=kind)
        if document is None:
            label = "credit note" if kind == InvoiceKind.CREDIT_NOTE else "invoice"
            raise NotFound(f"Order {order.number} has no {label} yet.")
        return invoice_response(document)

    @extend_schema(
        operation_id="return_create",
        request=ReturnRequestSerializer,
        responses={
            201: ReturnSerializer,
            409: error_response(
                "return_not_allowed",
                note="The order is not delivered, its return window has passed, or some of "
                "these units are already in another return.",
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="returns")
    def returns(self, request, pk=None):
        """Ask to send back units of a delivered order's lines, within the return window.

        201 with the return (``requested``) and what it would refund, VAT included."""
        order = self.get_object()
        data = ReturnRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        returned = services.return_request(
            order_id=order.pk,
            lines=[(row["line"], row["quantity"]) for row in data.validated_data["lines"]],
            reason=data.validated_data["reason"],
            user=request.user,
        )
        return Response(return_body(returned.pk), status=status.HTTP_201_CREATED)
