"""Read queries over the catalog, shared by the API, the storefront and the admin."""

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection
from django.db.models import Count, F, Prefetch, Q, QuerySet, TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from catalog.models import Category, Product, ProductImage, ProductRelation
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
        own_product_count=Count("products", filter=Q(products__is_active=True))
    ).order_by("position", "name")


def category_product_counts() -> dict[int, int]:
    """Active products per category, counting every descendant category too."""
    own = dict(
        Product.objects.filter(is_active=True)
        .values_list("category_id")
        .annotate(n=Count("id"))
        .values_list("category_id", "n")
    )
    return {
        node["id"]: sum(own.get(i, 0) for i in category_descendant_ids(node["id"]))
        for node in category_tree()
    }


def product_images_prefetch(lookup: str = "images") -> Prefetch:
    """A product's pictures in their order, fetched for a whole page in one query."""
    return Prefetch(lookup, queryset=ProductImage.objects.order_by("position", "id"))


def product_base_queryset(*, include_inactive: bool = False) -> QuerySet[Product]:
    qs = Product.objects.select_related("category", "stock").prefetch_related(
        product_images_prefetch()
    )
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs


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
    available = Q(stock__quantity__gt=F("stock__reserved"))
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
    """Active products matching every given filter, in a stable order."""
    qs = product_base_queryset()
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
    """Products with their outgoing graph edges (and the neighbours' stock) prefetched."""
    relations = ProductRelation.objects.filter(to_product__is_active=True).select_related(
        "to_product", "to_product__category", "to_product__stock"
    )
    return product_base_queryset(include_inactive=include_inactive).prefetch_related(
        Prefetch("outgoing_relations", queryset=relations, to_attr="relations"),
        product_images_prefetch("relations__to_product__images"),
    )


def product_related(product: Product, *, kinds: Iterable[str] | None = None, limit: int = 8):
    """Neighbours of a product in the catalog graph, strongest first."""
    qs = ProductRelation.objects.filter(
        from_product=product, to_product__is_active=True
    ).select_related("to_product", "to_product__category", "to_product__stock")
    if kinds:
        qs = qs.filter(kind__in=list(kinds))
    qs = qs.prefetch_related(product_images_prefetch("to_product__images"))
    return list(qs.order_by("-weight", "id")[:limit])


def product_popular(*, limit: int = 8, exclude_ids: Iterable[int] = ()) -> list[Product]:
    qs = product_base_queryset().exclude(id__in=list(exclude_ids))
    return list(qs.order_by("-popularity", "id")[:limit])


def product_available_quantity(product: Product) -> int:
    """Units that can still be bought (0 for a product without a stock record)."""
    try:
        stock = product.stock
    except ObjectDoesNotExist:
        return 0
    return max(stock.quantity - stock.reserved, 0)


def product_pictures(product: Product) -> list[ProductImage]:
    """A product's pictures in order, the primary one first (prefetched where the queryset
    came from this module)."""
    return list(product.images.all())


def product_primary_picture(product: Product) -> ProductImage | None:
    pictures = product_pictures(product)
    return pictures[0] if pictures else None


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
