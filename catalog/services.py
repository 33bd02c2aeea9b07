"""The operations that change the catalog. Every write to categories, products or the graph
goes through here, so validation and cache invalidation happen in one place."""

import contextlib
import logging
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone
from django.utils.text import slugify
from PIL import Image, UnidentifiedImageError

from catalog.models import Category, Product, ProductImage, ProductRelation
from catalog.renditions import rendition_names
from catalog.selectors import CATALOG_CACHE_AREA, category_descendant_ids
from shop.cache import invalidate

logger = logging.getLogger(__name__)

# A product's fields as staff edit them (admin form and API, in this order); structure and
# parent are chosen at creation only, so updates take the rest.
PRODUCT_EDIT_FIELDS = (
    "sku",
    "slug",
    "name",
    "description",
    "price",
    "currency",
    "category",
    "attributes",
    "tax_class",
    "weight",
    "is_active",
    "structure",
    "parent",
    "options",
)
PRODUCT_FIELDS = set(PRODUCT_EDIT_FIELDS) - {"structure", "parent"}
CATEGORY_FIELDS = {"name", "slug", "parent", "description", "is_featured", "position"}
RELATION_FIELDS = {"from_product", "to_product", "kind", "weight"}
PRODUCT_IMAGE_FIELDS = {"alt", "position"}
# What an uploaded picture may be (Pillow's format names).
IMAGE_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


def _invalidate_catalog() -> None:
    """Cached lists, details and the category tree are stale after any catalog write."""
    invalidate(CATALOG_CACHE_AREA)


def _unique_slug(model, base: str, *, exclude_pk=None) -> str:
    base = slugify(base)[:200] or "item"
    slug, n = base, 2
    qs = model.objects.exclude(pk=exclude_pk) if exclude_pk else model.objects.all()
    while qs.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _check_parent(category: Category) -> None:
    if (
        category.pk
        and category.parent_id
        and category.parent_id in category_descendant_ids(category.pk)
    ):
        raise ValidationError({"parent": ["A category cannot be placed below itself."]})


@transaction.atomic
def category_create(
    *,
    name: str,
    slug: str = "",
    parent: Category | None = None,
    description: str = "",
    is_featured: bool = False,
    position: int = 0,
) -> Category:
    category = Category(
        name=name,
        slug=slug or _unique_slug(Category, name),
        parent=parent,
        description=description,
        is_featured=is_featured,
        position=position,
    )
    category.full_clean()
    category.save()
    _invalidate_catalog()
    return category


@transaction.atomic
def category_update(*, category: Category, **changes) -> Category:
    unknown = set(changes) - CATEGORY_FIELDS
    if unknown:
        raise ValueError(f"Unknown category fields: {sorted(unknown)}")
    for field, value in changes.items():
        setattr(category, field, value)
    _check_parent(category)
    category.full_clean()
    category.save()
    _invalidate_catalog()
    return category


@transaction.atomic
def category_delete(*, category: Category) -> None:
    category.delete()  # PROTECT on products and children refuses a category still in use
    _invalidate_catalog()


@transaction.atomic
def product_create(
    *,
    sku: str,
    price: Decimal,
    name: str = "",
    category: Category | None = None,
    slug: str = "",
    description: str = "",
    currency: str | None = None,
    attributes: dict | None = None,
    is_active: bool = True,
    tax_class: str = Product.TaxClass.STANDARD,
    weight: Decimal = Decimal("0"),
    structure: str = Product.Structure.STANDALONE,
    options: dict | list | None = None,
    parent: Product | None = None,
) -> Product:
    """A standalone product, a parent (``structure="parent"``, ``options`` its axes:
    ``{"size": ["S", "M"]}``) or, given ``parent``, a variant (see ``variant_create``)."""
    if parent is not None or structure == Product.Structure.CHILD:
        if parent is None:
            raise ValidationError({"parent": ["A variant needs its parent product."]})
        return variant_create(
            parent=parent,
            sku=sku,
            options=options if isinstance(options, dict) else {},
            price=price,
            slug=slug,
            description=description,
            attributes=attributes,
            is_active=is_active,
            weight=weight or None,
        )
    if category is None:
        raise ValidationError({"category": ["This field is required."]})
    product = Product(
        sku=sku,
        name=name,
        price=price,
        category=category,
        slug=slug or _unique_slug(Product, f"{name}-{sku}"),
        description=description,
        attributes=attributes or {},
        is_active=is_active,
        tax_class=tax_class,
        weight=weight,
        structure=structure,
        options=_axes(options) if structure == Product.Structure.PARENT else (options or {}),
    )
    if currency:
        product.currency = currency
    product.full_clean()
    product.save()
    _invalidate_catalog()
    return product


