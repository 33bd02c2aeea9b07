"""Staff screens of pricing: VAT rates, shipping zones and methods, vouchers, promotions."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from pricing import services
from pricing.models import (
    Promotion,
    ShippingMethod,
    ShippingZone,
    TaxRate,
    Voucher,
    VoucherUse,
    WeightBand,
)


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    list_display = ["country", "tax_class", "rate"]
    list_filter = ["tax_class", "country"]
    list_editable = ["rate"]


class ShippingMethodInline(admin.TabularInline):
    model = ShippingMethod
    extra = 0
    fields = ["code", "name", "price", "currency", "free_above", "is_active", "position"]


@admin.register(ShippingZone)
class ShippingZoneAdmin(admin.ModelAdmin):
    list_display = ["name", "countries"]
    inlines = [ShippingMethodInline]


class WeightBandInline(admin.TabularInline):
    model = WeightBand
    extra = 0


@admin.register(ShippingMethod)
class ShippingMethodAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "zone", "price", "free_above", "is_active"]
    list_filter = ["zone", "is_active"]
    inlines = [WeightBandInline]


class VoucherUseInline(admin.TabularInline):
    model = VoucherUse
    extra = 0
    can_delete = False
    fields = ["order", "user", "created_at", "released_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Voucher)
class VoucherAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "kind",
        "value",
        "min_subtotal",
        "starts_at",
        "ends_at",
        "times_used",
        "usage_limit",
        "is_active",
    ]
    list_filter = ["kind", "is_active"]
    search_fields = ["code"]
    readonly_fields = ["times_used", "created_at"]
    inlines = [VoucherUseInline]

    def save_model(self, request, obj, form, change):
        fields = {name: getattr(obj, name) for name in services.VOUCHER_FIELDS}
        existing = Voucher.objects.get(pk=obj.pk) if change else None
        try:
            saved = services.voucher_save(voucher=existing, **fields)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return
        obj.pk = saved.pk

    def has_delete_permission(self, request, obj=None):
        return obj is None or not obj.uses.exists()  # used codes stay, for the invoices


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "percentage", "starts_at", "ends_at", "is_active"]
    list_filter = ["is_active"]
    autocomplete_fields = ["category"]
