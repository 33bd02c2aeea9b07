"""Catalog files: the product columns read and written by django-import-export.

One format both ways (``manage.py import_products`` / ``export_products`` and the admin's
import and export): ``sku, name, category`` (slug), ``price, currency, tax_class,
description, attributes`` (a JSON object), ``stock`` (units in the warehouse), ``weight,
is_active, parent_sku, options`` (JSON). A row is found by its SKU: a known SKU updates that
product, a new one creates it. An import is all or nothing: every row is checked, every bad
row is reported with its line in the file (the header is line 1), and one bad row leaves the
catalog and the stock exactly as they were. Stock changes go through the inventory services,
so the stock ledger shows the import; parents and variants (``parent_sku``, ``options``) go
through the catalog services, after the other rows.

Written for 100,000 rows: products are created and updated in bulk, the products, stock
records, categories and slugs that rows refer to are read once per import (in chunks), and
the per-row checks are the model's field checks without their database queries.
"""

import json
from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from import_export import fields, resources, results, widgets
from import_export.instance_loaders import BaseInstanceLoader

from catalog import services
from catalog.models import Category, Product, default_currency, validate_attributes
from catalog.selectors import CATALOG_CACHE_AREA
from inventory.models import StockItem
from inventory.services import OpeningStock, stock_adjust, stock_open
from shop.cache import invalidate
from shop.db import bulk_insert

COLUMNS = [
    "sku",
    "name",
    "category",
    "price",
    "currency",
    "tax_class",
    "description",
    "attributes",
    "stock",
    "weight",
    "is_active",
    "parent_sku",
    "options",
]
# The product's own fields an import writes (the SKU finds the product, the slug stays).
UPDATED_FIELDS = [
    "name",
    "category",
    "price",
    "currency",
    "tax_class",
    "description",
    "attributes",
    "weight",
    "is_active",
]
# The columns a new product is written with (the id comes from the table's sequence, the
# search vector from its trigger).
INSERTED_FIELDS = [
    "sku",
    "slug",
    *UPDATED_FIELDS,
    "structure",
    "parent",
    "options",
    "popularity",
    "created_at",
    "updated_at",
]
NOT_FROM_THE_FILE = [
    "category",
    "search_vector",
    "slug",
    "structure",
    "parent",
    "options",
    "popularity",
    "created_at",
    "updated_at",
]
REQUIRED_COLUMNS = ["sku", "name", "category", "price"]
CHUNK = 900  # ids per IN (...) list: under SQLite's limit on query parameters
IMPORT_REASON = "catalog import"


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


JSON_OBJECT_EXAMPLE = '{"color": "black"}'


