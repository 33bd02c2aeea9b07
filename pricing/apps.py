from django.apps import AppConfig


class PricingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "pricing"
    verbose_name = "Pricing: tax, shipping, vouchers"

    def ready(self):
        from pricing import receivers  # noqa: F401 - connects the configuration cache's receivers
