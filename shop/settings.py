"""Settings for the shop, read from the environment.

With no environment at all the shop runs on its embedded default: SQLite, the local-memory
cache and Celery in eager mode. ``DATABASE_URL``, ``REDIS_URL``, ``DJANGO_SECRET_KEY``,
``DJANGO_DEBUG`` and ``DJANGO_ALLOWED_HOSTS`` switch it to production services. See README.md
for the full list.
"""

import json
import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
DEBUG = env_bool("DJANGO_DEBUG", False)
# Production: a real database is configured. There a real secret key is mandatory.
PRODUCTION = bool(DATABASE_URL) and not DEBUG

_INSECURE_DEV_KEY = "django-insecure-embedded-default-for-local-use-only-0123456789abcdef"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DATABASE_URL is set and DJANGO_DEBUG is off."
        )
    SECRET_KEY = _INSECURE_DEV_KEY
elif PRODUCTION and (len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure")):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is too weak for production: use at least 50 random characters."
    )

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "django_fsm",
    "axes",
    "import_export",
    "imagekit",
    "shop",
    "catalog",
    "inventory",
    "payments",
    "pricing",
    "orders",
    "recommendations",
    "customers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in on a login page into its answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shop.context_processors.shop",
                "orders.context_processors.cart",
                "payments.context_processors.gateway",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL may point at PgBouncer in transaction mode (deploy/pgbouncer/): set
# DATABASE_PGBOUNCER=1 then. A server connection is the client's only for one transaction, so
# nothing may outlive one: no server-side cursors (iterator() would lose its cursor at the
# commit) and no prepared statements (PgBouncer 1.18 does not track them).
DATABASE_PGBOUNCER = env_bool("DATABASE_PGBOUNCER", False)
# A streaming replica of the primary for reads that may lag (shop/db_router.py).
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
# A client that wrote reads the primary for this long afterwards (read-your-writes).
DATABASE_REPLICA_PIN_SECONDS = env_int("DATABASE_REPLICA_PIN_SECONDS", 10)
# Off: every read uses the primary, though the replica alias exists (the test suite's default).
DATABASE_REPLICA_READS = env_bool("DATABASE_REPLICA_READS", True)
# A row lock is waited for at most this long (PostgreSQL's lock_timeout); then the transaction
# fails and its task retries, instead of piling workers up behind a stuck one. Connected
# straight to PostgreSQL, every session starts with it (a startup option, so a transaction
# pays no statement for it); behind PgBouncer the option would be dropped (its
# ignore_startup_parameters) and a session SET would reach other clients on the shared server
# connection, so there shop.db.atomic_bounded sets it per transaction (SET LOCAL). A new
# connection checks that the option arrived (shop.db.lock_bound_at_connect).
DB_LOCK_TIMEOUT_MS = env_int("DB_LOCK_TIMEOUT_MS", 5000)


def _database(url: str) -> dict:
    config = dj_database_url.parse(
        url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60), conn_health_checks=True
    )
    options = config.setdefault("OPTIONS", {})
    if DATABASE_PGBOUNCER:
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
        options["prepare_threshold"] = None
    elif config["ENGINE"] == "django.db.backends.postgresql":
        options["options"] = f"-c lock_timeout={int(DB_LOCK_TIMEOUT_MS)}ms"
    return config


if DATABASE_URL:
    DATABASES = {"default": _database(DATABASE_URL)}
    if DATABASE_REPLICA_URL:
        DATABASES["replica"] = _database(DATABASE_REPLICA_URL)
        # Tests create no database on the (read-only) replica: the alias mirrors default there.
        DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
        DATABASE_ROUTERS = ["shop.db_router.PrimaryReplicaRouter"]
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {"timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "shop"),
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "shop-default",
        }
    }

