"""Read queries over the catalog, shared by the API, the storefront and the admin."""

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, Greatest

from catalog.models import Category, Product, ProductRelation
from shop.cache import cached

ATTRIBUTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,49}$")
ORDERINGS = {
    "price": ("price", "id"),
    "-price": ("-price", "id"),
    "name": ("name", "id"),
    "-name": ("-name", "id"),
    "created_at": ("created_at", "id"),
    "-created_at": ("-created_at", "-id"),
    "popularity": ("-popularity", "id"),
}
DEFAULT_ORDERING = "popularity"
LISTED_STRUCTURES = [Product.Structure.STANDALONE, Product.Structure.PARENT]
CATALOG_CACHE_AREA = "catalog"


def category_tree() -> list[dict]:
    """Every category as ``{id, parent_id, slug, name, position}``: small, cached, shared."""
    return cached(
        CATALOG_CACHE_AREA,
        "category-tree",
        lambda: list(
            Category.objects.order_by("position", "name").values(
                "id", "parent_id", "slug", "name", "position", "is_featured"
            )
        ),
        timeout=300,
    )


def category_descendant_ids(category_id: int) -> list[int]:
    """The category and all categories below it."""
    children: dict[int | None, list[int]] = {}
    for node in category_tree():
        children.setdefault(node["parent_id"], []).append(node["id"])
    found, frontier = [category_id], [category_id]
    while frontier:
        frontier = [child for parent in frontier for child in children.get(parent, [])]
        found.extend(frontier)
    return found


def category_get(identifier: str | int) -> Category | None:
    """A category by id or slug, or None."""
    value = str(identifier).strip()
    if value.isdecimal():  # not isdigit(): int() cannot read "²", which isdigit() accepts
        return Category.objects.filter(pk=int(value)).first()
    return Category.objects.filter(slug=value).first()


def category_list() -> QuerySet[Category]:
    """Categories with the number of active products in each, sub-categories included."""
    return Category.objects.annotate(
        own_product_count=Count(
            "products", filter=Q(products__is_active=True, products__parent__isnull=True)
        )
    ).order_by("position", "name")


def category_product_counts() -> dict[int, int]:
    """Active products per category (a parent once, not its variants), counting every
    descendant category too."""
    own = dict(
        Product.objects.filter(is_active=True, parent__isnull=True)
        .values_list("category_id")
        .annotate(n=Count("id"))
        .values_list("category_id", "n")
    )
    return {
        node["id"]: sum(own.get(i, 0) for i in category_descendant_ids(node["id"]))
        for node in category_tree()
    }


def product_base_queryset(*, include_inactive: bool = False) -> QuerySet[Product]:
    qs = Product.objects.select_related("category", "stock")
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs


def _variants_available() -> Subquery:
    """Units of a parent's active variants that can be bought, summed (for each row)."""
    return Subquery(
        Product.objects.filter(parent=OuterRef("pk"), is_active=True)
        .order_by()
        .values("parent")
        .annotate(total=Sum(Greatest(F("stock__quantity") - F("stock__reserved"), Value(0))))
        .values("total"),
        output_field=IntegerField(),
    )


def product_listable_queryset() -> QuerySet[Product]:
    """What lists show: standalone products and parents, never a variant (a parent stands for
    its variants). Each row carries ``variants_available``, a parent's units in stock over its
    variants (computed for parents only), so a list page costs no query per parent."""
    return (
        product_base_queryset()
        # By structure, not parent IS NULL: the filter must not tempt the planner away from
        # the search and ordering indexes (every listed row has no parent anyway).
        .filter(structure__in=LISTED_STRUCTURES)
        .annotate(
            variants_available=Case(
                When(
                    structure=Product.Structure.PARENT,
                    then=Coalesce(_variants_available(), Value(0)),
                ),
                default=Value(None),
                output_field=IntegerField(),
            )
        )
    )


def product_search(qs: QuerySet[Product], text: str) -> QuerySet[Product]:
    """Full-text search on PostgreSQL (GIN index), a substring match elsewhere."""
    text = text.strip()
    if not text:
        return qs
    if connection.vendor == "postgresql":
        query = SearchQuery(text, search_type="websearch", config="english")
        return qs.filter(search_vector=query).annotate(
            search_rank=SearchRank(F("search_vector"), query)
        )
    condition = Q()
    for word in text.split():
        condition &= (
            Q(name__icontains=word)
            | Q(description__icontains=word)
            | Q(sku__iexact=word)
            | Q(attributes__icontains=word)
        )
    return qs.filter(condition)


