"""The customer's own pages: the account overview, the address book, and changing or resetting
the password (Django's views and tokens, with the shop's templates)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from customers import selectors, services
from customers.exceptions import AddressBookFull
from customers.forms import AddressForm
from customers.wishlist import wishlist_items
from orders.selectors import order_list
from shop.api.ids import MAX_ID

# How many orders and saved products the account page shows (links lead to all of them).
ACCOUNT_RECENT = 5


@login_required
def account(request):
    return render(
        request,
        "customers/account.html",
        {
            "default_address": selectors.customer_default_address(request.user),
            "recent_orders": order_list(user=request.user)[:ACCOUNT_RECENT],
            "wishlist_items": wishlist_items(owner=request.user)[:ACCOUNT_RECENT],
        },
    )


@login_required
def address_list(request):
    return render(
        request,
        "customers/address_list.html",
        {
            "addresses": selectors.address_list(user=request.user),
            "max_addresses": services.MAX_ADDRESSES,
        },
    )


def _own_address(request, pk: int):
    # Another customer's address is a 404, as one that never existed.
    if pk > MAX_ID:
        pk = 0
    return get_object_or_404(selectors.address_list(user=request.user), pk=pk)


def _show_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


@login_required
def address_create(request):
    form = AddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.address_create(
                owner=request.user,
                make_default=form.cleaned_data["make_default"],
                **form.address_data(),
            )
        except ValidationError as exc:
            _show_errors(form, exc)
        except AddressBookFull as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "The address was added.")
            return redirect("address-list")
    return render(request, "customers/address_form.html", {"form": form, "address": None})


@login_required
def address_edit(request, pk: int):
    address = _own_address(request, pk)
    form = AddressForm(
        request.POST or None,
        initial=address.as_shipping_address(),
        with_default_choice=False,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.address_update(address=address, **form.address_data())
        except ValidationError as exc:
            _show_errors(form, exc)
        else:
            messages.success(request, "The address was saved.")
            return redirect("address-list")
    return render(request, "customers/address_form.html", {"form": form, "address": address})


@require_POST
@login_required
def address_delete(request, pk: int):
    services.address_delete(address=_own_address(request, pk))
    messages.info(request, "The address was deleted.")
    return redirect("address-list")


@require_POST
@login_required
def address_make_default(request, pk: int):
    services.address_set_default(address=_own_address(request, pk))
    messages.success(request, "That is now your default address.")
    return redirect("address-list")


class PasswordResetView(auth_views.PasswordResetView):
    """Always answers the same, whether an account has that address or not."""

    template_name = "customers/password_reset_form.html"
    subject_template_name = "emails/password_reset_subject.txt"
    email_template_name = "emails/password_reset.txt"
    html_email_template_name = "emails/password_reset.html"
    success_url = reverse_lazy("password_reset_done")
    extra_email_context = {
        "site_name": settings.SHOP_NAME,
        "shop_name": settings.SHOP_NAME,
        "shop_url": settings.SHOP_URL,
    }


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "customers/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "customers/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "customers/password_reset_complete.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "customers/password_change.html"
    success_url = reverse_lazy("account")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password was changed.")
        return response
