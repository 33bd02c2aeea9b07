"""Context for log records: the request id, the user, and whatever the code binds on the way.

``RequestContextMiddleware`` opens a context per request and ``shop.signals`` one per Celery
task; ``RequestContextFilter`` (installed on the console handler in settings) copies it onto
every record, so a JSON log line carries ``request_id``, ``user_id`` and, once bound, e.g.
``order_number``:

    from shop.logging import bind

    bind(order_number=order.number)
    logger.info("payment authorised")   # ... "order_number": "SO-2026-000042" ...
"""

import logging
import re
import uuid
from contextlib import contextmanager
from contextvars import ContextVar

from django.utils.functional import empty

_request_id: ContextVar[str | None] = ContextVar("shop_request_id", default=None)
_request: ContextVar[object | None] = ContextVar("shop_request", default=None)
_bound: ContextVar[dict | None] = ContextVar("shop_log_fields", default=None)

# An incoming X-Request-ID is kept only if it looks like an id: no spaces, quotes or control
# characters that could forge log lines or headers.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
# Names a bound field may not take: they would overwrite the record's own attributes.
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def new_request_id(incoming: str | None = None) -> str:
    """The caller's id if it is sane, otherwise a fresh uuid4."""
    if incoming and _SANE_REQUEST_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


@contextmanager
def log_context(*, request_id: str, request=None):
    """Everything logged inside the block carries ``request_id`` (and the request's user)."""
    tokens = (_request_id.set(request_id), _request.set(request), _bound.set({}))
    try:
        yield
    finally:
        _bound.reset(tokens[2])
        _request.reset(tokens[1])
        _request_id.reset(tokens[0])


def current_request_id() -> str | None:
    return _request_id.get()


def bind(**fields) -> None:
    """Add fields (``order_number=...``) to every later record of this request or task."""
    clashes = set(fields) & _RESERVED
    if clashes:
        raise ValueError(f"Cannot bind reserved log record attributes: {sorted(clashes)}")
    bound = _bound.get()
    if bound is None:  # outside a request or task: bind for the rest of this context
        bound = {}
        _bound.set(bound)
    bound.update(fields)


def _user_id(request) -> int | None:
    """The id of the request's user if authentication already ran; never triggers a query."""
    if request is None:
        return None
    user = getattr(request, "__dict__", {}).get("user")
    if user is None:
        return None
    wrapped = getattr(user, "_wrapped", user)  # Django's lazy user, once evaluated
    if wrapped is empty or not getattr(wrapped, "is_authenticated", False):
        return None
    return wrapped.pk


class RequestContextFilter(logging.Filter):
    """Adds ``request_id``, ``user_id`` and the bound fields to each record (``-`` if none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or "-"
        record.user_id = _user_id(_request.get())
        for key, value in (_bound.get() or {}).items():
            setattr(record, key, value)
        return True
