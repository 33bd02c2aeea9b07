"""Brute-force protection of every login: the API token endpoint, the storefront and the admin.

django-axes counts failed sign-ins per *username and client address together*
(``AXES_LOCKOUT_PARAMETERS``): after ``AXES_FAILURE_LIMIT`` failures within
``AXES_COOLOFF_TIME`` that username cannot sign in *from that address* for the cool-off, even
with the right password. Someone guessing a customer's (or a staff member's) password from their
own machine locks only themselves out; the real owner signs in from anywhere else as usual. An
address trying many usernames is held back by the ``login`` throttle (``THROTTLE_LOGIN_RATE``)
instead. A successful sign-in clears its own pair's failures.

Axes hooks into ``authenticate()`` (its backend refuses a locked-out pair, its receivers of
Django's login signals record failures), so every login that goes through ``authenticate()`` with
the request counts. This module gives it the shop's view of a client (the address as DRF's
throttles see it, the username without case), answers a lock-out in the shop's words (the login
page again with a message, or the API's error format), and logs each lock-out as a warning with
the username and address, never the password.
"""

import ipaddress
import logging

from axes.helpers import get_cool_off
from axes.signals import user_locked_out
from axes.utils import reset as axes_reset
from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.dispatch import receiver
from django.http import HttpResponse
from django.template import loader
from rest_framework import exceptions
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle, UserRateThrottle

logger = logging.getLogger("shop.security")

LOCKED_MESSAGE = (
    "Too many failed sign-in attempts. For your security, signing in to this account from "
    "your network is paused for {minutes} minutes."
)


def client_ip(request) -> str:
    """The client's address, as DRF's throttles see it (``NUM_PROXIES`` trusted proxies)."""
    return BaseThrottle().get_ident(request) or "unknown"


def lockout_ip(request) -> str | None:
    """``AXES_CLIENT_IP_CALLABLE``: the address the throttles see, if it is an IP address.

    Behind proxies the address comes from X-Forwarded-For, which a client can fill with
    anything: what is not an address is recorded as unknown rather than stored."""
    try:
        return str(ipaddress.ip_address(BaseThrottle().get_ident(request)))
    except (TypeError, ValueError):
        return None


def _normalise(username) -> str | None:
    return username.strip().lower()[:255] if isinstance(username, str) else None


def lockout_username(request, credentials: dict | None) -> str | None:
    """``AXES_USERNAME_CALLABLE``: the username tried, without case (``Alice`` is ``alice``)."""
    if credentials:
        return _normalise(credentials.get("username"))
    data = getattr(request, "data", None)
    if not hasattr(data, "get"):
        data = getattr(request, "POST", {})
    return _normalise(data.get("username"))


def lockout_seconds(request=None) -> int:
    cool_off = get_cool_off(request)
    return int(cool_off.total_seconds()) if cool_off else 0