# --- Auth, i18n, static ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files (product pictures and their renditions). The embedded default keeps them in
# the local folder MEDIA_ROOT, served by the shop itself under DEBUG (`make run`) and by nginx in
# front of it otherwise (deploy/). Production may keep them in any storage django-storages
# supports instead: MEDIA_STORAGE names the backend and MEDIA_STORAGE_OPTIONS (JSON) its options,
# e.g. MEDIA_STORAGE=storages.backends.s3.S3Storage
# MEDIA_STORAGE_OPTIONS='{"bucket_name": "shop-media", "region_name": "eu-central-1"}'
# (docs/operations.md, "Product pictures").
MEDIA_URL = os.environ.get("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {
        "BACKEND": os.environ.get("MEDIA_STORAGE", "django.core.files.storage.FileSystemStorage"),
        "OPTIONS": json.loads(os.environ.get("MEDIA_STORAGE_OPTIONS") or "{}"),
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
# Where the file-based backend (django.core.mail.backends.filebased.EmailBackend) writes mails.
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / "artifacts" / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "shop@example.com")
# A password reset link works once, and for this long at most.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT_SECONDS", 3600)
SHOP_STAFF_EMAIL = os.environ.get("SHOP_STAFF_EMAIL", "staff@example.com")

# --- Security -------------------------------------------------------------------------------
# Behind a TLS terminator (load balancer, nginx) the proxy sets X-Forwarded-Proto; the
# terminator must strip any client-supplied value of that header.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = []
if not SECURE_SSL_REDIRECT and not DEBUG:
    # The TLS terminator in front of the shop owns the http -> https redirect.
    SILENCED_SYSTEM_CHECKS.append("security.W008")

# --- Django REST framework and the OpenAPI schema -------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous API call then gets 401 with a WWW-Authenticate header.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "shop.api.pagination.Pagination",
    "PAGE_SIZE": 24,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "shop.api.schema.ShopAutoSchema",
    "EXCEPTION_HANDLER": "shop.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # Request bodies are JSON only, so the schema offers one body format per operation and
    # generated clients get one typed body argument (form and multipart bodies are answered
    # 415 unsupported_media_type). The browsable API posts JSON from its raw-data form; the
    # storefront's HTML forms are Django views, not DRF.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Shop API",
    "DESCRIPTION": (
        "Catalog, inventory, cart, orders, payments and recommendations. Quick start, errors, "
        "idempotency and versioning: docs/api.md; what changed: docs/api-changelog.md."
    ),
    # The API's version, MAJOR.MINOR.PATCH, and MAJOR is the one in the paths (/api/v1/). A
    # change that can break a client needs a new MAJOR; an addition a new MINOR. CI compares the
    # served schema with the released one (clients/released-schema.json, `make clients`).
    "VERSION": "1.3.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Only /api/v1/ is documented (/api/ is the same API); tags come from the path after it.
    "PREPROCESSING_HOOKS": ["shop.api.schema.only_versioned_paths"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "shop.api.schema.complete_bodies",
    ],
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
# Without a broker, tasks run in the calling process (eager): nothing is ever queued and lost.
CELERY_TASK_ALWAYS_EAGER = env_bool(
    "CELERY_TASK_ALWAYS_EAGER", CELERY_BROKER_URL.startswith("memory://")
)
# Eager tasks behave as a worker's would: their retries run (at once), and an error after the
# last retry is logged, not raised into the request that enqueued them.
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")
# Queues, so that a training run never delays an order: each has its own workers in
# production (`celery -A shop worker -Q orders`; deploy/stack.sh). A worker started without
# -Q consumes every one of them (`make worker`, the smoke test).
CELERY_QUEUE_ORDERS = "orders"  # orders, payments, stock reservations
CELERY_QUEUE_EMAIL = "email"  # mails to customers and staff
CELERY_QUEUE_TRAINING = "training"  # recommendation training and popularity
CELERY_TASK_QUEUES = [
    Queue(name)
    for name in (
        CELERY_TASK_DEFAULT_QUEUE,
        CELERY_QUEUE_ORDERS,
        CELERY_QUEUE_EMAIL,
        CELERY_QUEUE_TRAINING,
    )
]
# Every task not named here runs on the default queue (heartbeat, purges, reconciliation,
# interactions of placed orders, renditions of saved product pictures: minutes of encoding
# after a bulk load would hold up orders or mails, and a training run would hold them up).
CELERY_TASK_ROUTES = {
    "orders.tasks.order_process_task": {"queue": CELERY_QUEUE_ORDERS},
    "orders.tasks.orders_resume_stuck_task": {"queue": CELERY_QUEUE_ORDERS},
    "payments.tasks.payment_give_back_task": {"queue": CELERY_QUEUE_ORDERS},
    "payments.tasks.payments_settle_stuck_task": {"queue": CELERY_QUEUE_ORDERS},
    "inventory.tasks.reservations_expire_task": {"queue": CELERY_QUEUE_ORDERS},
    "orders.tasks.returns_settle_pending_task": {"queue": CELERY_QUEUE_ORDERS},
    "payments.tasks.stripe_event_process_task": {"queue": CELERY_QUEUE_ORDERS},
    "orders.tasks.order_email_send_task": {"queue": CELERY_QUEUE_EMAIL},
    "orders.tasks.order_emails_send_due_task": {"queue": CELERY_QUEUE_EMAIL},
    "inventory.tasks.reorder_notify_task": {"queue": CELERY_QUEUE_EMAIL},
    "customers.tasks.email_verification_send_task": {"queue": CELERY_QUEUE_EMAIL},
    "customers.tasks.stock_alerts_send_task": {"queue": CELERY_QUEUE_EMAIL},
    "recommendations.tasks.training_run_task": {"queue": CELERY_QUEUE_TRAINING},
    "recommendations.tasks.popularity_refresh_task": {"queue": CELERY_QUEUE_TRAINING},
}
# Off: every task goes to the default queue (a test's worker listens on a queue of its own).
if not env_bool("CELERY_TASK_ROUTED", True):
    CELERY_TASK_ROUTES = {}
