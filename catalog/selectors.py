"""Read queries over the catalog, shared by the API, the storefront and the admin."""

import difflib
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.core.exceptions import EmptyResultSet, ObjectDoesNotExist
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    Min,
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

from catalog.models import ATTRIBUTE_NAME, Category, Product, ProductImage, ProductRelation
from shop.cache import cached

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
# Tags of catalog cache values (shop.cache.tag): a value shows a product (its page, a list page,
# a card among related products), or it depends on which products are in stock (a list, count
# or facet filtered by availability). Stock crossing zero drops exactly these
# (inventory.services), where a staff edit still makes the whole area stale.
CATALOG_STOCK_TAG = "in-stock-filter"


def product_cache_tag(product_id: int) -> str:
    return f"product:{product_id}"


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
        _listable_for_counting()
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


def _listable_for_counting() -> QuerySet[Product]:
    """The rows lists show (:func:`product_listable_queryset`), without the joins and
    prefetches a page needs: what facets and category counts count."""
    return product_listable_queryset().select_related(None).prefetch_related(None).order_by()


SEARCH_WORD = re.compile(r"[^\W_]+")
SUGGESTION_CANDIDATES = 30  # products whose names offer words for "did you mean"
SQLITE_VOCABULARY_PRODUCTS = 5000  # names read for the fallback where there is no pg_trgm


def _text_condition(words: list[str]) -> Q:
    """Every word somewhere in name, description, SKU or attributes (the non-PostgreSQL search)."""
    condition = Q()
    for word in words:
        condition &= (
            Q(name__icontains=word)
            | Q(description__icontains=word)
            | Q(sku__iexact=word)
            | Q(attributes__icontains=word)
        )
    return condition


def _full_text_query(text: str) -> SearchQuery:
    return SearchQuery(text, search_type="websearch", config="english")


def search_finds_something(text: str) -> bool:
    """Whether the words as typed match any active product (full text on PostgreSQL)."""
    active = Product.objects.filter(is_active=True, structure__in=LISTED_STRUCTURES)
    if connection.vendor == "postgresql":
        return active.filter(search_vector=_full_text_query(text)).exists()
    return active.filter(_text_condition(text.split())).exists()


def _trigram_matches(qs: QuerySet[Product], words: list[str]) -> QuerySet[Product]:
    """Products whose name has a word like one of ``words`` (pg_trgm's ``%>``, which the GIN
    trigram index serves), best match first as ``search_rank``."""
    condition = Q()
    for word in words:
        condition |= Q(name__trigram_word_similar=word)
    text = " ".join(words)
    return qs.filter(condition).annotate(search_rank=TrigramWordSimilarity(text, "name"))


def search_suggestion(text: str) -> str | None:
    """ "Did you mean": the search with each word that matches nothing replaced by the closest
    word of a product name, or None when the words as typed find something (or nothing close
    is known). On PostgreSQL the candidate names come from the trigram index; elsewhere from
    the names of the first SQLITE_VOCABULARY_PRODUCTS active products."""
    text = (text or "").strip()
    words = SEARCH_WORD.findall(text.lower())
    if not words or search_finds_something(text):
        return None
    active = Product.objects.filter(is_active=True, structure__in=LISTED_STRUCTURES)
    if connection.vendor == "postgresql":
        names = _trigram_matches(active, words).order_by("-search_rank", "id")
        names = names.values_list("name", flat=True)[:SUGGESTION_CANDIDATES]
    else:
        names = active.order_by("-popularity", "id").values_list("name", flat=True)
        names = names[:SQLITE_VOCABULARY_PRODUCTS]
    vocabulary = {word for name in names for word in SEARCH_WORD.findall(name.lower())}
    if not vocabulary:
        return None
    corrected = []
    for word in words:
        if word in vocabulary or word.isdigit():
            corrected.append(word)
            continue
        close = difflib.get_close_matches(word, vocabulary, n=1, cutoff=0.7)
        corrected.append(close[0] if close else word)
    if corrected == words:
        return None
    return " ".join(corrected)


