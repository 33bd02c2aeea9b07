from django.apps import AppConfig


class ShopConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "shop"
    verbose_name = "Shop operations"

    def ready(self):
        from shop import checks, db, security, signals  # noqa: F401  (registers checks and receivers)
