from django.contrib import admin

from customers.models import Address


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "country", "is_default", "created_at"]
    list_filter = ["is_default"]
    raw_id_fields = ["owner"]
    # The personal fields cannot be searched: they are encrypted in the database.
    search_fields = ["owner__username"]
