from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from payments import services
from payments.models import Payment, PaymentEvent, Refund, StripeEvent
from shop.admin import ReadOnlyInline
from shop.exceptions import ShopError


class PartialRefundForm(forms.Form):
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    reason = forms.CharField(max_length=255)


class PaymentEventInline(ReadOnlyInline):
    model = PaymentEvent
    fields = ["at", "kind", "name", "from_status", "to_status", "result", "error_code", "message"]
    readonly_fields = fields


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ["at", "amount", "reason", "status", "gateway_reference", "actor"]
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
    actions = ["refund_part", "refund_remaining"]

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

    @admin.action(description="Refund part of the selected payment…", permissions=["change"])
    def refund_part(self, request, queryset):
        """Ask for an amount and a reason, then refund them through the payment service (the
        same checks as the API: never more than captured and not yet refunded)."""
        payments = list(queryset[:2])
        if len(payments) != 1:
            self.message_user(request, "Select exactly one payment to refund.", messages.ERROR)
            return None
        payment = payments[0]
        form = PartialRefundForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            try:
                refund = services.payment_refund(
                    payment_id=payment.pk,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                )
            except ShopError as exc:
                self.message_user(request, f"Payment {payment.pk}: {exc.message}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Refund of {refund.amount} {payment.currency} recorded ({refund.status}).",
                    messages.SUCCESS,
                )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Refund part of payment {payment.pk}",
            "opts": self.model._meta,
            "payment": payment,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/payments/payment/refund_part.html", context)


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
