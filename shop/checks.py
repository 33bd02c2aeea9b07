"""System checks of the shop's own production settings.

``shop.E001`` runs under ``manage.py check --deploy``. ``shop.E002`` and ``shop.E003`` run on
every ``check``, so also before ``migrate``, ``runserver`` and every other management command:
a shop with debug off must not quietly approve test cards or sign with a public key.
``shop.E004``-``shop.E006`` (every ``check`` too) keep Stripe's live and test keys apart.
"""

from django.conf import settings
from django.core.checks import Error, Tags, register

# The card gateway that approves the test tokens of docs/API.md: never real money.
TEST_GATEWAY = "payments.gateways.test.TestGateway"
# Django's generated development keys and the shop's embedded default start with this; the
# key is public, so anything signed with it (sessions, password resets) can be forged.
INSECURE_KEY_PREFIX = "django-insecure-"


@register(Tags.security, deploy=True)
def check_field_encryption_keys(app_configs=None, **kwargs):
    """Production must encrypt personal data with its own keys, not one derived from the
    secret key (which would make rotating the secret key lose every encrypted value)."""
    keys = [k.strip() for k in getattr(settings, "FIELD_ENCRYPTION_KEYS", []) if k.strip()]
    if settings.PRODUCTION and not keys:
        return [
            Error(
                "FIELD_ENCRYPTION_KEYS is empty in production.",
                hint="Generate a key with `manage.py generate_encryption_key` and set "
                "FIELD_ENCRYPTION_KEYS to it (newest key first when rotating).",
                id="shop.E001",
            )
        ]
    return []


@register(Tags.security)
def check_test_gateway(app_configs=None, **kwargs):
    """With debug off, the test gateway is an error unless it was chosen on purpose (a smoke
    test or a benchmark of the production stack sets PAYMENT_ALLOW_TEST_GATEWAY)."""
    if settings.DEBUG or getattr(settings, "PAYMENT_ALLOW_TEST_GATEWAY", False):
        return []
    if settings.PAYMENT_GATEWAY != TEST_GATEWAY:
        return []
    return [
        Error(
            f"PAYMENT_GATEWAY is the test gateway ({TEST_GATEWAY}) and DEBUG is off: it "
            "approves the public test cards (tok_visa, 4242 4242 4242 4242), so anyone "
            "could order without paying.",
            hint="Set PAYMENT_GATEWAY to a real card gateway. To run the production stack "
            "against the test gateway on purpose (a smoke test, a benchmark), set "
            "PAYMENT_ALLOW_TEST_GATEWAY=1.",
            id="shop.E002",
        )
    ]


@register(Tags.security)
def check_development_secret_key(app_configs=None, **kwargs):
    """With debug off, the public development key is an error, on SQLite too."""
    if settings.DEBUG or not settings.SECRET_KEY.startswith(INSECURE_KEY_PREFIX):
        return []
    return [
        Error(
            "SECRET_KEY is a public development key and DEBUG is off: anyone can forge "
            "sessions and password-reset links signed with it.",
            hint="Set DJANGO_SECRET_KEY to 50 or more random characters, e.g. "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(64))'`; for local "
            "development set DJANGO_DEBUG=1 instead (`make run` does).",
            id="shop.E003",
        )
    ]


STRIPE_GATEWAY = "payments.gateways.stripe.StripeGateway"


@register(Tags.security)
def check_stripe_keys(app_configs=None, **kwargs):
    """Real money only where it belongs: a live Stripe key never with debug on (a developer's
    machine would charge real cards), a test key with debug off only when chosen on purpose
    (a shop taking orders would approve Stripe's public test cards)."""
    if settings.PAYMENT_GATEWAY != STRIPE_GATEWAY:
        return []
    key = getattr(settings, "STRIPE_SECRET_KEY", "")
    live = key.startswith(("sk_live_", "rk_live_"))
    errors = []
    if not key or not getattr(settings, "STRIPE_WEBHOOK_SECRET", ""):
        errors.append(
            Error(
                "The Stripe gateway is chosen but STRIPE_SECRET_KEY or STRIPE_WEBHOOK_SECRET "
                "is not set.",
                hint="Set both from the Stripe dashboard (Developers > API keys, Webhooks).",
                id="shop.E004",
            )
        )
    elif live and settings.DEBUG:
        errors.append(
            Error(
                "STRIPE_SECRET_KEY is a live key and DEBUG is on: this machine would charge "
                "real cards while showing tracebacks to anyone.",
                hint="Use a test key (sk_test_...) for development, or turn DEBUG off.",
                id="shop.E005",
            )
        )
    elif not live and not settings.DEBUG and not getattr(settings, "STRIPE_ALLOW_TEST_KEY", False):
        errors.append(
            Error(
                "STRIPE_SECRET_KEY is a test key and DEBUG is off: the shop would accept "
                "Stripe's public test cards as payment.",
                hint="Set a live key (sk_live_...). To run Stripe's test mode on the production "
                "stack on purpose (staging), set STRIPE_ALLOW_TEST_KEY=1.",
                id="shop.E006",
            )
        )
    return errors
