"""The framework's floor: a bare Django view answering a precomputed JSON body.

``GET /bench/floor/?bytes=N`` returns a JSON document of exactly N bytes (built once per size
and kept in the process), through the same middleware, server and worker as the shop's API but
without DRF, the database or the cache. Served only by bench.settings.
"""

import json

from django.http import HttpRequest, HttpResponse

MAX_BYTES = 2_000_000
_bodies: dict[int, bytes] = {}


def floor_body(size: int) -> bytes:
    """A valid JSON document of ``size`` bytes (at least the empty padding object)."""
    body = _bodies.get(size)
    if body is None:
        empty = json.dumps({"padding": ""}).encode()
        body = json.dumps({"padding": "x" * max(size - len(empty), 0)}).encode()
        _bodies[size] = body
    return body


def floor_view(request: HttpRequest) -> HttpResponse:
    try:
        size = min(max(int(request.GET.get("bytes", "1024")), 0), MAX_BYTES)
    except ValueError:
        size = 1024
    return HttpResponse(floor_body(size), content_type="application/json")