def _json_cell(value, column: str):
    """A JSON object from a cell: empty means {}."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        raise ValueError(f'{column} must be a JSON object, e.g. {{"color": "black"}}.') from None
    if not isinstance(parsed, dict):
        raise ValueError(f'{column} must be a JSON object, e.g. {{"color": "black"}}.')
    return parsed


class AttributesWidget(widgets.Widget):
    """A JSON object in a cell; written with sorted keys, so an export is stable."""

    def clean(self, value, row=None, **kwargs):
        attributes = _json_cell(value, "attributes")
        try:
            validate_attributes(attributes)
        except ValidationError as error:
            raise ValueError(" ".join(error.messages)) from None
        return attributes

    def render(self, value, obj=None, **kwargs):
        return json.dumps(value or {}, sort_keys=True, ensure_ascii=False)


class NumberWidget(widgets.DecimalWidget):
    """A decimal number; anything else is a bad cell, not a failed import."""

    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row=row, **kwargs)
        except (InvalidOperation, ValueError, TypeError):
            raise ValueError(f"Enter a number, e.g. 19.99 (not {value!r}).") from None


class CategorySlugWidget(widgets.Widget):
    """A category by its slug, from a map the resource reads once per import."""

    def __init__(self, resource: "ProductResource"):
        super().__init__()
        self.resource = resource

    def clean(self, value, row=None, **kwargs):
        slug = (value or "").strip()
        if not slug:
            raise ValueError("Give the category's slug.")
        category = self.resource.categories().get(slug)
        if category is None:
            raise ValueError(f"Unknown category: {slug}.")
        return category

    def render(self, value, obj=None, **kwargs):
        return value.slug if value is not None else ""


class ActiveWidget(widgets.BooleanWidget):
    """true/false (1/0, yes/no); an empty cell keeps the product as it is (new: active)."""

    TRUE = {"1", "true", "yes", "y"}
    FALSE = {"0", "false", "no", "n"}

    def clean(self, value, row=None, **kwargs):
        text = str(value if value is not None else "").strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        if text == "":
            return None
        raise ValueError("is_active must be true or false.")

    def render(self, value, obj=None, **kwargs):
        return "true" if value else "false"


class ProductLoader(BaseInstanceLoader):
    """Every product the file names, with its stock record, read in a few queries."""

    def __init__(self, resource, dataset=None):
        super().__init__(resource, dataset)
        skus = []
        if dataset is not None and "sku" in (dataset.headers or []):
            skus = sorted({str(v).strip() for v in dataset["sku"] if v is not None})
        self.products: dict[str, Product] = {}
        for chunk in _chunks(skus):
            for product in Product.objects.filter(sku__in=chunk).select_related(
                "category", "parent"
            ):
                self.products[product.sku] = product
        resource.stock_levels = {}
        ids = [p.pk for p in self.products.values()]
        for chunk in _chunks(ids):
            for pk, quantity, reserved in StockItem.objects.filter(pk__in=chunk).values_list(
                "pk", "quantity", "reserved"
            ):
                resource.stock_levels[pk] = (quantity, reserved)

    def get_instance(self, row):
        return self.products.get(str(row.get("sku") or "").strip())


class LineNumberResult(results.Result):
    """Rows are numbered as lines of the file: the header is line 1, the first row line 2."""

    def append_invalid_row(self, number, row, validation_error):
        super().append_invalid_row(number + 1, row, validation_error)

    def append_error_row(self, number, row, errors):
        super().append_error_row(number + 1, row, errors)


class LineNumberError(results.Error):
    def __init__(self, error, row=None, number=None):
        super().__init__(error, row=row, number=None if number is None else number + 1)


class ProductResource(resources.ModelResource):
    category = fields.Field(attribute="category", column_name="category")
    price = fields.Field(attribute="price", column_name="price", widget=NumberWidget())
    weight = fields.Field(
        attribute="weight", column_name="weight", widget=NumberWidget(), default=Decimal("0")
    )
    attributes = fields.Field(
        attribute="attributes", column_name="attributes", widget=AttributesWidget()
    )
    is_active = fields.Field(
        attribute="is_active",
        column_name="is_active",
        widget=ActiveWidget(),
        saves_null_values=False,  # an empty cell keeps what the product had
    )
    # Not fields of Product: stock goes through the inventory services after the products are
    # saved; parents and variants (parent_sku, options) through the catalog services.
    stock = fields.Field(column_name="stock")
    parent_sku = fields.Field(column_name="parent_sku")
    options = fields.Field(column_name="options")

    class Meta:
        model = Product
        fields = COLUMNS
        import_order = COLUMNS
        export_order = COLUMNS
        import_id_fields = ["sku"]
        instance_loader_class = ProductLoader
        use_bulk = True
        batch_size = 1000
        skip_diff = True
        clean_model_instances = False  # validate_instance checks the fields without queries
        use_transactions = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.fields["category"].widget = CategorySlugWidget(self)
        self._categories: dict[str, Category] | None = None
        self.stock_levels: dict[int, tuple[int, int]] = {}
        self._reset()

    def _reset(self):
        self.stock_wanted: list[tuple[Product, int]] = []
        self.seen_skus: dict[str, int] = {}
        self.new_slugs: set[str] = set()
        self.taken_slugs: set[str] = set()
        self.slugs: dict[tuple[str, str], str] = {}  # (name, SKU) -> a new product's slug
        # Parents and variants: saved through the catalog services after the other rows.
        self.structured: list[tuple[int, dict, Product]] = []
        self.catalog_parents: dict[str, Product] = {}
        self.file_parents: set[str] = set()

    def categories(self) -> dict[str, Category]:
        if self._categories is None:
            self._categories = {c.slug: c for c in Category.objects.all()}
        return self._categories

    def get_result_class(self):
        return LineNumberResult

    def get_error_result_class(self):
        return LineNumberError

    def get_bulk_update_fields(self):
        return [*UPDATED_FIELDS, "updated_at"]

    def bulk_create(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        """New products in one COPY (see ``shop.db.bulk_insert``), each given its id."""
        if not self.create_instances:
            return
        try:
            bulk_insert(
                model=Product, objs=self.create_instances, fields=INSERTED_FIELDS, new_ids=True
            )
        except Exception as error:
            self.handle_import_error(result, error, raise_errors)
        finally:
            self.create_instances.clear()

    def bulk_update(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        """One UPDATE per changed product, sent as a batch (Django's bulk_update builds a CASE
        per field and row, which costs seconds per thousand rows)."""
        if not self.update_instances:
            return
        fields = [Product._meta.get_field(name) for name in self.get_bulk_update_fields()]
        table = connection.ops.quote_name(Product._meta.db_table)
        assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
        sql = f"UPDATE {table} SET {assignments} WHERE id = %s"
        params = [
            [
                *(f.get_db_prep_save(getattr(p, f.attname), connection) for f in fields),
                p.pk,
            ]
            for p in self.update_instances
        ]
        try:
            with connection.cursor() as cursor:
                cursor.executemany(sql, params)
        except Exception as error:
            self.handle_import_error(result, error, raise_errors)
        finally:
            self.update_instances.clear()

    # --- export -----------------------------------------------------------------------------
    def get_queryset(self):
        return Product.objects.select_related("category", "stock", "parent").order_by("sku")

    def dehydrate_stock(self, product) -> str:
        stock = getattr(product, "stock", None) if hasattr(product, "stock") else None
        return str(stock.quantity) if stock is not None else "0"

    def dehydrate_parent_sku(self, product) -> str:
        return product.parent.sku if product.parent_id else ""

    def dehydrate_options(self, product) -> str:
        if product.is_parent:
            return json.dumps(dict(product.option_axes), ensure_ascii=False)
        if product.is_variant:
            return json.dumps(product.options, ensure_ascii=False)
        return ""

    # --- import -----------------------------------------------------------------------------
    def import_data(self, dataset, **kwargs):
        # All or nothing, however it is called (the admin's confirmation step included).
        kwargs["rollback_on_validation_errors"] = True
        kwargs["use_transactions"] = True
        self._reset()
        return super().import_data(dataset, **kwargs)

    def before_import(self, dataset, **kwargs):
        headers = [str(h).strip() for h in (dataset.headers or [])]
        missing = [c for c in REQUIRED_COLUMNS if c not in headers]
        if missing:
            raise ValidationError(
                f"The file has no column {', '.join(missing)}; "
                f"the columns are: {', '.join(COLUMNS)}."
            )
        unknown = [h for h in headers if h not in COLUMNS]
        if unknown:
            raise ValidationError(
                f"Unknown column {', '.join(unknown)}; the columns are: {', '.join(COLUMNS)}."
            )
        dataset.headers = headers
        if "parent_sku" in headers:
            named = sorted({str(v or "").strip() for v in dataset["parent_sku"]} - {""})
            for chunk in _chunks(named):
                for parent in Product.objects.filter(
                    sku__in=chunk, structure=Product.Structure.PARENT
                ):
                    self.catalog_parents[parent.sku] = parent
        # The addresses (slugs) new products will get, checked against the catalog at once.
        known = set()
        for chunk in _chunks(sorted({str(v or "").strip() for v in dataset["sku"]})):
            known.update(Product.objects.filter(sku__in=chunk).values_list("sku", flat=True))
        for sku, name in zip(dataset["sku"], dataset["name"], strict=True):
            sku = str(sku or "").strip()
            if sku not in known:
                name = str(name or "")
                self.slugs[name, sku] = self._slug_for(name, sku)
        for chunk in _chunks(sorted(set(self.slugs.values()))):
            self.taken_slugs.update(
                Product.objects.filter(slug__in=chunk).values_list("slug", flat=True)
            )

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        # What the library does, without formatting a debug message for every column that is
        # not a product field (stock, parent_sku, options) or not in the file, on every row.
        if field.attribute and field.column_name in row:
            field.save(instance, row, is_m2m, **kwargs)

    def import_instance(self, instance, row, **kwargs):
        errors: dict[str, list[str]] = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        new = instance.pk is None
        line = kwargs.get("row_number", 0) + 1
        sku = str(row.get("sku") or "").strip()
        instance.sku = sku
        if sku in self.seen_skus:
            errors.setdefault("sku", []).append(
                f"SKU {sku} is already on line {self.seen_skus[sku]}."
            )
        elif sku:
            self.seen_skus[sku] = line
        if not (instance.currency or "").strip():
            instance.currency = default_currency()
        self._read_stock(instance, row, errors, new=new)
        self._read_variant(instance, row, errors, new=new)
        instance._import_line = line
        if errors:
            raise ValidationError(errors)

    def _read_stock(self, instance, row, errors, *, new: bool) -> None:
        instance._import_stock = None
        if "stock" not in row:
            return
        text = str(row.get("stock") if row.get("stock") is not None else "").strip()
        if text == "":
            return
        try:
            quantity = int(text)
        except ValueError:
            errors.setdefault("stock", []).append("stock must be a whole number, 0 or more.")
            return
        if quantity < 0:
            errors.setdefault("stock", []).append("stock must be a whole number, 0 or more.")
            return
        if not new:
            _quantity, reserved = self.stock_levels.get(instance.pk, (0, 0))
            if quantity < reserved:
                errors.setdefault("stock", []).append(
                    f"{reserved} units are promised to orders: stock cannot go below that."
                )
                return
        instance._import_stock = quantity

    def _read_variant(self, instance, row, errors, *, new: bool) -> None:
        """``parent_sku`` and ``options``: a row with a parent SKU is a variant (``options``
        its values, ``{"size": "M"}``); a row with options but no parent is a parent
        (``options`` its axes, ``{"size": ["S", "M"]}``). Both are saved through the catalog
        services after the other rows (``instance._import_structured``)."""
        instance._import_structured = None
        parent_sku = str(row.get("parent_sku") or "").strip()
        text = str(row.get("options") if row.get("options") is not None else "").strip()
        options = None
        if text:
            try:
                options = _json_cell(text, "options")
            except ValueError as error:
                errors.setdefault("options", []).append(str(error))
                return
        if parent_sku:
            if not (
                isinstance(options, dict)
                and options
                and all(isinstance(v, str | int | float) for v in options.values())
                and not any(isinstance(v, bool) for v in options.values())
            ):
                errors.setdefault("options", []).append(
                    "A variant's options are a JSON object of each option's value ({\"size\": "
                    '"M", "colour": "Blue"}).'
                )
                return
            if not new and not instance.is_variant:
                errors.setdefault("parent_sku", []).append(
                    f"{instance.sku} is a product of its own: it cannot become a variant."
                )
                return
            if not new and instance.parent.sku != parent_sku:
                errors.setdefault("parent_sku", []).append(
                    f"{instance.sku} is a variant of {instance.parent.sku}: a variant keeps its "
                    "parent."
                )
                return
            if parent_sku not in self.catalog_parents and parent_sku not in self.file_parents:
                errors.setdefault("parent_sku", []).append(
                    f"No parent product has the SKU {parent_sku} (a product with options, in "
                    "the catalog or on an earlier line)."
                )
                return
            options = {str(k): str(v) for k, v in options.items()}
            instance._import_structured = ("variant", parent_sku, options)
        elif options or (not new and instance.is_parent):
            if options and not (
                isinstance(options, dict)
                and all(
                    isinstance(values, list) and values and all(isinstance(v, str) for v in values)
                    for values in options.values()
                )
            ):
                errors.setdefault("options", []).append(
                    "A parent's options are a JSON object of each option's values "
                    '({"size": ["S", "M"]}); a variant also needs its parent_sku.'
                )
                return
            if not new and not instance.is_parent:
                errors.setdefault("options", []).append(
                    f"{instance.sku} is not sold in options: it cannot become a parent."
                )
                return
            if instance._import_stock:
                errors.setdefault("stock", []).append(
                    "A parent has no stock of its own (its variants do): leave it empty or 0."
                )
                return
            instance._import_stock = None
            self.file_parents.add(instance.sku)
            instance._import_structured = ("parent", "", options or None)
        elif not new and instance.is_variant:
            errors.setdefault("parent_sku", []).append(
                f"{instance.sku} is a variant of {instance.parent.sku}: give its parent_sku."
            )

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        structured = getattr(instance, "_import_structured", None)
        if instance.pk is None and "name" not in errors and "sku" not in errors:
            instance.slug = self._new_slug(instance)
        try:
            # The field checks of full_clean() on what the file gives; the category is known
            # (it came from the map), uniqueness is checked against the file and the catalog
            # read up front, and the other fields are the import's own (the slug is made of
            # slugify's output, structure and options go through the catalog services).
            instance.clean_fields(exclude=[*errors, *NOT_FROM_THE_FILE])
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if instance.pk is None and not errors and structured is None:
            if instance.slug in self.new_slugs:
                errors[NON_FIELD_ERRORS] = [
                    f"Another row makes the same address ({instance.slug}): change the name."
                ]
            elif instance.slug in self.taken_slugs:
                errors[NON_FIELD_ERRORS] = [
                    f"Another product has the address {instance.slug}: change the name."
                ]
        if errors:
            raise ValidationError(errors)
        if instance.pk is None and structured is None:
            self.new_slugs.add(instance.slug)

    def _new_slug(self, instance) -> str:
        name = instance.name or ""
        slug = self.slugs.get((name, instance.sku))
        return slug if slug is not None else self._slug_for(name, instance.sku)

    @staticmethod
    def _slug_for(name: str, sku: str) -> str:
        """A new product's address: its name and SKU (unique, as the SKU is)."""
        sku_part = slugify(sku)[:60] or "product"
        return f"{slugify(name)[: 219 - len(sku_part)]}-{sku_part}".strip("-")

    def after_init_instance(self, instance, new, row, **kwargs):
        if not new:
            instance._import_original = self._values(instance)

    @staticmethod
    def _values(instance) -> tuple:
        return tuple(
            getattr(instance, Product._meta.get_field(name).attname) for name in UPDATED_FIELDS
        )

    def save_instance(self, instance, is_create, row, **kwargs):
        if getattr(instance, "_import_structured", None) is not None:
            self.structured.append((instance._import_line, row, instance))
            return
        if not is_create and self._values(instance) == instance._import_original:
            # Nothing changed: no write (the stock, if given, is still compared after).
            self.after_save_instance(instance, row, **kwargs)
            return
        super().save_instance(instance, is_create, row, **kwargs)

    def before_save_instance(self, instance, row, **kwargs):
        instance.updated_at = timezone.now()

    def after_save_instance(self, instance, row, **kwargs):
        if instance._import_stock is not None or instance.pk is None:
            self.stock_wanted.append((instance, instance._import_stock))

    def after_import(self, dataset, result, **kwargs):
        """Stock, once every product is saved: opening stock for products without a record,
        an adjustment to the level the file gives for the others (both in the ledger)."""
        if result.has_errors() or result.has_validation_errors():
            return
        self._save_structured(result)
        if result.has_validation_errors():
            return
        actor = kwargs.get("user")
        reference = str(kwargs.get("file_name") or "")[:64]
        opening, adjustments = [], []
        for product, quantity in self.stock_wanted:
            if product.pk in self.stock_levels:
                current = self.stock_levels[product.pk][0]
                if quantity is not None and quantity != current:
                    adjustments.append((product.pk, quantity - current))
            else:
                opening.append(OpeningStock(product_id=product.pk, quantity=quantity or 0))
        if opening:
            stock_open(lines=opening, reason=IMPORT_REASON, reference=reference, actor=actor)
        for product_id, delta in sorted(adjustments):
            stock_adjust(product_id=product_id, delta=delta, reason=IMPORT_REASON, actor=actor)
        if not kwargs.get("dry_run"):
            invalidate(CATALOG_CACHE_AREA)

    def _save_structured(self, result) -> None:
        """Parents, then variants, through the catalog services (a variant's name, category,
        currency and its parent's "from" price are theirs to keep); a refusal is reported on
        its line like any bad row, and the import then writes nothing."""
        parents = dict(self.catalog_parents)
        ordered = sorted(
            self.structured, key=lambda item: (item[2]._import_structured[0] != "parent", item[0])
        )
        for line, row, instance in ordered:
            kind, parent_sku, options = instance._import_structured
            try:
                with transaction.atomic():
                    product = self._save_one(instance, row, kind, parents.get(parent_sku), options)
            except ValidationError as error:
                if not hasattr(error, "error_dict"):
                    error = ValidationError({NON_FIELD_ERRORS: error.messages})
                result.append_invalid_row(line - 1, row, error)
                continue
            if kind == "parent":
                parents[product.sku] = product
            elif instance._import_stock is not None or instance.pk is None:
                self.stock_wanted.append((product, instance._import_stock))

    def _save_one(self, instance, row, kind: str, parent: Product | None, options) -> Product:
        values = {
            "description": instance.description,
            "attributes": instance.attributes,
            "is_active": True if instance.is_active is None else instance.is_active,
            "tax_class": instance.tax_class,
            "weight": instance.weight,
        }
        if instance.pk is None:
            if kind == "parent":
                return services.product_create(
                    sku=instance.sku,
                    name=instance.name,
                    category=instance.category,
                    price=instance.price,
                    currency=instance.currency,
                    structure=Product.Structure.PARENT,
                    options=options,
                    **values,
                )
            for name in ("tax_class", "weight"):  # empty: the parent's
                if not str(row.get(name) or "").strip():
                    values.pop(name)
            return services.variant_create(
                parent=parent, sku=instance.sku, options=options, price=instance.price, **values
            )
        if kind == "parent":
            values.update(name=instance.name, category=instance.category)
            if options is not None and options != dict(instance.option_axes):
                values["options"] = options
        else:
            values["price"] = instance.price
            if options != instance.options:
                values["options"] = options
        original = Product.objects.get(pk=instance.pk)
        changed = {k: v for k, v in values.items() if getattr(original, k) != v}
        if "options" in values and kind == "parent":
            changed["options"] = values["options"]
        if not changed:
            return original  # an unchanged row writes nothing
        return services.product_update(product=original, **changed)
