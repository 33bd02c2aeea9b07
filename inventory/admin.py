from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename

from inventory import services
from inventory.exceptions import InsufficientStock
from inventory.models import ReorderRequest, Reservation, StockItem, StockMovement
from shop.exceptions import ShopError


class StockItemForm(forms.ModelForm):
    """Reorder settings are edited in place; levels only change through an adjustment."""

    adjust_by = forms.IntegerField(
        required=False, help_text="Units to add (positive) or remove (negative)."
    )
    adjust_reason = forms.CharField(required=False, max_length=255)

    class Meta:
        model = StockItem
        fields = ["reorder_point", "reorder_quantity"]

    def clean(self):
        data = super().clean()
        if data.get("adjust_by") and not (data.get("adjust_reason") or "").strip():
            self.add_error("adjust_reason", "An adjustment needs a reason.")
        return data


@admin.register(StockItem)
class StockItemAdmin(admin.ModelAdmin):
    form = StockItemForm
    list_display = [
        "product",
        "quantity",
        "reserved",
        "available",
        "reorder_point",
        "reorder_quantity",
        "updated_at",
    ]
    list_select_related = ["product"]
    search_fields = ["product__name", "product__sku"]
    readonly_fields = ["product", "quantity", "reserved", "updated_at"]
    fields = [
        "product",
        "quantity",
        "reserved",
        "reorder_point",
        "reorder_quantity",
        "adjust_by",
        "adjust_reason",
        "updated_at",
    ]

    def has_add_permission(self, request):
        return False  # stock records appear with the first stock added

    def has_delete_permission(self, request, obj=None):
        return False  # stock only changes through the inventory services (and their ledger)

    def save_model(self, request, obj, form, change):
        # Never write quantity/reserved from the form's (possibly stale) copy of the row.
        obj.save(update_fields=["reorder_point", "reorder_quantity", "updated_at"])
        delta = form.cleaned_data.get("adjust_by")
        if delta:
            try:
                services.stock_adjust(
                    product_id=obj.product_id,
                    delta=delta,
                    reason=form.cleaned_data["adjust_reason"],
                    actor=request.user,
                )
            except InsufficientStock as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, f"Stock adjusted by {delta:+d}.", messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = ["at", "product", "kind", "delta", "reserved_delta", "reason", "reference"]
    list_filter = ["kind"]
    list_select_related = ["product"]
    search_fields = ["product__sku", "reference", "reason"]
    date_hierarchy = "at"


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = ["id", "order", "product", "quantity", "state", "expires_at", "created_at"]
    list_filter = ["state"]
    list_select_related = ["order", "product"]
    search_fields = ["order__number", "product__sku"]


@admin.register(ReorderRequest)
class ReorderRequestAdmin(ReadOnlyAdmin):
    list_display = ["id", "product", "quantity", "status", "created_at", "updated_at"]
    list_filter = ["status"]
    list_select_related = ["product"]
    search_fields = ["product__sku", "product__name"]
    actions = ["mark_ordered", "receive"]

    def has_process_permission(self, request) -> bool:
        """The actions move a request on (and receiving adds stock): for staff who may change
        reorder requests, although the screen itself edits nothing."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}")

    def _run(self, request, queryset, service, done: str):
        count = 0
        for reorder_id in list(queryset.values_list("pk", flat=True)):
            try:
                service(reorder_id=reorder_id, actor=request.user)
                count += 1
            except ShopError as exc:
                self.message_user(request, f"#{reorder_id}: {exc.message}", messages.WARNING)
        self.message_user(request, f"{count} reorder request(s) {done}.", messages.SUCCESS)

    @admin.action(description="Mark as ordered from the supplier", permissions=["process"])
    def mark_ordered(self, request, queryset):
        self._run(request, queryset, services.reorder_mark_ordered, "marked as ordered")

    @admin.action(description="Receive (adds the units to stock)", permissions=["process"])
    def receive(self, request, queryset):
        self._run(request, queryset, services.reorder_receive, "received")
