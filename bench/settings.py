"""Settings of the benchmark server: production settings plus the framework-floor URL.

Only the bench harness starts a server with ``DJANGO_SETTINGS_MODULE=bench.settings``; the shop
itself never imports this module, so the floor view does not exist in a deployed shop.
"""

from shop.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