# A task whose worker died is redelivered after this many seconds (Redis broker).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE: dict = {}
# Tasks retry their transient errors (gateway, mail server, database) with exponential backoff
# and jitter: TASK_RETRY_BACKOFF * 2**n seconds (at most TASK_RETRY_BACKOFF_MAX), n below
# TASK_MAX_RETRIES.
TASK_RETRY_BACKOFF = env_int("TASK_RETRY_BACKOFF", 2)
TASK_RETRY_BACKOFF_MAX = env_int("TASK_RETRY_BACKOFF_MAX", 300)
TASK_MAX_RETRIES = env_int("TASK_MAX_RETRIES", 8)

# --- Encryption of personal data at rest (shop.crypto) --------------------------------------
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", [])

# --- The shop's own settings ----------------------------------------------------------------
SHOP_NAME = os.environ.get("SHOP_NAME", "Northwind Market")
# Where customers reach the shop: the base of every link in a mail (no trailing slash).
SHOP_URL = os.environ.get("SHOP_URL", "http://127.0.0.1:8000").rstrip("/")
SHOP_CURRENCY = os.environ.get("SHOP_CURRENCY", "EUR")
# How long the signed link in an order mail opens the order page without an account (guests).
ORDER_LINK_MAX_AGE_DAYS = env_int("ORDER_LINK_MAX_AGE_DAYS", 90)
# How long the link that verifies an account's e-mail address works.
EMAIL_VERIFICATION_MAX_AGE_DAYS = env_int("EMAIL_VERIFICATION_MAX_AGE_DAYS", 7)
SHOP_MAX_PRICE = Decimal("9999999999.99")
# The seller on invoices and credit notes: the address's lines separated by commas.
SHOP_SELLER_ADDRESS = env_list(
    "SHOP_SELLER_ADDRESS", ["Beispielstraße 1", "10115 Berlin", "Germany"]
)
SHOP_VAT_ID = os.environ.get("SHOP_VAT_ID", "DE000000000")

# Renditions of product pictures (django-imagekit): made by a task once a picture is saved, and
# kept in the media storage under CACHE/; a page names them without asking the storage or the
# cache whether they exist (catalog.renditions.MadeWhenSaved). Uploads larger than this are
# refused.
IMAGEKIT_CACHEFILE_DIR = "CACHE/images"
IMAGEKIT_DEFAULT_CACHEFILE_STRATEGY = "catalog.renditions.MadeWhenSaved"
IMAGEKIT_CACHE_TIMEOUT = None
PRODUCT_IMAGE_MAX_BYTES = env_int("PRODUCT_IMAGE_MAX_BYTES", 10 * 1024 * 1024)
PRODUCT_IMAGE_MAX_PIXELS = env_int("PRODUCT_IMAGE_MAX_PIXELS", 40_000_000)