def product_search(qs: QuerySet[Product], text: str) -> QuerySet[Product]:
    """Full-text search on PostgreSQL (GIN index), a substring match elsewhere.

    When the words as typed find nothing, a typo-tolerant fallback: on PostgreSQL the
    products whose name has a word similar to one of the words (trigram similarity, served by
    the GIN trigram index), best match first; elsewhere the substring search for the
    corrected words of :func:`search_suggestion`."""
    text = text.strip()
    if not text:
        return qs
    if search_finds_something(text):
        if connection.vendor == "postgresql":
            query = _full_text_query(text)
            return qs.filter(search_vector=query).annotate(
                search_rank=SearchRank(F("search_vector"), query)
            )
        return qs.filter(_text_condition(text.split()))
    words = SEARCH_WORD.findall(text.lower())
    if not words:
        return qs.none()
    if connection.vendor == "postgresql":
        return _trigram_matches(qs, words)
    suggestion = search_suggestion(text)
    if suggestion is None:
        return qs.none()
    return qs.filter(_text_condition(suggestion.split()))


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


def _search_candidates(qs: QuerySet[Product]) -> QuerySet[Product]:
    """A full-text search's matches bounded to the first CATALOG_SEARCH_CANDIDATES in
    popularity order, which the caller then ranks by relevance.

    Ranking every match (``ts_rank``) reads and scores every matching row before the first
    page is known, so a common word costs more the bigger the catalog. The candidates come
    from the popularity index, checked against the search (the planner may instead take the
    GIN index's matches when they are few): the work is bounded by the candidates, not the
    catalog. Typo-tolerant (trigram) matches are few by nature and are left as they are."""
    if not isinstance(qs.query.annotations.get("search_rank"), SearchRank):
        return qs
    limit = settings.CATALOG_SEARCH_CANDIDATES
    candidates = qs.order_by(*ORDERINGS["popularity"]).values("pk")[:limit]
    return qs.filter(pk__in=candidates)


def product_order(qs: QuerySet[Product], ordering: str | None, *, searched: bool = False):
    """The list's order. A search without an explicit ordering: its most popular matches
    (:func:`_search_candidates`), most relevant first."""
    if not ordering and searched and connection.vendor == "postgresql":
        return _search_candidates(qs).order_by("-search_rank", "id")
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
    """Products with their outgoing graph edges (the neighbours' stock and pictures) and, for a
    parent, its active variants with their stock (read once, on first use: one query for a
    parent, none for other products). A variant of a hidden parent is hidden."""
    relations = ProductRelation.objects.filter(
        to_product__is_active=True, to_product__parent__isnull=True
    ).select_related("to_product", "to_product__category", "to_product__stock")
    qs = product_base_queryset(include_inactive=include_inactive).select_related("parent")
    if not include_inactive:
        qs = qs.filter(Q(parent__isnull=True) | Q(parent__is_active=True))
    return qs.prefetch_related(
        Prefetch("outgoing_relations", queryset=relations, to_attr="relations"),
        product_images_prefetch("relations__to_product__images"),
    )


def product_variants(product: Product) -> list[Product]:
    """A parent's active variants with their stock, oldest first: one query, then kept on the
    product for the rest of the request."""
    if not product.is_parent:
        return []
    variants = getattr(product, "active_variants", None)
    if variants is None:
        variants = list(
            product.variants.filter(is_active=True)
            .select_related("stock")
            .prefetch_related(product_images_prefetch())
            .order_by("id")
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
    options, price, available, in_stock, picture``. ``picture`` is the variant's own primary
    picture (a ProductImage), or None: the picker then keeps the parent's picture."""
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
            "picture": product_primary_picture(variant),
        }
        for variant in product_variants(product)
    ]


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
    qs = qs.prefetch_related(product_images_prefetch("to_product__images"))
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


def product_pictures(product: Product) -> list[ProductImage]:
    """A product's pictures in order, the primary one first (prefetched where the queryset
    came from this module)."""
    return list(product.images.all())


def product_primary_picture(product: Product) -> ProductImage | None:
    pictures = product_pictures(product)
    return pictures[0] if pictures else None


def _product_filtered(
    *,
    search: str | None = None,
    category: Category | None = None,
    min_price: Decimal | None = None,
    max_price: Decimal | None = None,
    attributes: Mapping[str, Iterable[str]] | None = None,
    in_stock: bool | None = None,
) -> QuerySet[Product]:
    """Active listable products (standalone and parents, never a variant) matching the
    filters, unordered and without joins (for counting)."""
    qs = _listable_for_counting()
    if search and search.strip():
        qs = product_search(qs, search)
    if category is not None:
        qs = product_filter_category(qs, category)
    qs = product_filter_price(qs, min_price=min_price, max_price=max_price)
    if attributes:
        qs = product_filter_attributes(qs, attributes)
    if in_stock is not None:
        qs = product_filter_in_stock(qs, in_stock)
    return qs.order_by()


