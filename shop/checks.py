"""System checks of the shop's own production settings (``manage.py check --deploy``)."""

from django.conf import settings
from django.core.checks import Error, Tags, register


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
