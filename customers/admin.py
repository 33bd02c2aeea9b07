from django.contrib import admin

from customers.models import Address, EmailAddress, StockAlert, WishlistItem


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "country", "is_default", "created_at"]
    list_filter = ["is_default"]
    raw_id_fields = ["owner"]
    # The personal fields cannot be searched: they are encrypted in the database.
    search_fields = ["owner__username"]


@admin.register(WishlistItem)
class WishlistItemAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "product", "added_at"]
    raw_id_fields = ["owner", "product"]
    search_fields = ["owner__username", "product__sku"]


@admin.register(StockAlert)
class StockAlertAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "product", "created_at", "sent_at"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter)]
    raw_id_fields = ["owner", "product"]
    search_fields = ["owner__username", "product__sku"]
    # Sending is the task's: staff see the alerts, they do not mark them sent by hand.
    readonly_fields = ["claimed_at", "sent_at"]


@admin.register(EmailAddress)
class EmailAddressAdmin(admin.ModelAdmin):
    """Read-only: an address is verified by its owner opening the mailed link, never by staff."""

    list_display = ["user", "verified_at", "updated_at"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    fields = ["user", "verified_at", "created_at", "updated_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
