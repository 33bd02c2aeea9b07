"""The catalog: a tree of categories, products, and the product graph (relations)."""

import re
import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from catalog.renditions import rendition

ATTRIBUTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,49}$")
currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. EUR.")


def validate_attributes(value) -> None:
    """Free-form attributes: a JSON object of names (letters, digits, '-', '_') to strings,
    numbers or booleans, which filters and facets can compare as text."""
    if not isinstance(value, dict):
        raise ValidationError("Attributes must be a JSON object.")
    for key, item in value.items():
        if not ATTRIBUTE_NAME.match(key) or "__" in key:
            raise ValidationError(f"Invalid attribute name: {key!r}.")
        if not isinstance(item, (str, int, float, bool)) or item is None:
            raise ValidationError(f"Attribute {key!r} must be a string, number or boolean.")
        if isinstance(item, str) and "\x00" in item:  # PostgreSQL's jsonb cannot hold it
            raise ValidationError(f"Attribute {key!r} contains a NUL character.")


def default_currency() -> str:
    return settings.SHOP_CURRENCY


class Category(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    description = models.TextField(blank=True)
    is_featured = models.BooleanField(default=False, help_text="Shown on the home page.")
    position = models.PositiveIntegerField(default=0, help_text="Order among its siblings.")

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=F("id")), name="catalog_category_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"{reverse('catalog:product-list')}?category={self.slug}"


class Product(models.Model):
    class TaxClass(models.TextChoices):
        """Which VAT rate applies (pricing.TaxRate has the rate per country and class)."""

        STANDARD = "standard", "Standard rate"
        REDUCED = "reduced", "Reduced rate (books, food)"
        ZERO = "zero", "Zero rate"

    sku = models.CharField(max_length=64, unique=True)
    slug = models.SlugField(max_length=220, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    price = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    currency = models.CharField(
        max_length=3, default=default_currency, validators=[currency_validator]
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    attributes = models.JSONField(default=dict, blank=True)
    tax_class = models.CharField(max_length=10, choices=TaxClass.choices, default=TaxClass.STANDARD)
    weight = models.DecimalField(
        max_digits=8,
        decimal_places=3,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Shipping weight in kg (weight bands of shipping methods).",
    )
    is_active = models.BooleanField(default=True)
    # How often the product was bought, carted or viewed lately; refreshed from interactions.
    popularity = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Maintained by a database trigger on PostgreSQL (weighted name > attributes > description);
    # unused on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="catalog_product_price_positive"),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="catalog_product_currency_iso"
            ),
        ]
        indexes = [
            models.Index(fields=["category", "price"], name="catalog_prod_cat_price"),
            models.Index(fields=["price"], name="catalog_prod_price"),
            models.Index(fields=["-popularity", "id"], name="catalog_prod_popularity"),
            models.Index(fields=["-created_at"], name="catalog_prod_created"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:product-detail", kwargs={"slug": self.slug})


class ProductRelation(models.Model):
    """A directed, weighted edge of the catalog graph."""

    class Kind(models.TextChoices):
        RELATED = "related", "Related"
        ACCESSORY = "accessory", "Accessory"
        SUBSTITUTE = "substitute", "Substitute"
        BUNDLE = "bundle", "Bundle"

    from_product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="outgoing_relations"
    )
    to_product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="incoming_relations"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.RELATED)
    weight = models.DecimalField(
        max_digits=5,
        decimal_places=3,
        default=Decimal("1.000"),
        validators=[MinValueValidator(Decimal("0"))],
    )

    class Meta:
        ordering = ["-weight", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["from_product", "to_product", "kind"], name="catalog_relation_unique"
            ),
            models.CheckConstraint(
                condition=~Q(from_product=F("to_product")), name="catalog_relation_no_self_loop"
            ),
            models.CheckConstraint(
                condition=Q(weight__gte=0), name="catalog_relation_weight_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_product} -[{self.kind}]-> {self.to_product}"


def product_image_path(instance: "ProductImage", filename: str) -> str:
    """Uploads go under products/<product id>/, keeping the file's own extension."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "jpg"
    return f"products/{instance.product_id}/{uuid.uuid4().hex}.{suffix}"


class ProductImage(models.Model):
    """A picture of a product. A product has several, in ``position`` order; the first is its
    primary picture (cards, lists, the API's ``thumbnail``). Renditions (catalog.renditions)
    are made from ``image`` on first use and kept in the media storage."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(
        upload_to=product_image_path, width_field="width", height_field="height", max_length=255
    )
    width = models.PositiveIntegerField(default=0, editable=False)
    height = models.PositiveIntegerField(default=0, editable=False)
    alt = models.CharField(
        max_length=200,
        blank=True,
        help_text="What the picture shows, for screen readers (the product name if empty).",
    )
    position = models.PositiveIntegerField(default=0, help_text="Order among the pictures.")
    created_at = models.DateTimeField(auto_now_add=True)

    # Not columns: django-imagekit's cached renditions of ``image`` (catalog.renditions).
    thumbnail_webp = rendition("thumbnail", "webp")
    thumbnail_jpeg = rendition("thumbnail", "jpeg")
    card_webp = rendition("card", "webp")
    card_jpeg = rendition("card", "jpeg")
    detail_webp = rendition("detail", "webp")
    detail_jpeg = rendition("detail", "jpeg")

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["product", "position", "id"], name="catalog_img_order")]

    def __str__(self) -> str:
        return self.alt or f"Picture {self.position} of product {self.product_id}"