def _axes(options) -> list[dict]:
    """A parent's axes as stored (a list, in order) from ``{"size": ["S", "M"]}`` or the
    stored form itself."""
    if isinstance(options, dict):
        return [
            {"name": name, "values": list(values) if isinstance(values, list) else values}
            for name, values in options.items()
        ]
    return options if options is not None else []


def _variant_name(parent: Product, variant: Product) -> str:
    """ "T-shirt — M / Blue": what carts, orders, invoices and mails call a variant."""
    label = variant.variant_label(parent.option_axes)
    return f"{parent.name} — {label}"[:200] if label else parent.name


def _extend_axes(parent: Product, options: dict) -> None:
    """Let a parent's axes take the values of a new or changed variant: a new value is added
    at the end of its axis; a parent without axes takes the variant's option names."""
    if not isinstance(options, dict) or not options:
        return
    axes = parent.option_axes
    if not axes:
        axes = [(name, []) for name in options]
    names = [name for name, _ in axes]
    if set(options) != set(names):
        return  # the variant's own validation names the missing or unknown options
    changed = False
    for name, values in axes:
        value = options[name]
        if isinstance(value, str) and value not in values:
            values.append(value)
            changed = True
    if changed or not parent.options:
        parent.options = [{"name": name, "values": values} for name, values in axes]
        parent.full_clean()
        parent.save(update_fields=["options", "updated_at"])


def _locked_parent(parent: Product) -> Product:
    """The parent row, locked: variants of one parent are added one at a time, so two of them
    never extend its axes over each other."""
    locked = Product.objects.select_for_update().filter(pk=parent.pk).first()
    if locked is None or not locked.is_parent:
        raise ValidationError({"parent": ["The parent must be a parent product."]})
    return locked


def _refresh_parent_price(parent_id: int | None) -> None:
    """A parent shows (and is sorted and filtered by) its lowest active variant's price."""
    if parent_id is None:
        return
    lowest = Product.objects.filter(parent_id=parent_id, is_active=True).aggregate(
        low=Min("price")
    )["low"]
    if lowest is not None:
        Product.objects.filter(pk=parent_id).exclude(price=lowest).update(
            price=lowest, updated_at=timezone.now()
        )


@transaction.atomic
def variant_create(
    *,
    parent: Product,
    sku: str,
    options: dict,
    price: Decimal,
    slug: str = "",
    description: str = "",
    attributes: dict | None = None,
    is_active: bool = True,
    weight: Decimal | None = None,
    tax_class: str | None = None,
) -> Product:
    """A sellable variant of ``parent`` (``options`` like ``{"size": "M", "colour": "Blue"}``).

    It shares the parent's category and currency, takes its tax class and weight unless
    given, and is named after it ("T-shirt — M / Blue"). A value the parent's axes do not
    list yet is added to them. Its stock is a stock record like any product's."""
    parent = _locked_parent(parent)
    _extend_axes(parent, options)
    variant = Product(
        structure=Product.Structure.CHILD,
        parent=parent,
        sku=sku,
        price=price,
        category_id=parent.category_id,
        currency=parent.currency,
        tax_class=tax_class or parent.tax_class,
        weight=parent.weight if weight is None else weight,
        description=description,
        attributes=attributes or {},
        is_active=is_active,
        options=options,
    )
    variant.name = _variant_name(parent, variant)
    variant.slug = slug or _unique_slug(Product, f"{parent.name}-{sku}")
    variant.full_clean()
    variant.save()
    _refresh_parent_price(parent.pk)
    _invalidate_catalog()
    return variant


