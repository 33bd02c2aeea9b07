from decimal import Decimal

from django.contrib import admin, messages

from payments import services
from payments.models import Payment, PaymentEvent, Refund, StripeEvent
from shop.admin import ReadOnlyInline
from shop.exceptions import ShopError


class PaymentEventInline(ReadOnlyInline):
    model = PaymentEvent
    fields = ["at", "kind", "name", "from_status", "to_status", "result", "error_code", "message"]
    readonly_fields = fields


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ["at", "amount", "reason", "gateway_reference", "actor"]
    readonly_fields = fields


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "order",
        "amount",
        "currency",
        "status",
        "card_brand",
        "card_last4",
        "attempts",
        "created_at",
    ]
    list_filter = ["status", "card_brand"]
    list_select_related = ["order"]
    search_fields = ["order__number", "gateway_reference", "idempotency_key"]
    exclude = ["token_reference"]  # the gateway token stays out of every screen
    readonly_fields = [
        f.name for f in Payment._meta.concrete_fields if f.name not in ("id", "token_reference")
    ]
    inlines = [RefundInline, PaymentEventInline]
    actions = ["refund_remaining"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Refund the remaining captured amount", permissions=["change"])
    def refund_remaining(self, request, queryset):
        total = Decimal("0.00")
        for payment_id in list(queryset.values_list("pk", flat=True)):
            try:
                refund = services.payment_refund(
                    payment_id=payment_id, reason="refunded by staff", actor=request.user
                )
            except ShopError as exc:
                self.message_user(request, f"Payment {payment_id}: {exc.message}", messages.ERROR)
            else:
                total += refund.amount
        self.message_user(request, f"Refunded {total} in total.", messages.SUCCESS)


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    """Stripe's webhook events as received: read only (the payload stays encrypted at rest)."""

    list_display = ["event_id", "type", "outcome", "received_at", "processed_at"]
    list_filter = ["outcome", "type"]
    search_fields = ["event_id"]
    fields = ["event_id", "type", "outcome", "received_at", "processed_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