def product_filter_category(qs: QuerySet[Product], category: Category) -> QuerySet[Product]:
    return qs.filter(category_id__in=category_descendant_ids(category.id))


def product_filter_price(
    qs: QuerySet[Product], *, min_price: Decimal | None = None, max_price: Decimal | None = None
) -> QuerySet[Product]:
    if min_price is not None:
        qs = qs.filter(price__gte=min_price)
    if max_price is not None:
        qs = qs.filter(price__lte=max_price)
    return qs


def product_filter_attributes(
    qs: QuerySet[Product], attributes: Mapping[str, Iterable[str]]
) -> QuerySet[Product]:
    """Each attribute must match one of the given values, compared as text ("256" matches 256)."""
    for name, values in attributes.items():
        if not ATTRIBUTE_NAME.match(name) or "__" in name:
            raise ValueError(f"Invalid attribute name: {name!r}")
        values = [str(v) for v in values]
        key_as_text = Cast(KT(f"attributes__{name}"), output_field=TextField())
        alias = f"attr_{name.replace('-', '_')}_text"
        qs = qs.alias(**{alias: key_as_text})
        if connection.vendor != "postgresql":
            # SQLite renders JSON booleans as 1/0; accept "true"/"false" for them too.
            extra = {"true": "1", "false": "0"}
            values = values + [extra[v.lower()] for v in values if v.lower() in extra]
        qs = qs.filter(**{f"{alias}__in": values})
    return qs


def product_filter_in_stock(qs: QuerySet[Product], in_stock: bool) -> QuerySet[Product]:
    """A product that can be bought now; a parent when one of its active variants can."""
    variant_available = Exists(
        Product.objects.filter(
            parent=OuterRef("pk"), is_active=True, stock__quantity__gt=F("stock__reserved")
        )
    )
    available = Q(stock__quantity__gt=F("stock__reserved")) | Q(
        Q(structure=Product.Structure.PARENT) & Q(variant_available)
    )
    return qs.filter(available) if in_stock else qs.exclude(available)


def product_order(qs: QuerySet[Product], ordering: str | None, *, searched: bool = False):
    if not ordering and searched and connection.vendor == "postgresql":
        return qs.order_by("-search_rank", "id")
    return qs.order_by(*ORDERINGS[ordering or DEFAULT_ORDERING])


def product_list(
    *,
    search: str | None = None,
    category: Category | None = None,
    min_price: Decimal | None = None,
    max_price: Decimal | None = None,
    attributes: Mapping[str, Iterable[str]] | None = None,
    in_stock: bool | None = None,
    ordering: str | None = None,
) -> QuerySet[Product]:
    """Active products matching every given filter, in a stable order (no variants)."""
    qs = product_listable_queryset()
    if search:
        qs = product_search(qs, search)
    if category is not None:
        qs = product_filter_category(qs, category)
    qs = product_filter_price(qs, min_price=min_price, max_price=max_price)
    if attributes:
        qs = product_filter_attributes(qs, attributes)
    if in_stock is not None:
        qs = product_filter_in_stock(qs, in_stock)
    return product_order(qs, ordering, searched=bool(search and search.strip()))


def product_detail_queryset(*, include_inactive: bool = False) -> QuerySet[Product]:
    """Products with their outgoing graph edges (and the neighbours' stock) and, for a parent,
    its active variants with their stock (read once, on first use: one query for a parent,
    none for other products). A variant of a hidden parent is hidden."""
    relations = ProductRelation.objects.filter(
        to_product__is_active=True, to_product__parent__isnull=True
    ).select_related("to_product", "to_product__category", "to_product__stock")
    qs = product_base_queryset(include_inactive=include_inactive).select_related("parent")
    if not include_inactive:
        qs = qs.filter(Q(parent__isnull=True) | Q(parent__is_active=True))
    return qs.prefetch_related(
        Prefetch("outgoing_relations", queryset=relations, to_attr="relations")
    )


