"""What prices an order beyond its goods: VAT rates per country and tax class, and shipping
methods per zone (a flat price, weight bands, free above a threshold).

Catalog prices are gross (VAT included); the tax class of a product (catalog.Product.tax_class)
and the destination country choose the rate, and the tax is extracted per line."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from catalog.models import Product

country_validator = RegexValidator(r"^[A-Z]{2}$", "A two-letter ISO 3166 country code, e.g. DE.")
TaxClass = Product.TaxClass


class TaxRate(models.Model):
    """The VAT rate of one tax class in one country (0.19 is 19%)."""

    country = models.CharField(max_length=2, validators=[country_validator])
    tax_class = models.CharField(max_length=10, choices=TaxClass.choices)
    rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )

    class Meta:
        ordering = ["country", "tax_class"]
        constraints = [
            models.UniqueConstraint(fields=["country", "tax_class"], name="pricing_rate_unique"),
            models.CheckConstraint(
                condition=Q(rate__gte=0) & Q(rate__lte=1), name="pricing_rate_between_0_and_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.tax_class}: {self.rate * 100:g}%"


class ShippingZone(models.Model):
    """Countries served alike (e.g. "Germany", "EU"). A country belongs to one zone at most."""

    name = models.CharField(max_length=80, unique=True)
    countries = models.JSONField(
        default=list, help_text='Two-letter country codes, e.g. ["DE", "AT"].'
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        codes = [str(code).upper() for code in self.countries or []]
        bad = [code for code in codes if len(code) != 2 or not code.isalpha()]
        if bad:
            raise ValidationError({"countries": f"Not country codes: {', '.join(bad)}."})
        taken = set()
        for zone in ShippingZone.objects.exclude(pk=self.pk):
            taken.update(code for code in zone.countries if code in codes)
        if taken:
            raise ValidationError(
                {"countries": f"Already in another zone: {', '.join(sorted(taken))}."}
            )
        self.countries = sorted(set(codes))


class ShippingMethod(models.Model):
    """A way of delivering to a zone: a flat price, or a price per weight band; free once the
    goods (after discounts) reach ``free_above``."""

    zone = models.ForeignKey(ShippingZone, on_delete=models.CASCADE, related_name="methods")
    code = models.SlugField(max_length=30, help_text="What clients send, e.g. standard.")
    name = models.CharField(max_length=80)
    price = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(max_length=3, default=settings.SHOP_CURRENCY)
    free_above = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Free when the goods after discounts come to this or more; empty: never free.",
    )
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["zone", "position", "price", "code"]
        constraints = [
            models.UniqueConstraint(fields=["zone", "code"], name="pricing_method_unique_code"),
            models.CheckConstraint(condition=Q(price__gte=0), name="pricing_method_price_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.zone})"


class WeightBand(models.Model):
    """Up to ``max_weight`` kg the method costs ``price`` (the lightest band that fits wins);
    a basket heavier than every band cannot go by this method."""

    method = models.ForeignKey(ShippingMethod, on_delete=models.CASCADE, related_name="bands")
    max_weight = models.DecimalField(
        max_digits=8, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))]
    )
    price = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )

    class Meta:
        ordering = ["method", "max_weight"]
        constraints = [
            models.UniqueConstraint(fields=["method", "max_weight"], name="pricing_band_unique"),
        ]

    def __str__(self) -> str:
        return f"up to {self.max_weight} kg: {self.price}"


class Voucher(models.Model):
    """A code a customer enters at checkout: a percentage or a fixed amount off the goods, or
    free shipping; valid in a window, from a minimum subtotal, a limited number of times in all
    and per customer. ``times_used`` is counted with a conditional update, like stock."""

    class Kind(models.TextChoices):
        PERCENTAGE = "percentage", "Percentage off the goods"
        FIXED = "fixed", "Fixed amount off the goods"
        FREE_SHIPPING = "free_shipping", "Free shipping"

    code = models.CharField(max_length=40, unique=True, help_text="Stored upper-case.")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Percent (0-100) for percentage, an amount for fixed, unused for shipping.",
    )
    currency = models.CharField(max_length=3, default=settings.SHOP_CURRENCY)
    min_subtotal = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0"), help_text="Goods at least this."
    )
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    usage_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    per_customer_limit = models.PositiveIntegerField(null=True, blank=True)
    times_used = models.PositiveIntegerField(default=0, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(usage_limit__isnull=True) | Q(times_used__lte=models.F("usage_limit")),
                name="pricing_voucher_within_limit",
            ),
            models.CheckConstraint(
                condition=~Q(kind="percentage") | Q(value__lte=100),
                name="pricing_voucher_percentage_lte_100",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs):
        self.code = self.code.strip().upper()
        super().save(*args, **kwargs)


class VoucherUse(models.Model):
    """One order's use of a voucher; ``released_at`` when the order was cancelled unpaid."""

    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="uses")
    order = models.OneToOneField(
        "orders.Order", on_delete=models.CASCADE, related_name="voucher_use"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["voucher", "user"], name="pricing_use_voucher_user")]

    def __str__(self) -> str:
        return f"{self.voucher} on order {self.order_id}"


class Promotion(models.Model):
    """An automatic discount: a percentage off every product of a category (and its
    sub-categories) for a period. The best promotion of a line applies; they do not stack."""

    name = models.CharField(max_length=120)
    category = models.ForeignKey(
        "catalog.Category", on_delete=models.CASCADE, related_name="promotions"
    )
    percentage = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="pricing_promotion_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.percentage}% off {self.category}"
