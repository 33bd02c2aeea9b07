"""Settings for the test suite: the same as production, minus what needs TLS or a worker.

Tests run over plain http (the test client, a live server for the browser), so secure-only
cookies and the https redirect are off. Celery runs eagerly unless a test starts a real worker.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-key-" + "x" * 50)

from shop.settings import *  # noqa: F403

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
# A test that starts a real worker runs it with CELERY_TASK_ALWAYS_EAGER=0.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", True)  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# The suite pays with the test gateway's tokens, with debug off (as pytest-django runs it).
PAYMENT_ALLOW_TEST_GATEWAY = env_bool("PAYMENT_ALLOW_TEST_GATEWAY", True)  # noqa: F405
# The Stripe tests run Stripe's test mode against a local server, with debug off.
STRIPE_ALLOW_TEST_KEY = env_bool("STRIPE_ALLOW_TEST_KEY", True)  # noqa: F405
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
# A fixed key for tests only (the suite and the worker processes it starts must agree).
FIELD_ENCRYPTION_KEYS = env_list(  # noqa: F405
    "FIELD_ENCRYPTION_KEYS", ["dGVzdC1vbmx5LWZpZWxkLWVuY3J5cHRpb24ta2V5ISE="]
)
# Reads stay on the primary (tests hold their data in uncommitted transactions); the replica
# tests (tests/shop/test_replica.py) turn replica reads on against the real replica.
DATABASE_REPLICA_READS = env_bool("DATABASE_REPLICA_READS", False)  # noqa: F405
