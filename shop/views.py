"""Project-wide views: error pages that answer JSON under /api/ and HTML elsewhere, and health."""

import logging

from django.conf import settings
from django.db import connection
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader

from shop.api.errors import json_not_found, json_server_error

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
    """Liveness of the shop and its dependencies; never cached."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:
        logger.exception("health: database check failed")
        checks["database"] = "down"
    status = "ok" if all(v == "ok" for v in checks.values()) else "down"
    response = JsonResponse(
        {"status": status, "checks": checks}, status=200 if status == "ok" else 503
    )
    response["Cache-Control"] = "no-store"
    return response
