"""The cached pricing configuration (pricing.services.PricingConfig) goes stale with every
save or delete of what it is made of: VAT rates, zones, methods, weight bands, promotions."""

from django.db.models.signals import post_delete, post_save

from pricing.models import Promotion, ShippingMethod, ShippingZone, TaxRate, WeightBand
from pricing.services import CONFIG_AREA
from shop.cache import invalidate

CONFIG_MODELS = (TaxRate, ShippingZone, ShippingMethod, WeightBand, Promotion)


def pricing_config_changed(sender, **kwargs):
    invalidate(CONFIG_AREA)


for model in CONFIG_MODELS:
    for signal in (post_save, post_delete):
        signal.connect(
            pricing_config_changed,
            sender=model,
            dispatch_uid=f"pricing.config_changed.{signal is post_save}.{model.__name__}",
        )
