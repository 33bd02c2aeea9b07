import os
import sys

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")


def _import_rest_framework_without_requests() -> None:
    """DRF's compat module imports ``requests`` if it is installed, for its test client
    (``rest_framework.test.RequestsClient``) only. With urllib3, charset_normalizer and idna
    that is about 4.5 MiB in every web worker, which never uses that client. Importing
    the compat module first, with ``requests`` marked absent, leaves it out; the mark is
    removed at once, so any code that imports ``requests`` later gets the real module."""
    if "requests" in sys.modules or "rest_framework.compat" in sys.modules:
        return
    sys.modules["requests"] = None  # makes `import requests` raise ImportError
    try:
        import rest_framework.compat  # noqa: F401
    finally:
        del sys.modules["requests"]


_import_rest_framework_without_requests()
application = get_wsgi_application()
