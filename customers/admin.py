from django.contrib import admin

from customers.models import Address, EmailAddress


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "country", "is_default", "created_at"]
    list_filter = ["is_default"]
    raw_id_fields = ["owner"]
    # The personal fields cannot be searched: they are encrypted in the database.
    search_fields = ["owner__username"]


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
