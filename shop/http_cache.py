"""HTTP caching of anonymous catalog reads (browsers, nginx's micro-cache, a CDN).

A view marks a response as a catalog read (``catalog_read(response, vary=...)``); the
``CatalogHttpCacheMiddleware`` then decides, once every other middleware has had its say (the
session's ``Vary: Cookie``, the CSRF cookie, the messages), whether anyone may keep it:

- **shared** when nothing about the answer is the visitor's: a GET or HEAD answered 200, no
  ``Authorization`` header, no session cookie or read-your-writes cookie, an anonymous user,
  and no cookie set by the response (a page with a CSRF-protected form sets one: Django's own
  cache middleware refuses such a page for the same reason). It gets ``Cache-Control: public,
  max-age=CATALOG_HTTP_CACHE_SECONDS``, an ``ETag`` (the view's, derived from the cached body,
  or the MD5 of the body Django's ``set_response_etag`` computes) and a ``304 Not Modified`` when
  the request's ``If-None-Match`` names it (``django.utils.cache.get_conditional_response``);
- **private** otherwise: ``Cache-Control: private, no-cache`` and no ``ETag``.

Both carry the view's ``Vary`` (the API: ``Accept, Cookie, Authorization``; the storefront:
``Cookie``), so a cache never gives one visitor's variant to another. Compression is nginx's,
which adds ``Vary: Accept-Encoding`` itself (``gzip_vary``).
"""

from django.conf import settings
from django.utils.cache import (
    get_conditional_response,
    patch_cache_control,
    patch_vary_headers,
    set_response_etag,
)

from shop import db_router

_MARK = "catalog_http_cache_vary"


def catalog_read(response, *, vary: tuple[str, ...] = (), etag: str | None = None):
    """Mark ``response`` as a catalog read the middleware may let caches keep."""
    setattr(response, _MARK, vary)
    if etag is not None:
        response["ETag"] = etag
    return response


def cache_seconds() -> int:
    return int(getattr(settings, "CATALOG_HTTP_CACHE_SECONDS", settings.CATALOG_CACHE_SECONDS))


def without_credentials(request) -> bool:
    """The request carries nothing that identifies a visitor to the shop: no Authorization
    header, no session cookie, no read-your-writes cookie."""
    if "HTTP_AUTHORIZATION" in request.META:
        return False
    cookies = request.COOKIES
    return settings.SESSION_COOKIE_NAME not in cookies and db_router.PIN_COOKIE not in cookies


def shareable(request, response) -> bool:
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return False
    if response.cookies or not without_credentials(request):
        return False
    user = getattr(request, "user", None)
    return not (user is not None and user.is_authenticated)


class CatalogHttpCacheMiddleware:
    """Cache-Control, ETag, Vary and 304s for the responses views mark with ``catalog_read``.

    Near the top of ``MIDDLEWARE`` (only the request context and read-your-writes middleware
    are outside it), so it sees the cookies and Vary headers the others add."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        vary = getattr(response, _MARK, None)
        if vary is None:
            return response
        if vary:
            patch_vary_headers(response, vary)
        if not shareable(request, response):
            if response.has_header("ETag"):
                del response["ETag"]
            patch_cache_control(response, private=True, no_cache=True)
            return response
        patch_cache_control(response, public=True, max_age=cache_seconds())
        if not response.has_header("ETag"):
            set_response_etag(response)
        return get_conditional_response(request, etag=response.get("ETag"), response=response)
