"""The product API's public reads, served from the catalog cache in one Redis round trip.

For everyone but staff (who see inactive products and always read the database), a product
list or detail is the JSON answer's bytes and their ETag, cached in the "catalog" area
(``shop/cache.py``) and sent as they are when JSON is asked for; another representation (the
browsable API, indented JSON) gets the same data rendered. On Redis, the fixed-window
throttles' counters (``shop/throttling.py``) travel in the pipeline that reads the cached
answer, so a warm read costs one round trip. A list page's products' ``in_stock`` is laid over
the cached bytes from the notes read in that same round trip (``catalog/availability.py``), so
a product selling out changes the page without rebuilding it. Every answer is marked for the
HTTP caching of ``shop/http_cache.py``.
"""

import hashlib
import json
import logging
from functools import partial

from django.conf import settings
from django.http import HttpResponse
from django.utils.http import quote_etag
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from catalog import availability, selectors
from shop import cache as shop_cache
from shop.http_cache import catalog_read
from shop.throttling import HIT_COMMANDS, FixedWindowRateThrottle

logger = logging.getLogger(__name__)

# A product answer depends on the representation asked for and on who asks (staff see
# inactive products): caches keep one variant per Accept, Cookie and Authorization.
API_VARY = ("Accept", "Cookie", "Authorization")


def shown_products(body) -> set[int]:
    """Ids of the products a list or detail body shows: the results, or the product with its
    variants and related products."""
    if not isinstance(body, dict):
        return set()
    if isinstance(body.get("results"), list):
        return {item["id"] for item in body["results"] if isinstance(item, dict) and "id" in item}
    shown = {body["id"]} if "id" in body else set()
    shown |= {v["id"] for v in body.get("variants") or [] if isinstance(v, dict) and "id" in v}
    for relation in body.get("related") or []:
        product = relation.get("product") if isinstance(relation, dict) else None
        if isinstance(product, dict) and "id" in product:
            shown.add(product["id"])
    return shown


class CachedProductReadsMixin:
    """For a viewset whose ``list`` and ``retrieve`` call ``_cached_read``."""

    def _read_key(self, request) -> tuple | None:
        """The catalog cache key of a product list or detail read; None for anything else and
        for staff (who see inactive products and always read the database). The host is part
        of the key because pagination links are absolute; the value is the JSON answer's
        bytes and their ETag."""
        if self.action == "list":
            query = sorted(
                (name, value)
                for name, values in request.query_params.lists()
                for value in values
                if value != ""
            )
            key = ("product-list-json", tuple(query))
        elif self.action == "retrieve":
            key = ("product-detail-json", str(self.kwargs.get(self.lookup_field, "")))
        else:
            return None
        if request.user and request.user.is_staff:
            return None
        return (*key, request.scheme, request.get_host())

    def check_throttles(self, request):
        """For a cached read on Redis, the fixed-window throttles' counters travel in the
        pipeline that reads the cached answer: one round trip for both (shop/throttling.py).
        Anything else is throttled as DRF does it."""
        self._found = None
        key = self._key = self._read_key(request)
        if key is None or not shop_cache.on_redis():
            return super().check_throttles(request)
        waits, riders = [], []
        for throttle in self.get_throttles():
            window = None
            if isinstance(throttle, FixedWindowRateThrottle):
                window = throttle.window_key(request, self)
            if window is not None:
                riders.append((throttle, window))
            elif not throttle.allow_request(request, self):
                waits.append(throttle.wait())
        try:
            found = shop_cache.lookup(
                selectors.CATALOG_CACHE_AREA,
                key,
                extra=[partial(throttle.add_hit, key=window) for throttle, window in riders],
                notes=self.action == "list",
            )
        except Exception:  # the cache is down: throttles let it through, the read is uncached
            logger.warning("cache unavailable; catalog read not throttled", exc_info=True)
        else:
            self._found = found
            for n, (throttle, _) in enumerate(riders):
                results = found.extra[n * HIT_COMMANDS : (n + 1) * HIT_COMMANDS]
                if not throttle.allowed(results):
                    waits.append(throttle.wait())
        if waits:
            self.throttled(request, max(waits))

    def _cached_read(self, request, build):
        """A product list or detail: for everyone but staff, the JSON answer's bytes from the
        catalog cache (built by DRF on a miss), sent as they are when JSON was asked for; a
        list's with the availability noted since it was built laid over it."""
        # Computed when the throttles were checked (sorting the query, validating the host).
        key = self._key if hasattr(self, "_key") else self._read_key(request)
        if key is None:
            return catalog_read(build(), vary=API_VARY)
        listing = self.action == "list"
        found = getattr(self, "_found", None)
        if found is None and listing and not shop_cache.on_redis():
            # On Redis the throttles' lookup read the page and its notes (or found the cache
            # down); elsewhere they are read here, together.
            try:
                found = shop_cache.lookup(selectors.CATALOG_CACHE_AREA, key, notes=True)
            except Exception:  # the cache is down: cached() builds uncached
                found = None
        built = []

        def render():
            built.append(True)
            response = build()
            data = response.data
            if listing:
                # A list shows products' availability only as in_stock, laid over from notes
                # (listing tags); filtered by availability, it also depends on which products
                # match, so stock crossing zero drops it (inventory).
                tags = [availability.product_listing_tag(pk) for pk in shown_products(data)]
                if "in_stock" in request.query_params:
                    tags.append(selectors.CATALOG_STOCK_TAG)
            else:
                # A product's page (available_quantity, variants, related products) is dropped
                # when one of the products it shows crosses zero.
                tags = [selectors.product_cache_tag(pk) for pk in shown_products(data)]
            shop_cache.tag(selectors.CATALOG_CACHE_AREA, key, tags, settings.CATALOG_CACHE_SECONDS)
            context = self.get_renderer_context()

            def to_json(value) -> bytes:
                return JSONRenderer().render(value, "application/json", context)

            body, marks = (
                availability.render_marked(data, to_json) if listing else (to_json(data), b"")
            )
            return body, _etag(body), marks

        body, etag, *rest = shop_cache.cached(
            selectors.CATALOG_CACHE_AREA,
            key,
            render,
            timeout=settings.CATALOG_CACHE_SECONDS,
            found=found,
        )
        # A page built just now is as the database is; one read from the cache gets what the
        # notes say changed since it was built.
        if rest and rest[0] and not built and found is not None and found.notes:
            patched = availability.overlay(body, rest[0], found.notes)
            if patched is not None:
                body, etag = patched, _etag(patched)
        if isinstance(request.accepted_renderer, JSONRenderer) and (
            request.accepted_media_type == JSONRenderer.media_type
        ):
            response = HttpResponse(body, content_type=JSONRenderer.media_type)
            return catalog_read(response, vary=API_VARY, etag=etag)
        # Another representation (the browsable API, indented JSON): the same data, rendered.
        return catalog_read(Response(json.loads(body)), vary=API_VARY)


def _etag(body: bytes) -> str:
    """An answer's validator: the digest of its bytes, so equal bytes always get equal ETags."""
    return quote_etag(hashlib.md5(body, usedforsecurity=False).hexdigest())
