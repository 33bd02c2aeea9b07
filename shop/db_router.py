"""Reads that may lag go to the streaming replica; everything else stays on the primary.

With ``DATABASE_REPLICA_URL`` set, settings add a ``replica`` database alias and this router.
A read goes to the replica only when *all* of these hold:

- the code asked for it, inside ``replica_reads()``: the cache fills of ``shop.cache.cached``
  (catalog bodies, the category tree, recommendations) and the staff dashboard;
- the primary connection of this thread is not inside a transaction (checkout, payments and
  stock read the primary's truth under their row locks);
- the request is not pinned to the primary: an unsafe method (POST, PUT, PATCH, DELETE), or a
  client that wrote in the last ``DATABASE_REPLICA_PIN_SECONDS`` (read-your-writes, see
  ``ReadYourWritesMiddleware``);
- it is not a Celery task (a task may run before the replica has the row it was sent for).

Every write goes to the primary, and migrations run on the primary only (the replica copies
them). Without a replica the router is not installed and every query uses ``default``.
"""

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar

from django.conf import settings
from django.db import connections

PRIMARY = "default"
REPLICA = "replica"
# The cookie that keeps a browser on the primary for a while after it wrote.
PIN_COOKIE = "shop_primary"

_replica_allowed: ContextVar[bool] = ContextVar("replica_allowed", default=False)
_pinned: ContextVar[bool] = ContextVar("pinned_to_primary", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES and getattr(settings, "DATABASE_REPLICA_READS", True)


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads inside may be served by the replica (if the router allows: see the module)."""
    token = _replica_allowed.set(True)
    try:
        yield
    finally:
        _replica_allowed.reset(token)


@contextmanager
def primary_only() -> Iterator[None]:
    """Every read inside goes to the primary, whatever ``replica_reads()`` says."""
    token = _pinned.set(True)
    try:
        yield
    finally:
        _pinned.reset(token)


def pinned_to_primary() -> bool:
    """This request or task must read the primary (it wrote, or it is a task)."""
    return _pinned.get()


def read_alias() -> str:
    """The alias a read issued here would use."""
    if not _replica_allowed.get() or _pinned.get() or not replica_configured():
        return PRIMARY
    if connections[PRIMARY].in_atomic_block:
        return PRIMARY
    return REPLICA


class PrimaryReplicaRouter:
    """``DATABASE_ROUTERS`` entry: see the module's docstring."""

    def db_for_read(self, model, **hints):
        return read_alias()

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        # Both aliases hold the same rows: objects read from either may be related.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY


# --- Read-your-writes ----------------------------------------------------------------------

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _pin_seconds() -> int:
    return int(getattr(settings, "DATABASE_REPLICA_PIN_SECONDS", 10))


def _credential_key(request) -> str | None:
    """A cache key for an API client that authenticates by header (it keeps no cookies)."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    return "db-pin:" + hashlib.sha256(header.encode()).hexdigest()[:32]


def client_wrote_recently(request) -> bool:
    if request.COOKIES.get(PIN_COOKIE):
        return True
    key = _credential_key(request)
    if key is None:
        return False
    from django.core.cache import cache

    try:
        return bool(cache.get(key))
    except Exception:  # the cache is down: stay on the primary, which is always right
        return True


def remember_write(request, response) -> None:
    """Keep this client on the primary for the next ``DATABASE_REPLICA_PIN_SECONDS``."""
    seconds = _pin_seconds()
    response.set_cookie(
        PIN_COOKIE,
        str(int(time.time()) + seconds),
        max_age=seconds,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    key = _credential_key(request)
    if key is not None:
        from django.core.cache import cache

        # If the cache is down the cookie still pins browsers; a token client may read old rows.
        with suppress(Exception):
            cache.set(key, 1, seconds)


class ReadYourWritesMiddleware:
    """Pins to the primary every request with an unsafe method and every request of a client
    that made one in the last ``DATABASE_REPLICA_PIN_SECONDS`` (a cookie for browsers, a cache
    key per ``Authorization`` header for API clients). Installed only with a replica."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not replica_configured():  # replica reads are off: nothing to pin
            return self.get_response(request)
        wrote = request.method in UNSAFE_METHODS
        pinned = wrote or client_wrote_recently(request)
        token = _pinned.set(pinned)
        try:
            response = self.get_response(request)
        finally:
            _pinned.reset(token)
        if wrote:
            remember_write(request, response)
        return response


_task_tokens: dict = {}


def _pin_task(task_id=None, **kwargs) -> None:
    _task_tokens[task_id] = _pinned.set(True)


def _unpin_task(task_id=None, **kwargs) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        with suppress(ValueError):  # set in another context: that one ends with the task
            _pinned.reset(token)


def connect_task_signals() -> None:
    """Every Celery task reads the primary (connected by ``shop.celery``)."""
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_pin_task, weak=False, dispatch_uid="shop-db-pin-task")
    task_postrun.connect(_unpin_task, weak=False, dispatch_uid="shop-db-unpin-task")
