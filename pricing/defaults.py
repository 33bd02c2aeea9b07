"""The configuration a shop in Europe needs on its first day: VAT rates of the countries it
ships to, one zone and two shipping methods. Installed by a data migration; staff change it in
the admin afterwards (installing again never overwrites what they changed)."""

from decimal import Decimal

from django.apps import apps as installed_apps

# country: (standard, reduced, zero)
RATES = {
    "DE": ("0.19", "0.07", "0"),
    "FR": ("0.20", "0.055", "0"),
    "AT": ("0.20", "0.10", "0"),
    "BE": ("0.21", "0.06", "0"),
    "ES": ("0.21", "0.10", "0"),
    "IT": ("0.22", "0.10", "0"),
    "NL": ("0.21", "0.09", "0"),
    "GB": ("0.20", "0.05", "0"),
}
# code, name, price, free above, position
METHODS = [
    ("standard", "Standard delivery (3-5 days)", "4.90", "50.00", 0),
    ("express", "Express delivery (next day)", "9.90", None, 1),
]


def install(apps=installed_apps) -> None:
    """Create what is missing (``apps``: the migration's historical models, or the live ones)."""
    TaxRate = apps.get_model("pricing", "TaxRate")
    ShippingZone = apps.get_model("pricing", "ShippingZone")
    ShippingMethod = apps.get_model("pricing", "ShippingMethod")
    for country, rates in RATES.items():
        for tax_class, rate in zip(("standard", "reduced", "zero"), rates, strict=True):
            TaxRate.objects.get_or_create(
                country=country, tax_class=tax_class, defaults={"rate": Decimal(rate)}
            )
    zone, _ = ShippingZone.objects.get_or_create(
        name="Europe", defaults={"countries": sorted(RATES)}
    )
    for code, name, price, free_above, position in METHODS:
        ShippingMethod.objects.get_or_create(
            zone=zone,
            code=code,
            defaults={
                "name": name,
                "price": Decimal(price),
                "currency": "EUR",
                "free_above": Decimal(free_above) if free_above else None,
                "position": position,
            },
        )