def locked_message(seconds: int) -> str:
    return LOCKED_MESSAGE.format(minutes=max((seconds + 59) // 60, 1))


def is_locked_out(request) -> bool:
    """Whether axes refused (or just locked) the sign-in this request attempted."""
    return bool(getattr(request, "axes_locked_out", False))


def login_succeeded(request, *, username: str) -> None:
    """A sign-in that does not go through ``login()`` (the API token): clear the failures of its
    username and address, as axes does for ``login()`` (``AXES_RESET_ON_SUCCESS``).

    Without a known address nothing is cleared: clearing by username alone would also lift an
    attacker's lock-out elsewhere."""
    ip = lockout_ip(request)
    if ip is not None:
        axes_reset(ip=ip, username=lockout_username(request, {"username": username}))


class LoginLockedOut(exceptions.Throttled):
    """The API's answer to a locked-out sign-in: 429 ``locked_out`` with Retry-After."""

    default_code = "locked_out"

    def __init__(self, request=None):
        seconds = lockout_seconds(request)
        super().__init__(wait=seconds or None, detail=locked_message(seconds))


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``, for the login pages (the API answers for itself).

    The page the login view rendered already says why (``LockoutFormMixin``), so it is kept,
    with the status and the Retry-After of a lock-out; anything else gets the 429 page."""
    seconds = lockout_seconds(request)
    if original_response is not None and original_response.status_code == 200:
        response = original_response
    else:
        html = loader.render_to_string(
            "429.html",
            {"message": locked_message(seconds), "SHOP_NAME": settings.SHOP_NAME},
            request=None,
        )
        response = HttpResponse(html)
    response.status_code = settings.AXES_HTTP_RESPONSE_CODE
    if seconds:
        response["Retry-After"] = str(seconds)
    return response


@receiver(user_locked_out, dispatch_uid="shop-login-locked-out")
def _log_lockout(sender, request=None, username=None, ip_address=None, **kwargs):
    logger.warning(
        "login locked out: username=%r ip=%s",
        username,
        ip_address,
        extra={"username": username, "client_ip": ip_address},
    )


class LockoutFormMixin:
    """For Django's authentication forms: when axes refuses the sign-in, say so instead of
    "wrong password"."""

    def get_invalid_login_error(self):
        if is_locked_out(self.request):
            return forms.ValidationError(
                locked_message(lockout_seconds(self.request)), code="locked_out"
            )
        return super().get_invalid_login_error()


class LockoutAuthenticationForm(LockoutFormMixin, AuthenticationForm):
    pass


class LockoutAdminAuthenticationForm(LockoutFormMixin, AdminAuthenticationForm):
    pass


class LoginPageThrottle(SimpleRateThrottle):
    """The ``login`` rate (``THROTTLE_LOGIN_RATE``) for HTML login forms, per address."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AuthenticatedUserRateThrottle(UserRateThrottle):
    """The ``user`` rate, for signed-in users only.

    DRF's UserRateThrottle also counts anonymous requests, per address, which the (stricter)
    ``anon`` rate already does: two cache reads and writes per anonymous request for a limit
    that never applies first."""

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


def throttle_login_posts(view):
    """Wrap a login view: more POSTs from one address than the ``login`` rate allows get a
    429 page instead of a password check."""

    def wrapped(request, *args, **kwargs):
        if request.method == "POST":
            throttle = LoginPageThrottle()
            if not throttle.allow_request(request, None):
                wait = int(throttle.wait() or 60)
                logger.warning(
                    "login page throttled: ip=%s username=%r",
                    client_ip(request),
                    _normalise(request.POST.get("username")),
                )
                html = loader.render_to_string(
                    "429.html",
                    {
                        "message": "Too many sign-in attempts. Please wait and try again.",
                        "SHOP_NAME": settings.SHOP_NAME,
                    },
                    request=None,
                )
                response = HttpResponse(html, status=429)
                response["Retry-After"] = str(wait)
                return response
        return view(request, *args, **kwargs)

    wrapped.__name__ = getattr(view, "__name__", "login")
    wrapped.__doc__ = view.__doc__
    return wrapped


class PageThrottle(SimpleRateThrottle):
    """A rate of ``DEFAULT_THROTTLE_RATES`` applied to an HTML form's POSTs, per address."""

    def __init__(self, scope: str):
        self.scope = scope
        super().__init__()

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def page_throttle_wait(request, scope: str) -> int | None:
    """Count this request against rate ``scope`` for its address: None while within the rate,
    otherwise how many seconds to wait."""
    throttle = PageThrottle(scope)
    if throttle.allow_request(request, None):
        return None
    return int(throttle.wait() or 60)


def throttled_page(message: str, wait: int) -> HttpResponse:
    """The 429 page, with Retry-After."""
    html = loader.render_to_string(
        "429.html", {"message": message, "SHOP_NAME": settings.SHOP_NAME}, request=None
    )
    response = HttpResponse(html, status=429)
    response["Retry-After"] = str(wait)
    return response