@transaction.atomic
def product_update(*, product: Product, **changes) -> Product:
    """Change a product. A variant keeps its parent's category and currency and is renamed
    when its options change; a parent passes a new name or category on to its variants and
    may only drop an option value no variant uses."""
    unknown = set(changes) - PRODUCT_FIELDS
    if unknown:
        raise ValueError(f"Unknown product fields: {sorted(unknown)}")
    if product.is_parent and "options" in changes:
        changes["options"] = _axes(changes["options"])
    for field, value in changes.items():
        setattr(product, field, value)
    if product.is_variant:
        parent = _locked_parent(product.parent)
        if "options" in changes:
            _extend_axes(parent, product.options)
        product.parent = parent
        product.category_id, product.currency = parent.category_id, parent.currency
        product.name = _variant_name(parent, product)
    product.full_clean()
    product.save()
    if product.is_parent:
        _variants_follow(product)
        _refresh_parent_price(product.pk)
    if product.is_variant and {"price", "is_active"} & set(changes):
        _refresh_parent_price(product.parent_id)
    _invalidate_catalog()
    return product


def _variants_follow(parent: Product) -> None:
    """After a parent changed: its variants keep its category, currency and name, and their
    options must still be among its axes."""
    for variant in Product.objects.select_for_update().filter(parent=parent).order_by("pk"):
        variant.parent = parent
        variant.category_id, variant.currency = parent.category_id, parent.currency
        variant.name = _variant_name(parent, variant)
        try:
            variant.full_clean(validate_unique=False)
        except ValidationError as error:
            raise ValidationError(
                {"options": [f"Variant {variant.sku} no longer fits: {' '.join(error.messages)}"]}
            ) from error
        variant.save(update_fields=["category", "currency", "name", "updated_at"])


@transaction.atomic
def product_set_active(*, product_ids: list[int], is_active: bool) -> int:
    """Show (``is_active``) or hide several products at once; returns how many there were."""
    ids = list(product_ids)
    updated = Product.objects.filter(pk__in=ids).update(
        is_active=is_active, updated_at=timezone.now()
    )
    parent_ids = set(
        Product.objects.filter(pk__in=ids, parent__isnull=False).values_list("parent_id", flat=True)
    )
    for parent_id in sorted(parent_ids):
        _refresh_parent_price(parent_id)
    _invalidate_catalog()
    return updated


@transaction.atomic
def product_delete(*, product: Product) -> None:
    """Delete a product (a parent with its variants) and, once committed, its pictures' files
    (a parent's variants' too). PROTECT on order lines refuses a product that was sold, and a
    parent one of whose variants was."""
    parent_id = product.parent_id
    pictures = list(ProductImage.objects.filter(Q(product=product) | Q(product__parent=product)))
    product.delete()
    for picture in pictures:
        transaction.on_commit(partial(_delete_picture_files, picture=picture))
    _refresh_parent_price(parent_id)
    _invalidate_catalog()


@transaction.atomic
def relation_set(
    *,
    from_product: Product,
    to_product: Product,
    kind: str = ProductRelation.Kind.RELATED,
    weight: Decimal = Decimal("1"),
) -> ProductRelation:
    """Create the edge, or update its weight if it exists."""
    relation = ProductRelation.objects.filter(
        from_product=from_product, to_product=to_product, kind=kind
    ).first() or ProductRelation(from_product=from_product, to_product=to_product, kind=kind)
    relation.weight = weight
    relation.full_clean()
    relation.save()
    _invalidate_catalog()
    return relation


@transaction.atomic
def relation_update(*, relation: ProductRelation, **changes) -> ProductRelation:
    unknown = set(changes) - RELATION_FIELDS
    if unknown:
        raise ValueError(f"Unknown relation fields: {sorted(unknown)}")
    for field, value in changes.items():
        setattr(relation, field, value)
    relation.full_clean()
    relation.save()
    _invalidate_catalog()
    return relation


@transaction.atomic
def relation_delete(*, relation: ProductRelation) -> None:
    relation.delete()
    _invalidate_catalog()


