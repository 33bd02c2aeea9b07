"""Project-wide views: error pages (JSON under /api/, HTML elsewhere), health and metrics."""

import logging

from django.conf import settings
from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST

from shop.api.errors import error_body, json_not_found, json_server_error
from shop.health import run_checks
from shop.metrics import render as render_metrics

logger = logging.getLogger(__name__)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    if _is_api(request):
        return json_not_found(request, exception)
    return render(request, "404.html", status=404)


def server_error(request):
    if _is_api(request):
        return json_server_error(request)
    # Rendered without the request: no context processor (cart, user) and no database query
    # may run here, since a failing database is a likely reason to be here at all.
    html = loader.get_template("500.html").render({"SHOP_NAME": settings.SHOP_NAME})
    return HttpResponseServerError(html)


def health(request):
    """The shop and its dependencies, as API.md describes; never cached."""
    body = run_checks()
    response = JsonResponse(body, status=200 if body["status"] == "ok" else 503)
    response["Cache-Control"] = "no-store"
    return response


def _metrics_allowed(request) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        return True
    token = settings.METRICS_TOKEN
    scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
    return bool(
        token
        and scheme.lower() == "bearer"
        and constant_time_compare(supplied.strip().encode(), token.encode())
    )


@never_cache
def metrics(request):
    """Prometheus exposition for a staff session or ``Authorization: Bearer <METRICS_TOKEN>``."""
    if not _metrics_allowed(request):
        return JsonResponse(
            error_body("permission_denied", "Metrics need a staff session or the metrics token."),
            status=403,
        )
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)
