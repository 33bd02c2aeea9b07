"""The staff dashboard in the admin, brute-force protection of the admin login, and what
every app's admin shares."""

from django.contrib import admin
from django.template.response import TemplateResponse

from shop import dashboard
from shop.db_router import replica_reads
from shop.security import LockoutAdminAuthenticationForm

admin.site.login_form = LockoutAdminAuthenticationForm


def adopt(obj, saved) -> None:
    """Make the admin's unsaved ``obj`` the row a service has just created.

    ``ModelAdmin.save_model`` must leave its ``obj`` saved: the inlines, the log entry and the
    redirect that follow use it. A create service makes its own instance, so the admin's one
    takes over its primary key and reads the row back."""
    obj.pk = saved.pk
    obj.refresh_from_db()
    obj._state.adding = False


def changed_fields(form, allowed: set[str]) -> dict:
    """The form's changed values among ``allowed``: the ``**changes`` of an update service."""
    return {name: form.cleaned_data[name] for name in form.changed_data if name in allowed}


def given_fields(form, allowed: set[str]) -> dict:
    """The form's values among ``allowed``: the arguments of a create service."""
    return {name: form.cleaned_data[name] for name in allowed if name in form.cleaned_data}


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
    with replica_reads():  # figures a few seconds old are fine (shop.db_router)
        figures = dashboard.context()
    return TemplateResponse(
        request,
        "admin/dashboard.html",
        {**admin.site.each_context(request), "title": "Dashboard", **figures},
    )