def product_variants(product: Product) -> list[Product]:
    """A parent's active variants with their stock, oldest first: one query, then kept on the
    product for the rest of the request."""
    if not product.is_parent:
        return []
    variants = getattr(product, "active_variants", None)
    if variants is None:
        variants = list(
            product.variants.filter(is_active=True).select_related("stock").order_by("id")
        )
        product.active_variants = variants
    return variants


def product_options(product: Product) -> dict[str, list[str]]:
    """A parent's option axes in order, each with the values its active variants have, in the
    order the parent lists them: ``{"size": ["S", "M"], "colour": ["Blue"]}``."""
    variants = product_variants(product)
    return {
        name: [v for v in values if any(x.options.get(name) == v for x in variants)]
        for name, values in product.option_axes
    }


def product_variant_choices(product: Product) -> list[dict]:
    """What an option picker needs of each active variant of a parent: ``id, sku, slug,
    options, price, available, in_stock, image``. ``image`` is the URL of the variant's own
    picture, or None: the picker then keeps the parent's picture."""
    return [
        {
            "id": variant.id,
            "sku": variant.sku,
            "slug": variant.slug,
            "name": variant.name,
            "options": variant.options,
            "price": variant.price,
            "currency": variant.currency,
            "available": (available := product_available_quantity(variant)),
            "in_stock": available > 0,
            "image": product_image_url(variant),
        }
        for variant in product_variants(product)
    ]


def product_image_url(product: Product) -> str | None:
    """The URL of a product's main picture, or None while it has none (the storefront draws
    a placeholder). The hook the option picker reads a variant's picture from."""
    url = getattr(product, "image_url", None)
    return url if isinstance(url, str) and url else None


def product_variant_id_for(*, product_id: int, options: Mapping[str, str]) -> int:
    """The id of the active variant of parent ``product_id`` with exactly these options; the
    id given when it is not a parent or no variant has them (the cart then says why)."""
    parent = Product.objects.filter(pk=product_id, structure=Product.Structure.PARENT).first()
    variant = product_variant_for_options(parent, options) if parent else None
    return variant.pk if variant else product_id


def product_variant_for_options(parent: Product, options: Mapping[str, str]) -> Product | None:
    """The active variant of ``parent`` with exactly these options, or None."""
    wanted = {str(k): str(v) for k, v in options.items()}
    return next((v for v in product_variants(parent) if v.options == wanted), None)


def product_related(product: Product, *, kinds: Iterable[str] | None = None, limit: int = 8):
    """Neighbours of a product in the catalog graph, strongest first."""
    qs = ProductRelation.objects.filter(
        from_product=product, to_product__is_active=True, to_product__parent__isnull=True
    ).select_related("to_product", "to_product__category", "to_product__stock")
    if kinds:
        qs = qs.filter(kind__in=list(kinds))
    return list(qs.order_by("-weight", "id")[:limit])


def product_popular(*, limit: int = 8, exclude_ids: Iterable[int] = ()) -> list[Product]:
    qs = product_listable_queryset().exclude(id__in=list(exclude_ids))
    return list(qs.order_by("-popularity", "id")[:limit])


def product_available_quantity(product: Product) -> int:
    """Units that can still be bought (0 for a product without a stock record); for a
    parent, the units of its active variants."""
    if product.is_parent:
        annotated = getattr(product, "variants_available", None)
        if annotated is not None:
            return annotated
        return sum(product_available_quantity(v) for v in product_variants(product))
    try:
        stock = product.stock
    except ObjectDoesNotExist:
        return 0
    return max(stock.quantity - stock.reserved, 0)


def attribute_facets(qs: QuerySet[Product], *, limit_values: int = 12) -> dict[str, list[str]]:
    """The attribute names and most common values among a set of products (for filter UIs)."""
    counts: dict[str, dict[str, int]] = {}
    for attrs in qs.order_by().values_list("attributes", flat=True)[:2000]:
        for key, value in (attrs or {}).items():
            if isinstance(value, (str, int, float, bool)):
                bucket = counts.setdefault(key, {})
                text = str(value).lower() if isinstance(value, bool) else str(value)
                bucket[text] = bucket.get(text, 0) + 1
    return {
        key: [v for v, _ in sorted(vals.items(), key=lambda kv: (-kv[1], kv[0]))[:limit_values]]
        for key, vals in sorted(counts.items())
    }
