from django.contrib import admin

from inventory.models import StockItem


@admin.register(StockItem)
class StockItemAdmin(admin.ModelAdmin):
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
    readonly_fields = ["quantity", "reserved", "updated_at"]
    autocomplete_fields = ["product"]
