"""The staff dashboard in the admin, and brute-force protection of the admin login."""

from django.contrib import admin
from django.template.response import TemplateResponse

from shop import dashboard
from shop.security import LockoutAdminAuthenticationForm

admin.site.login_form = LockoutAdminAuthenticationForm


def dashboard_view(request):
    """Orders, revenue, payments, stock, cache and recommendation figures at a glance."""
    return TemplateResponse(
        request,
        "admin/dashboard.html",
        {**admin.site.each_context(request), "title": "Dashboard", **dashboard.context()},
    )