# --- Logging --------------------------------------------------------------------------------
LOG_LEVEL = os.environ.get("DJANGO_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if PRODUCTION else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Orders ---------------------------------------------------------------------------------
# Ship and deliver as soon as the payment is captured (demos only; staff ship otherwise).
ORDERS_AUTO_SHIP = env_bool("ORDERS_AUTO_SHIP", False)
# An unpaid order untouched this long is handed to a worker again by the sweeper.
ORDERS_STUCK_AFTER = timedelta(seconds=env_int("ORDERS_STUCK_AFTER_SECONDS", 600))
ORDERS_IDEMPOTENCY_RETENTION = timedelta(hours=env_int("ORDERS_IDEMPOTENCY_HOURS", 48))
CELERY_BEAT_SCHEDULE["orders-resume-stuck"] = {
    "task": "orders.tasks.orders_resume_stuck_task",
    "schedule": timedelta(minutes=5),
}
CELERY_BEAT_SCHEDULE["orders-purge-idempotency"] = {
    "task": "orders.tasks.idempotency_records_purge_task",
    "schedule": timedelta(hours=6),
}
# Order mails whose task was lost are sent by this sweeper (the outbox keeps them due).
CELERY_BEAT_SCHEDULE["orders-send-due-emails"] = {
    "task": "orders.tasks.order_emails_send_due_task",
    "schedule": timedelta(minutes=5),
}

# Returns: a delivered order can be returned this many days after its delivery.
RETURNS_WINDOW_DAYS = env_int("RETURNS_WINDOW_DAYS", 30)
# Refunds of received returns whose gateway answer was lost are settled by this sweeper.
CELERY_BEAT_SCHEDULE["orders-settle-returns"] = {
    "task": "orders.tasks.returns_settle_pending_task",
    "schedule": timedelta(minutes=5),
}

# --- Operations and security (cache, metrics, logs, health, throttles; docs/operations.md) --
CACHE_DEFAULT_TIMEOUT = env_int("CACHE_DEFAULT_TIMEOUT", 300)
# A Redis outage degrades the shop instead of failing every request: cache reads miss and
# writes are dropped (logged), throttles fail open, /health/ reports it.
DJANGO_REDIS_IGNORE_EXCEPTIONS = True
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
# Product lists and details of the API; stock changes that do not cross zero show this late.
CATALOG_CACHE_SECONDS = env_int("CATALOG_CACHE_SECONDS", 60)
# A text search (PostgreSQL) ranks by relevance the first this-many matches in popularity
# order, and answers those: ranking every match read every matching row, which grows with the
# catalog (catalog.selectors.product_order).
CATALOG_SEARCH_CANDIDATES = env_int("CATALOG_SEARCH_CANDIDATES", 48)
# How long browsers, nginx's micro-cache and CDNs may keep an anonymous catalog read
# (Cache-Control: public, max-age; shop/http_cache.py). A price change shows this much later
# to a visitor whose cache holds the page.
CATALOG_HTTP_CACHE_SECONDS = env_int("CATALOG_HTTP_CACHE_SECONDS", CATALOG_CACHE_SECONDS)
# /metrics answers staff sessions and "Authorization: Bearer <METRICS_TOKEN>" (if set).
# Under several gunicorn workers, PROMETHEUS_MULTIPROC_DIR (read by prometheus-client) must
# name an empty directory shared by every web and worker process of the machine.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
HEALTH_CHECK_TIMEOUT_SECONDS = float(os.environ.get("HEALTH_CHECK_TIMEOUT_SECONDS", "2"))
HEALTH_HEARTBEAT_MAX_AGE_SECONDS = env_int("HEALTH_HEARTBEAT_MAX_AGE_SECONDS", 120)
# Load balancers probe /health/ over plain http inside the network: answer, do not redirect.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
CELERY_BEAT_SCHEDULE["shop-heartbeat"] = {"task": "shop.tasks.heartbeat", "schedule": 30.0}
MIDDLEWARE = [
    "shop.middleware.RequestContextMiddleware",
    # Outside the rest: it sees the cookies and Vary headers they add (shop/http_cache.py).
    "shop.http_cache.CatalogHttpCacheMiddleware",
    *MIDDLEWARE,
]
if "replica" in DATABASES:
    # Before the session is read: a client that just wrote reads the primary.
    MIDDLEWARE.insert(1, "shop.db_router.ReadYourWritesMiddleware")
LOGGING["filters"] = {"request_context": {"()": "shop.logging.RequestContextFilter"}}
LOGGING["handlers"]["console"]["filters"] = ["request_context"]
LOGGING["formatters"]["plain"]["format"] = (
    "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
)
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = [
    # The anon rate in fixed windows: one INCR per request (shop/throttling.py).
    "shop.throttling.AnonFixedWindowThrottle",
    "shop.security.AuthenticatedUserRateThrottle",  # anonymous clients: the anon rate only
    "rest_framework.throttling.ScopedRateThrottle",
]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "anon": os.environ.get("THROTTLE_ANON_RATE", "300/min"),
    "user": os.environ.get("THROTTLE_USER_RATE", "1200/min"),
    # Views opt in with throttle_scope: the token endpoint and storefront login, and order
    # placement (per user).
    "login": os.environ.get("THROTTLE_LOGIN_RATE", "10/min"),
    "orders": os.environ.get("THROTTLE_ORDERS_RATE", "60/min"),
    # What pages report about recommendations (impressions, clicks, carts), per client.
    "recommendation_events": os.environ.get("THROTTLE_RECOMMENDATION_EVENTS_RATE", "60/min"),
    # Per address: orders placed without an account, and verification mails asked for again.
    "guest_checkout": os.environ.get("THROTTLE_GUEST_CHECKOUT_RATE", "10/hour"),
    "verification": os.environ.get("THROTTLE_VERIFICATION_RATE", "5/hour"),
}
# Several apps have a choice set named "status": name each one, so the schema is stable.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    "OrderStatusEnum": "orders.models.OrderStatus",
    "PaymentStatusEnum": "payments.models.Payment.API_V1_STATUSES",
    "ReorderRequestStatusEnum": "inventory.models.ReorderRequest.Status",
    "ModelVersionStatusEnum": "recommendations.models.ModelVersion.Status",
}
# Behind N proxies that append to X-Forwarded-For, the client address is the Nth from the end.
REST_FRAMEWORK["NUM_PROXIES"] = env_int("NUM_PROXIES", 0)
# Login lock-out (django-axes; shop/security.py, docs/operations.md). AXES_FAILURE_LIMIT failed
# sign-ins of one username from one client address lock that pair (not the username everywhere)
# out of every login (API token, storefront, admin) until AXES_COOLOFF_SECONDS pass without a
# failure. Attempts are kept in the database (the access attempts in the admin, where staff can
# also lift a lock-out).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out pair
    "django.contrib.auth.backends.ModelBackend",
]
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("AXES_COOLOFF_SECONDS", 900))
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "shop.security.lockout_ip"  # the address the throttles see
AXES_USERNAME_CALLABLE = "shop.security.lockout_username"  # without case
AXES_LOCKOUT_CALLABLE = "shop.security.lockout_response"
# Only failures are recorded, not every successful sign-in; shop.security logs each lock-out
# (axes itself logs each failure, with the username and address masked).
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# --- Inventory and payments -----------------------------------------------------------------
# A reservation holds stock for an order this long; the sweeper hands expired ones back.
INVENTORY_RESERVATION_TTL = timedelta(seconds=env_int("INVENTORY_RESERVATION_TTL_SECONDS", 900))
CELERY_BEAT_SCHEDULE["inventory-expire-reservations"] = {
    "task": "inventory.tasks.reservations_expire_task",
    "schedule": timedelta(minutes=1),
}
# The card gateway (dotted path); the test gateway understands the tokens of docs/API.md.
PAYMENT_GATEWAY = os.environ.get("PAYMENT_GATEWAY", "payments.gateways.test.TestGateway")
# With debug off the test gateway is a system check error (shop.E002) unless this is set: for a
# smoke test or a benchmark of the production stack, never for a shop that takes real orders.
PAYMENT_ALLOW_TEST_GATEWAY = env_bool("PAYMENT_ALLOW_TEST_GATEWAY", False)
# An authorization left unanswered this many times is looked up at the gateway: if it never
# arrived there, the payment fails (a definite answer); otherwise it settles to the truth.
PAYMENT_MAX_ATTEMPTS = env_int("PAYMENT_MAX_ATTEMPTS", 3)
# A payment not finished this long after its last change is settled by the sweeper (longer
# than CELERY_TASK_TIME_LIMIT, so no gateway call of a live task can still be under way).
PAYMENT_STUCK_AFTER = timedelta(seconds=env_int("PAYMENT_STUCK_AFTER_SECONDS", 600))
# A payment waiting for the customer's authentication (3-D Secure) this long is given up: the
# gateway's authorization is cancelled, the payment fails and its order's stock is released.
PAYMENT_ACTION_EXPIRES = timedelta(seconds=env_int("PAYMENT_ACTION_EXPIRES_SECONDS", 1800))
# Stripe (PAYMENT_GATEWAY=payments.gateways.stripe.StripeGateway; docs/payments-stripe.md).
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
# Where the library sends its requests: Stripe itself, or a local server in the tests.
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "https://api.stripe.com").rstrip("/")
# The library's own retries of a request whose answer was lost (same idempotency key).
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 2)
STRIPE_TIMEOUT = env_int("STRIPE_TIMEOUT_SECONDS", 20)
# A test key (sk_test_) with debug off is a system check error unless this is set (a staging
# shop running Stripe's test mode on the production stack).
STRIPE_ALLOW_TEST_KEY = env_bool("STRIPE_ALLOW_TEST_KEY", False)
CELERY_BEAT_SCHEDULE["payments-settle-stuck"] = {
    "task": "payments.tasks.payments_settle_stuck_task",
    "schedule": timedelta(minutes=3),
}
# Every night the shop's payments, refunds and orders are compared with the gateway's records:
# those changed in the last RECONCILIATION_DAYS, and every one with an open issue.
RECONCILIATION_DAYS = env_int("RECONCILIATION_DAYS", 35)
CELERY_BEAT_SCHEDULE["orders-reconcile-payments"] = {
    "task": "orders.tasks.payments_reconcile_task",
    "schedule": crontab(hour=2, minute=30),
}

