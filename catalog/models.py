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


OPTION_NAME = RegexValidator(
    r"^[a-z][a-z0-9_]{0,29}$", "An option name is lower-case letters, digits and '_' (size)."
)
OPTION_VALUE_MAX = 50


class Product(models.Model):
    """A product. Variants follow django-oscar: a *parent* (a T-shirt) is not sold itself; it
    names the option axes (size, colour) and its *children* are the sellable units, each with
    its own SKU, price and stock record. A *standalone* product is sold as it is.

    ``options`` holds, for a parent, its axes in order: ``[{"name": "size", "values": ["S",
    "M"]}, ...]`` (a list, since PostgreSQL's jsonb does not keep the keys of an object in
    order); for a child, its value on each axis: ``{"size": "M", "colour": "Blue"}``; for a
    standalone product, nothing."""

    class Structure(models.TextChoices):
        STANDALONE = "standalone", "Standalone"
        PARENT = "parent", "Parent (has variants)"
        CHILD = "child", "Variant (child)"

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
    structure = models.CharField(
        max_length=10, choices=Structure.choices, default=Structure.STANDALONE
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="variants",
        help_text="For a variant: the product it is a variant of.",
    )
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text='A parent\'s option axes, [{"name": "size", "values": ["S", "M"]}]; '
        'a variant\'s choice on each, {"size": "M"}.',
    )
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
            # A variant has a parent; no other product has one.
            models.CheckConstraint(
                condition=Q(structure="child", parent__isnull=False)
                | (~Q(structure="child") & Q(parent__isnull=True)),
                name="catalog_product_variant_has_parent",
            ),
            # Two variants of one parent never share their options.
            models.UniqueConstraint(
                fields=["parent", "options"],
                condition=Q(parent__isnull=False),
                name="catalog_product_variant_options_unique",
                violation_error_message="This product has a variant with these options already.",
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
        """A variant's address is its own slug; the page redirects to the parent's page with
        the variant chosen (see ``catalog.views.product_detail``)."""
        return reverse("catalog:product-detail", kwargs={"slug": self.slug})

    @property
    def is_parent(self) -> bool:
        return self.structure == self.Structure.PARENT

    @property
    def is_variant(self) -> bool:
        return self.structure == self.Structure.CHILD

    @property
    def option_axes(self) -> list[tuple[str, list[str]]]:
        """A parent's axes in order, ``[("size", ["S", "M"]), ...]`` (empty for others)."""
        if not self.is_parent or not isinstance(self.options, list):
            return []
        return [(axis["name"], list(axis["values"])) for axis in self.options]

    def variant_label(self, axes: list[tuple[str, list[str]]] | None = None) -> str:
        """A variant's options in its parent's axis order: "M / Blue"."""
        if not self.is_variant or not isinstance(self.options, dict):
            return ""
        order = [name for name, _ in (axes if axes is not None else self.parent.option_axes)]
        order += sorted(k for k in self.options if k not in order)
        return " / ".join(str(self.options[name]) for name in order if name in self.options)

    def clean(self):
        super().clean()
        errors: dict[str, list[str]] = {}
        if self.is_variant:
            self._clean_variant(errors)
        elif self.parent_id is not None:
            errors.setdefault("parent", []).append("Only a variant has a parent product.")
        if self.is_parent:
            self._clean_axes(errors)
        elif self.structure == self.Structure.STANDALONE and self.options:
            errors.setdefault("options", []).append(
                "A standalone product has no options: make it a parent or a variant."
            )
        if errors:
            raise ValidationError(errors)

    def _clean_axes(self, errors: dict) -> None:
        problem = None
        if not isinstance(self.options, list):
            problem = 'A parent\'s options are a list: [{"name": "size", "values": ["S"]}].'
        else:
            names = set()
            for axis in self.options:
                if not isinstance(axis, dict) or set(axis) != {"name", "values"}:
                    problem = 'Each axis is {"name": ..., "values": [...]}.'
                    break
                name, values = axis["name"], axis["values"]
                if not isinstance(name, str) or not OPTION_NAME.regex.match(name):
                    problem = f"Invalid option name: {name!r} (lower-case letters, digits, _)."
                    break
                if name in names:
                    problem = f"The option {name!r} is named twice."
                    break
                names.add(name)
                if (
                    not isinstance(values, list)
                    or not values
                    or not all(_option_value_ok(v) for v in values)
                    or len(set(values)) != len(values)
                ):
                    problem = (
                        f"The option {name!r} needs a list of distinct values of 1 to "
                        f"{OPTION_VALUE_MAX} characters."
                    )
                    break
        if problem:
            errors.setdefault("options", []).append(problem)

    def _clean_variant(self, errors: dict) -> None:
        parent = self.parent if self.parent_id else None
        if parent is None:
            errors.setdefault("parent", []).append("A variant needs its parent product.")
            return
        if not parent.is_parent:
            errors.setdefault("parent", []).append("The parent must be a parent product.")
            return
        if self.category_id != parent.category_id:
            errors.setdefault("category", []).append("A variant is in its parent's category.")
        axes = dict(parent.option_axes)
        options = self.options
        if not isinstance(options, dict) or not options:
            errors.setdefault("options", []).append(
                'A variant names its value on each option: {"size": "M"}.'
            )
        elif set(options) != set(axes):
            errors.setdefault("options", []).append(
                f"A variant of {parent.name} has a value for each of: {', '.join(axes)}."
            )
        else:
            for name, value in options.items():
                if value not in axes[name]:
                    errors.setdefault("options", []).append(
                        f"{value!r} is not a value of {name!r} ({', '.join(axes[name])})."
                    )


def _option_value_ok(value) -> bool:
    """1 to 50 characters, no space around, no NUL (PostgreSQL's jsonb cannot hold one)."""
    return (
        isinstance(value, str)
        and 0 < len(value.strip()) == len(value) <= OPTION_VALUE_MAX
        and "\x00" not in value
    )


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
    are made from ``image`` by a task queued when the picture is saved, and kept in the media
    storage; pages name them without looking for them."""

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
