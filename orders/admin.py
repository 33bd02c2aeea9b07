from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from orders import services
from orders.documents import invoice_response
from orders.models import (
    Cart,
    CartItem,
    Invoice,
    Order,
    OrderEmail,
    OrderEvent,
    OrderLine,
    ReconciliationIssue,
    Return,
    ReturnLine,
)
from payments.models import Payment
from shop.admin import ReadOnlyInline
from shop.exceptions import ShopError


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["product", "product_name", "sku", "unit_price", "quantity", "line_total"]
    readonly_fields = fields


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ["at", "from_status", "to_status", "actor", "user", "reason"]
    readonly_fields = fields


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    can_delete = False
    show_change_link = True
    fields = [
        "status",
        "amount",
        "currency",
        "card_brand",
        "card_last4",
        "failure_code",
        "created_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class ReturnInline(ReadOnlyInline):
    model = Return
    fields = ["status", "reason", "refund_amount", "created_at", "refunded_at"]
    readonly_fields = fields
    show_change_link = True


def _run(modeladmin, request, queryset, service, verb):
    done = 0
    for order in queryset:
        try:
            service(
                order_id=order.id,
                actor=OrderEvent.Actor.STAFF,
                user=request.user,
                reason=f"{verb} by {request.user.username}",
            )
        except ShopError as exc:
            modeladmin.message_user(request, f"{order.number}: {exc.message}", messages.WARNING)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"{done} order(s) {verb}.", messages.SUCCESS)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "user", "status", "total", "currency", "paid_at", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["number", "user__username", "user__email"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    fields = [
        "number",
        "user",
        "email",
        "status",
        "total",
        "currency",
        "paid_at",
        "cancel_reason",
        "shipping_address",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    inlines = [OrderLineInline, PaymentInline, ReturnInline, OrderEventInline]
    actions = ["ship", "deliver", "cancel"]

    def has_add_permission(self, request):
        return False  # orders are placed by customers, through checkout

    def has_delete_permission(self, request, obj=None):
        return False  # an order is never lost: cancel it instead

    @admin.action(description="Ship selected orders", permissions=["change"])
    def ship(self, request, queryset):
        _run(self, request, queryset, services.order_ship, "shipped")

    @admin.action(description="Mark selected orders delivered", permissions=["change"])
    def deliver(self, request, queryset):
        _run(self, request, queryset, services.order_deliver, "delivered")

    @admin.action(
        description="Cancel selected orders (release stock, refund payment)", permissions=["change"]
    )
    def cancel(self, request, queryset):
        _run(self, request, queryset, services.order_cancel, "cancelled")


class CartItemInline(ReadOnlyInline):
    model = CartItem
    fields = ["product", "quantity", "added_at"]
    readonly_fields = fields


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    """Customers' carts, to look at: only the cart services change them (stock, the quantity
    cap, one currency per cart)."""

    list_display = ["id", "user", "session_key", "updated_at"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    fields = ["user", "session_key", "created_at", "updated_at"]
    readonly_fields = fields
    inlines = [CartItemInline]


@admin.register(ReconciliationIssue)
class ReconciliationIssueAdmin(admin.ModelAdmin):
    """What the nightly reconciliation found: open issues need a person."""

    list_display = ["found_at", "kind", "status", "order", "payment", "message"]
    list_filter = ["status", "kind"]
    search_fields = ["order__number", "message"]
    list_select_related = ["order", "payment"]
    date_hierarchy = "found_at"
    fields = ["found_at", "updated_at", "kind", "status", "order", "payment", "message", "details"]
    readonly_fields = [f for f in fields if f != "status"]
    actions = ["mark_resolved"]

    def has_add_permission(self, request):
        return False  # only the reconciliation writes issues

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Mark selected issues resolved", permissions=["change"])
    def mark_resolved(self, request, queryset):
        done = queryset.filter(status=ReconciliationIssue.Status.OPEN).update(
            status=ReconciliationIssue.Status.RESOLVED
        )
        self.message_user(request, f"{done} issue(s) marked resolved.", messages.SUCCESS)


@admin.register(OrderEmail)
class OrderEmailAdmin(admin.ModelAdmin):
    """The outbox of order mails: what is due, what was sent."""

    list_display = ["order", "kind", "created_at", "sent_at", "attempts"]
    list_filter = ["kind", "sent_at"]
    search_fields = ["order__number"]
    list_select_related = ["order"]
    readonly_fields = ["order", "kind", "created_at", "claimed_at", "sent_at", "attempts"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _pdf_link(invoice: Invoice) -> str:
    url = reverse("admin:orders_invoice_pdf", args=[invoice.pk])
    return format_html('<a href="{}">PDF</a>', url)


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    """Invoices and credit notes, to read and download: only the order services issue them,
    and an issued document never changes."""

    list_display = ["number", "kind", "order", "issued_at", "gross", "currency", "pdf"]
    list_filter = ["kind", "year"]
    search_fields = ["number", "order__number"]
    list_select_related = ["order"]
    date_hierarchy = "issued_at"
    fields = [
        "number",
        "kind",
        "order",
        "credits",
        "issued_at",
        "seller",
        "buyer",
        "lines",
        "taxes",
        "discount",
        "net",
        "tax",
        "gross",
        "currency",
        "pdf",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="PDF")
    def pdf(self, invoice: Invoice) -> str:
        return _pdf_link(invoice) if invoice.pk else ""

    def get_urls(self):
        return [
            path(
                "<int:invoice_id>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="orders_invoice_pdf",
            ),
            *super().get_urls(),
        ]

    def pdf_view(self, request, invoice_id: int):
        documents = Invoice.objects.select_related("order", "credits")
        invoice = get_object_or_404(documents, pk=invoice_id)
        if not self.has_view_permission(request, invoice):
            raise PermissionDenied
        return invoice_response(invoice)


class ReturnLineInline(ReadOnlyInline):
    model = ReturnLine
    fields = ["order_line", "quantity", "refund_amount", "tax_amount"]
    readonly_fields = fields


@admin.register(Return)
class ReturnAdmin(admin.ModelAdmin):
    """Customers' returns: staff approve, receive (restock, refund, credit note) or reject them,
    through the return services; nothing here edits a return directly."""

    list_display = [
        "id",
        "order",
        "status",
        "refund_amount",
        "currency",
        "created_at",
        "received_at",
        "refunded_at",
    ]
    list_filter = ["status", "created_at"]
    search_fields = ["order__number", "order__user__username"]
    list_select_related = ["order"]
    date_hierarchy = "created_at"
    fields = [
        "order",
        "status",
        "reason",
        "refund_amount",
        "currency",
        "refund",
        "staff_note",
        "requested_by",
        "created_at",
        "updated_at",
        "received_at",
        "refunded_at",
    ]
    readonly_fields = fields
    inlines = [ReturnLineInline]
    actions = ["approve", "receive", "reject"]

    def has_add_permission(self, request):
        return False  # customers ask for returns, on the order page or through the API

    def has_delete_permission(self, request, obj=None):
        return False

    def _run(self, request, queryset, verb, call):
        done = 0
        for return_id in list(queryset.order_by("pk").values_list("pk", flat=True)):
            try:
                call(return_id)
            except ShopError as exc:
                self.message_user(request, f"Return {return_id}: {exc.message}", messages.WARNING)
            else:
                done += 1
        if done:
            self.message_user(request, f"{done} return(s) {verb}.", messages.SUCCESS)

    @admin.action(description="Approve selected returns", permissions=["change"])
    def approve(self, request, queryset):
        self._run(
            request,
            queryset,
            "approved",
            lambda pk: services.return_approve(return_id=pk, user=request.user),
        )

    @admin.action(
        description="Receive selected returns (restock, refund, credit note)",
        permissions=["change"],
    )
    def receive(self, request, queryset):
        self._run(
            request,
            queryset,
            "received",
            lambda pk: services.return_receive(return_id=pk, user=request.user),
        )

    @admin.action(description="Reject selected returns", permissions=["change"])
    def reject(self, request, queryset):
        self._run(
            request,
            queryset,
            "rejected",
            lambda pk: services.return_reject(
                return_id=pk, user=request.user, reason=f"rejected by {request.user.username}"
            ),
        )