# --- catalog files ----------------------------------------------------------------------------
def products_import(*, dataset, dry_run: bool = False, actor=None, file_name: str = ""):
    """Import a catalog file (a tablib Dataset in the format of ``catalog.resources``).

    All or nothing: the whole file runs in one transaction, which is rolled back when any
    row is bad (or for a dry run, after every row was checked and written). Returns the
    django-import-export Result: ``invalid_rows`` and ``error_rows`` carry the file's line
    numbers, ``base_errors`` what concerns the whole file, ``totals`` the new and updated
    products. The transaction is the resource's own (django-import-export's), not wrapped
    in another, so that a failed import leaves nothing behind in any caller."""
    from catalog.resources import ProductResource

    return ProductResource().import_data(
        dataset, dry_run=dry_run, raise_errors=False, user=actor, file_name=file_name
    )


def _check_picture(file) -> None:
    """Refuse what is not a picture Pillow can read in an accepted format, or is too large
    (in bytes, or in pixels: a small file can unpack into a huge image)."""
    if file.size is not None and file.size > settings.PRODUCT_IMAGE_MAX_BYTES:
        limit = settings.PRODUCT_IMAGE_MAX_BYTES // (1024 * 1024)
        raise ValidationError({"image": [f"The file is larger than {limit} MB."]})
    try:
        file.seek(0)
        with Image.open(file) as picture:
            picture_format, (width, height) = picture.format, picture.size
            if width * height > settings.PRODUCT_IMAGE_MAX_PIXELS:
                raise ValidationError({"image": ["The picture has too many pixels."]})
            picture.verify()
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError({"image": ["Upload a picture: JPEG, PNG, WebP or GIF."]}) from None
    finally:
        file.seek(0)
    if picture_format not in IMAGE_FORMATS:
        raise ValidationError({"image": ["Upload a picture: JPEG, PNG, WebP or GIF."]})


def _delete_picture_files(*, picture: ProductImage) -> None:
    """The original and every rendition made of it (after the row is gone for good)."""
    storage = picture.image.storage
    names = [picture.image.name]
    for name in rendition_names():
        # The original may be gone already; then nothing was made of it.
        with contextlib.suppress(OSError, ValueError):
            names.append(getattr(picture, name).name)
    for name in names:
        if name:
            storage.delete(name)


@transaction.atomic
def product_image_add(
    *, product: Product, image: UploadedFile, alt: str = "", position: int | None = None
) -> ProductImage:
    """Add a picture to a product, after the others unless ``position`` is given."""
    _check_picture(image)
    if position is None:
        last = product.images.order_by("-position").values_list("position", flat=True).first()
        position = 0 if last is None else last + 1
    picture = ProductImage(product=product, alt=alt.strip(), position=position)
    picture.image.save(image.name or "picture", image, save=False)
    stored = picture.image.name
    try:
        picture.full_clean()
        picture.save()
    except BaseException:
        picture.image.storage.delete(stored)  # nothing half-written: no file without its row
        raise
    _invalidate_catalog()
    return picture


@transaction.atomic
def product_image_update(*, picture: ProductImage, **changes) -> ProductImage:
    unknown = set(changes) - PRODUCT_IMAGE_FIELDS
    if unknown:
        raise ValueError(f"Unknown picture fields: {sorted(unknown)}")
    for field, value in changes.items():
        setattr(picture, field, value.strip() if field == "alt" else value)
    picture.full_clean()
    picture.save(update_fields=list(changes) or None)
    _invalidate_catalog()
    return picture


@transaction.atomic
def product_image_delete(*, picture: ProductImage) -> None:
    picture.delete()
    transaction.on_commit(partial(_delete_picture_files, picture=picture))
    _invalidate_catalog()


def product_image_renditions_make(*, picture_ids: list[int]) -> int:
    """Make the renditions these pictures still miss; returns how many pictures have them all.

    Safe to run twice: a rendition found in the storage is not made again (asked of the storage
    itself, not of imagekit's cache, which would still say "being made" after a worker died
    half-way). A picture deleted since it was queued is skipped, and one whose original cannot
    be read is logged and skipped: its page still shows it, the web server answers 404 for the
    missing files. No transaction: nothing is written to the database, and none is held open
    while pictures are encoded."""
    made = 0
    for picture in ProductImage.objects.filter(pk__in=picture_ids).order_by("pk"):
        try:
            for name in rendition_names():
                rendition = getattr(picture, name)
                if not rendition.storage.exists(rendition.name):
                    rendition.generate(force=True)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            logger.warning("renditions of picture %s cannot be made", picture.pk, exc_info=True)
            continue
        made += 1
    return made
