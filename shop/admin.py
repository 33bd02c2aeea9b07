"""The staff dashboard in the admin, and brute-force protection of the admin login."""

from django.contrib import admin
from django.template.response import TemplateResponse

from shop import dashboard
from shop.security import LockoutAdminAuthenticationForm

admin.site.login_form = LockoutAdminAuthenticationForm


class ReadOnlyInline(admin.TabularInline):
    """An inline of records that are written by the shop's services only: shown, never edited."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def dashboard_view(request):
    """Orders, revenue, payments, stock, cache and recommendation figures at a glance."""
    return TemplateResponse(
        request,
        "admin/dashboard.html",
        {**admin.site.each_context(request), "title": "Dashboard", **dashboard.context()},
    )
