"""The customer's own pages: registering, signing in and out, verifying the e-mail address, the
account overview, the address book, and changing or resetting the password (Django's views and
tokens, with the shop's templates)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from customers import selectors, services
from customers.exceptions import AddressBookFull, VerificationLinkInvalid
from customers.forms import AddressForm, RegisterForm
from customers.wishlist import wishlist_items
from orders.selectors import order_list
from shop.api.ids import MAX_ID
from shop.security import page_throttle_wait, throttled_page


def safe_next(request, default: str = "/") -> str:
    """The ``next`` parameter if it points into this site, otherwise ``default``."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def register(request):
    if request.user.is_authenticated:
        return redirect(safe_next(request))
    form = RegisterForm(request.POST or None)
    next_url = safe_next(request)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_register(**form.account_data())
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request,
                f"Welcome, {user.username}! Your account is ready. We sent a link to "
                f"{user.email}: open it to confirm your e-mail address.",
            )
            return redirect(next_url)
    return render(request, "accounts/register.html", {"form": form, "next": next_url})


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, f"Welcome back, {form.get_user().username}.")
        return response


class LogoutView(auth_views.LogoutView):
    """POST only (Django's rule): a link or an image tag cannot log anyone out."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You have been logged out. See you soon.")
        return response


def email_verify(request, key: str):
    """The link from the verification mail: works signed in or not (it may be opened on
    another device), and tells how many guest orders joined the account."""
    try:
        user, claimed = services.email_verify(key=key)
    except VerificationLinkInvalid as exc:
        return render(request, "customers/email_verify.html", {"error": exc.message}, status=400)
    return render(
        request,
        "customers/email_verify.html",
        {"verified_email": user.email, "claimed": claimed},
    )


@login_required
def email_verification(request):
    """Whether the address is confirmed, and a button to mail the link again (rate-limited per
    network address, ``THROTTLE_VERIFICATION_RATE``)."""
    if request.method == "POST":
        wait = page_throttle_wait(request, "verification")
        if wait is not None:
            return throttled_page("Too many confirmation mails asked for. Try again later.", wait)
        if services.email_verification_request(user=request.user):
            messages.success(request, f"We sent a new link to {request.user.email}.")
        else:
            messages.info(request, "Your e-mail address is already confirmed.")
        return redirect("email-verification")
    return render(
        request,
        "customers/email_verification.html",
        {"verified": services.email_is_verified(request.user)},
    )


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
            "email_verified": services.email_is_verified(request.user),
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
