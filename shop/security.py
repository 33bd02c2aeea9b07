"""Brute-force protection of every login: the API token endpoint, the storefront and the admin.

Failed attempts are counted in the cache per username and per client address, within a window
(``LOGIN_LOCKOUT_WINDOW_SECONDS``). Past ``LOGIN_LOCKOUT_ATTEMPTS`` failures for a username, or
``LOGIN_LOCKOUT_IP_ATTEMPTS`` from one address, that username or address is locked out of every
login for ``LOGIN_LOCKOUT_SECONDS``, even with the right password. A lock-out is logged as a
warning with the username and address, never the password.

Failures are counted from Django's ``user_login_failed`` signal, so any login that goes through
``authenticate()`` counts; a successful login clears its username's count (not the address's:
one valid account must not let an address guess at others).
"""

import hashlib
import logging
import time

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpResponse
from django.template import loader
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle, UserRateThrottle

logger = logging.getLogger("shop.security")

LOCKED_MESSAGE = (
    "Too many failed sign-in attempts. For your security, signing in is paused for "
    "{minutes} minutes."
)


def client_ip(request) -> str:
    """The client's address, as DRF's throttles see it (``NUM_PROXIES`` trusted proxies)."""
    return BaseThrottle().get_ident(request) or "unknown"


def _normalise(username: str | None) -> str:
    return (username or "").strip().lower()


def _key(kind: str, value: str, what: str) -> str:
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"login-lockout:{what}:{kind}:{digest}"


def _subjects(username: str | None, ip: str | None) -> list[tuple[str, str, int]]:
    subjects = []
    if _normalise(username):
        subjects.append(("user", _normalise(username), settings.LOGIN_LOCKOUT_ATTEMPTS))
    if ip:
        subjects.append(("ip", ip, settings.LOGIN_LOCKOUT_IP_ATTEMPTS))
    return subjects


def lockout_remaining(*, username: str | None, ip: str | None) -> int:
    """Seconds until the username or address may log in again; 0 if not locked out."""
    keys = [_key(kind, value, "locked") for kind, value, _ in _subjects(username, ip)]
    until = [float(v) for v in cache.get_many(keys).values()]
    remaining = max(until, default=0) - time.time()
    return max(int(remaining + 0.999), 0)


def login_failed(*, username: str | None, ip: str | None) -> None:
    """Count one failed login; lock out what passed its limit."""
    window = settings.LOGIN_LOCKOUT_WINDOW_SECONDS
    for kind, value, limit in _subjects(username, ip):
        key = _key(kind, value, "failures")
        if cache.add(key, 1, timeout=window):
            failures = 1
        else:
            try:
                failures = cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=window)
                failures = 1
        if failures >= limit:
            until = time.time() + settings.LOGIN_LOCKOUT_SECONDS
            cache.set(_key(kind, value, "locked"), until, timeout=settings.LOGIN_LOCKOUT_SECONDS)
            cache.delete(key)
            logger.warning(
                "login locked out after %s failed attempts for %s: username=%r ip=%s",
                failures,
                kind,
                _normalise(username),
                ip,
                extra={"username": _normalise(username), "client_ip": ip},
            )


def login_succeeded(*, username: str | None) -> None:
    if _normalise(username):
        cache.delete(_key("user", _normalise(username), "failures"))


@receiver(user_login_failed, dispatch_uid="shop-login-failed")
def _count_failure(sender, credentials=None, request=None, **kwargs):
    username = (credentials or {}).get("username")
    ip = client_ip(request) if request is not None else None
    logger.info("failed login: username=%r ip=%s", _normalise(username), ip)
    login_failed(username=username, ip=ip)


@receiver(user_logged_in, dispatch_uid="shop-login-succeeded")
def _clear_failures(sender, request=None, user=None, **kwargs):
    login_succeeded(username=getattr(user, "username", None))


def locked_message(seconds: int) -> str:
    return LOCKED_MESSAGE.format(minutes=max((seconds + 59) // 60, 1))


class LockoutFormMixin:
    """For Django's authentication forms: refuse a locked-out username or address before
    checking the password, with a message that says why."""

    def clean(self):
        username = self.cleaned_data.get("username")
        ip = client_ip(self.request) if self.request is not None else None
        remaining = lockout_remaining(username=username, ip=ip)
        if remaining:
            logger.warning(
                "login refused while locked out: username=%r ip=%s", _normalise(username), ip
            )
            raise forms.ValidationError(locked_message(remaining), code="locked_out")
        return super().clean()


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