def _attribute_counts(qs: QuerySet[Product], *, only: str | None = None) -> dict[str, dict]:
    """``{name: {value_as_text: count}}`` over the scalar attributes of the products in ``qs``,
    counted by the database (one GROUP BY over the attributes' key/value pairs)."""
    try:
        ids_sql, ids_params = qs.values("id").query.sql_with_params()
    except EmptyResultSet:
        return {}
    table = Product._meta.db_table
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT e.key, e.value #>> '{{}}', COUNT(*) FROM {table} p "
            "CROSS JOIN LATERAL jsonb_each(p.attributes) e "
            f"WHERE p.id IN ({ids_sql}) "
            "AND jsonb_typeof(e.value) IN ('string', 'number', 'boolean')"
        )
        params = list(ids_params)
    else:
        # json_each's type: 'true'/'false' for booleans (their value reads 1/0), shown as the
        # API and the filters spell them.
        sql = (
            "SELECT e.key, CASE e.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
            f"ELSE CAST(e.value AS TEXT) END, COUNT(*) FROM {table} p, json_each(p.attributes) e "
            f"WHERE p.id IN ({ids_sql}) "
            "AND e.type IN ('text', 'integer', 'real', 'true', 'false')"
        )
        params = list(ids_params)
    if only is not None:
        sql += " AND e.key = %s"
        params.append(only)
    sql += " GROUP BY 1, 2"
    counts: dict[str, dict] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for key, value, count in cursor.fetchall():
            counts.setdefault(key, {})[value] = count
    return counts


def product_facets(
    *,
    search: str | None = None,
    category: Category | None = None,
    min_price: Decimal | None = None,
    max_price: Decimal | None = None,
    attributes: Mapping[str, Iterable[str]] | None = None,
    in_stock: bool | None = None,
) -> dict:
    """Exact counts for a filtered product list, computed in SQL.

    Each facet is counted under every filter except its own, so the values of a facet say
    how many products choosing them gives: ``categories`` (the count of a category includes
    its sub-categories) ignore the category filter, ``price`` (the lowest and highest price)
    ignores the price range, and each attribute ignores the filter on that attribute (the
    values of one attribute are alternatives). Attributes nobody filters on are counted in
    one query; each filtered attribute costs one more.

    ``{"categories": [{id, slug, name, parent, count}], "attributes": {name: [{value,
    count}]}, "price": {min, max}}``: categories in tree order and only those with products,
    attribute values by count, then value.
    """
    filters = {
        "search": search,
        "category": category,
        "min_price": min_price,
        "max_price": max_price,
        "attributes": {name: list(values) for name, values in (attributes or {}).items()},
        "in_stock": in_stock,
    }

    own = dict(
        _product_filtered(**{**filters, "category": None})
        .values_list("category_id")
        .annotate(n=Count("id"))
        .values_list("category_id", "n")
    )
    categories = []
    for node in category_tree():
        count = sum(own.get(i, 0) for i in category_descendant_ids(node["id"]))
        if count:
            categories.append(
                {
                    "id": node["id"],
                    "slug": node["slug"],
                    "name": node["name"],
                    "parent": node["parent_id"],
                    "count": count,
                }
            )

    prices = _product_filtered(**{**filters, "min_price": None, "max_price": None}).aggregate(
        min=Min("price"), max=Max("price")
    )

    counts = _attribute_counts(_product_filtered(**filters))
    for name in filters["attributes"]:
        others = {k: v for k, v in filters["attributes"].items() if k != name}
        counts.pop(name, None)
        counts.update(
            _attribute_counts(_product_filtered(**{**filters, "attributes": others}), only=name)
        )
    return {
        "categories": categories,
        "attributes": {
            name: [
                {"value": value, "count": n}
                for value, n in sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
            ]
            for name, values in sorted(counts.items())
        },
        "price": {"min": prices["min"], "max": prices["max"]},
    }


def products_export(queryset: QuerySet[Product] | None = None):
    """The catalog (or the given products) as a tablib Dataset in the catalog file format."""
    from catalog.resources import ProductResource

    resource = ProductResource()
    if queryset is not None:
        queryset = queryset.select_related("category", "stock", "parent").order_by("sku")
    return resource.export(queryset)
