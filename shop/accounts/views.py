"""Register, log in and log out: Django's auth views with the shop's messages and templates."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from shop.accounts.forms import RegisterForm
from shop.accounts.services import user_register


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
            user = user_register(**form.account_data())
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {user.username}! Your account is ready.")
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
