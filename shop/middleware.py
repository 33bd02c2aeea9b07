"""The first middleware of the stack: request id, log context and request metrics."""

import time

from django.db import connection

from shop import metrics
from shop.logging import log_context, new_request_id

REQUEST_ID_HEADER = "X-Request-ID"
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class _QueryCounter:
    """A database execute wrapper that counts the queries of one request."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def view_label(request) -> str:
    """The URL name (or route) that answered: a bounded set of labels, never a raw path."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unresolved>"
    return match.view_name or match.route or "<unnamed>"


_series: dict[tuple[str, str, str], tuple] = {}


def request_series(view: str, method: str, status: str) -> tuple:
    """The request counter, latency and query histograms of one (view, method, status),
    looked up once per process: ``labels()`` takes a lock and builds its key on every call."""
    key = (view, method, status)
    series = _series.get(key)
    if series is None:
        series = _series[key] = (
            metrics.http_requests.labels(view, method, status),
            metrics.http_latency.labels(view, method),
            metrics.http_db_queries.labels(view),
        )
    return series


class RequestContextMiddleware:
    """Gives every request an id (the caller's X-Request-ID if sane, else a uuid4), returns it
    in the X-Request-ID header, binds it to every log record of the request, and records the
    request's count, latency and database queries per view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        queries = _QueryCounter()
        started = time.perf_counter()
        with (
            log_context(request_id=request_id, request=request),
            connection.execute_wrapper(queries),
        ):
            response = self.get_response(request)
        elapsed = time.perf_counter() - started
        view = view_label(request)
        method = request.method if request.method in METHODS else "other"
        requests, latency, db_queries = request_series(view, method, str(response.status_code))
        requests.inc()
        latency.observe(elapsed)
        db_queries.observe(queries.count)
        response[REQUEST_ID_HEADER] = request_id
        return response