# --- Recommendations ------------------------------------------------------------------------

# Implicit feedback: each interaction adds its kind's weight to the user x product cell
# (a rating adds weight x stars / 5).
RECOMMENDATIONS_WEIGHTS = {"view": 1.0, "cart": 3.0, "purchase": 5.0, "rating": 5.0}
# Algorithms trained nightly; the one with the best validation NDCG becomes the default.
RECOMMENDATIONS_ALGORITHMS = env_list(
    "RECOMMENDATIONS_ALGORITHMS",
    ["popular", "user_knn", "item_knn", "nmf", "ease", "recent_ease", "hybrid"],
)
# An A/B split of signed-in customers between two algorithms ("ease,recent_ease"): each
# customer is served one of them, by a stable hash of the customer and the salt; the staff
# dashboard compares their click-through. Empty: everyone gets the serving model.
RECOMMENDATIONS_AB_TEST = env_list("RECOMMENDATIONS_AB_TEST", [])
if RECOMMENDATIONS_AB_TEST and len(RECOMMENDATIONS_AB_TEST) != 2:
    raise ImproperlyConfigured("RECOMMENDATIONS_AB_TEST names exactly two algorithms")
RECOMMENDATIONS_AB_SALT = os.environ.get("RECOMMENDATIONS_AB_SALT", "split-1")
RECOMMENDATIONS_PER_USER = env_int("RECOMMENDATIONS_PER_USER", 50)
# Products nobody took yet but new in the catalog (created in the last N days, at most M of
# the newest) join the training matrix, so that the hybrid model can recommend them.
RECOMMENDATIONS_NEW_DAYS = env_int("RECOMMENDATIONS_NEW_DAYS", 30)
RECOMMENDATIONS_NEW_MAX = env_int("RECOMMENDATIONS_NEW_MAX", 1000)
RECOMMENDATIONS_SIMILAR_PER_PRODUCT = env_int("RECOMMENDATIONS_SIMILAR_PER_PRODUCT", 20)
RECOMMENDATIONS_TRAINING_DAYS = env_int("RECOMMENDATIONS_TRAINING_DAYS", 365)
RECOMMENDATIONS_POPULARITY_DAYS = env_int("RECOMMENDATIONS_POPULARITY_DAYS", 30)
RECOMMENDATIONS_KEEP_VERSIONS = env_int("RECOMMENDATIONS_KEEP_VERSIONS", 3)
RECOMMENDATIONS_CACHE_SECONDS = env_int("RECOMMENDATIONS_CACHE_SECONDS", 600)
CELERY_BEAT_SCHEDULE["recommendations-train-nightly"] = {
    "task": "recommendations.tasks.training_run_task",
    "schedule": crontab(hour=3, minute=0),
}
CELERY_BEAT_SCHEDULE["recommendations-popularity"] = {
    "task": "recommendations.tasks.popularity_refresh_task",
    "schedule": timedelta(hours=1),
}
