"""Storefront pages of the catalog. Thin: the same filters and selectors as the API."""

import re
from functools import wraps

from django.conf import settings
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from catalog import selectors, seo
from catalog.filters import ProductFilter
from catalog.models import ProductRelation
from catalog.templatetags.catalog_pictures import picture_html
from shop.cache import area_version, cached, tag
from shop.http_cache import catalog_read
from shop.templatetags.shop_tags import LOW_STOCK, availability, money

PAGE_SIZE = 24
# Stands for the visitor's CSRF token in a cached product page; each answer puts its own in.
CSRF_PLACEHOLDER = "csrf-token-of-this-visitor-7d0c5a"
# Product cards carry their product's id (recommended products beside a product, for example).
_PRODUCT_DATA = re.compile(r'data-product="(\d+)"')
HOME_CATEGORIES = 8
HOME_POPULAR = 8
FACET_VALUES = 12  # values shown per attribute in the sidebar, the most common first

FILTER_LABELS = {
    "search": "Search",
    "category": "Category",
    "min_price": "Minimum price",
    "max_price": "Maximum price",
    "in_stock": "Availability",
    "ordering": "Sort order",
    "page": "Page",
}
# How the catalog graph's edges are shown on a product page, in this order.
RELATION_SECTIONS = [
    (ProductRelation.Kind.ACCESSORY, "Accessories"),
    (ProductRelation.Kind.BUNDLE, "Often bought together"),
    (ProductRelation.Kind.RELATED, "Related products"),
    (ProductRelation.Kind.SUBSTITUTE, "Alternatives"),
]
# Units written after an attribute name: storage_gb -> "Storage (GB)".
ACRONYMS = {"ram": "RAM", "usb": "USB", "hdmi": "HDMI", "led": "LED", "ssd": "SSD", "cpu": "CPU"}
ATTRIBUTE_UNITS = {"gb": "GB", "tb": "TB", "in": "in", "cm": "cm", "mm": "mm", "kg": "kg", "g": "g"}


def attribute_label(name: str) -> str:
    words = name.replace("-", "_").split("_")
    unit = ATTRIBUTE_UNITS.get(words[-1].lower()) if len(words) > 1 else None
    if unit:
        words = words[:-1]
    label = " ".join(words).strip().capitalize() or name
    label = " ".join(ACRONYMS.get(word.lower(), word) for word in label.split(" "))
    return f"{label} ({unit})" if unit else label


def attribute_value_label(value) -> str:
    text = str(value)
    return {"true": "Yes", "false": "No"}.get(text.lower(), text)


def _category_path(tree: list[dict], node: dict | None) -> list[dict]:
    """The node and its ancestors, root first."""
    by_id = {n["id"]: n for n in tree}
    path = []
    while node is not None:
        path.append(node)
        node = by_id.get(node["parent_id"])
    return path[::-1]


def _find_category(tree: list[dict], identifier: str) -> dict | None:
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    return next((n for n in tree if identifier in (n["slug"], str(n["id"]))), None)


def _category_counts(facets: dict | None) -> dict[int | None, int] | None:
    """Products per category id under the other filters (None: all of them)."""
    if facets is None:
        return None
    counts = {node["id"]: node["count"] for node in facets["categories"]}
    counts[None] = sum(node["count"] for node in facets["categories"] if node["parent"] is None)
    return counts


def _category_links(
    request, tree: list[dict], current: dict | None, *, counts: dict | None = None
) -> list[dict]:
    """The category tree for the sidebar: every root, and the children along the current path.

    A link keeps the search, price, availability and sort order, and drops the attribute
    filters and the page, which belong to the category being left.
    """
    params = request.GET.copy()
    for key in list(params):
        if key in ("page", "category") or key.startswith("attr_"):
            params.pop(key)
    children: dict[int | None, list[dict]] = {}
    for node in tree:
        children.setdefault(node["parent_id"], []).append(node)
    open_ids = {n["id"] for n in _category_path(tree, current)}

    def href(slug: str | None) -> str:
        query = params.copy()
        if slug:
            query["category"] = slug
        encoded = query.urlencode()
        return f"?{encoded}" if encoded else "?"

    def build(parent_id):
        return [
            {
                "name": node["name"],
                "slug": node["slug"],
                "href": href(node["slug"]),
                "current": current is not None and node["id"] == current["id"],
                "count": None if counts is None else counts.get(node["id"], 0),
                "children": build(node["id"]) if node["id"] in open_ids else [],
            }
            for node in children.get(parent_id, [])
        ]

    return [
        {
            "name": "All products",
            "slug": "",
            "href": href(None),
            "current": current is None,
            "count": None if counts is None else counts.get(None, 0),
            "children": [],
        },
        *build(None),
    ]


def _filter_errors(errors) -> list[str]:
    messages = []
    for field, field_errors in errors.items():
        if field.startswith("attr_"):
            label = f"Filter “{field[len('attr_') :]}”"
        else:
            label = FILTER_LABELS.get(field, field.replace("_", " ").capitalize())
        messages.append(f"{label}: {' '.join(field_errors)}")
    return messages


def _facet_sort_key(value: str):
    """Numbers in numeric order (64, 128, 1024), then words alphabetically."""
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value.lower())


def _facets(request, facets: dict | None, *, show_attributes: bool) -> list[dict]:
    """Attribute checkboxes with their exact counts (the most common values of each attribute,
    FACET_VALUES of them), plus anything the visitor already ticked, so that it can be
    unticked even when nothing matches any more."""
    counts: dict[str, dict[str, int]] = {}
    if facets is not None and show_attributes:
        for name, values in facets["attributes"].items():
            counts[name] = {v["value"]: v["count"] for v in values[:FACET_VALUES]}
    for key in request.GET:
        if key.startswith("attr_"):
            name = key[len("attr_") :]
            chosen = [v for v in request.GET.getlist(key) if v]
            if chosen:
                known = counts.setdefault(name, {})
                everything = {
                    v["value"]: v["count"]
                    for v in (facets or {}).get("attributes", {}).get(name, [])
                }
                for value in chosen:
                    known.setdefault(value, everything.get(value, 0))
    result = []
    for name in sorted(counts):
        chosen = set(request.GET.getlist(f"attr_{name}"))
        result.append(
            {
                "name": name,
                "param": f"attr_{name}",
                "label": attribute_label(name),
                "values": [
                    {
                        "value": v,
                        "label": attribute_value_label(v),
                        "count": counts[name][v],
                        "checked": v in chosen,
                    }
                    for v in sorted(counts[name], key=_facet_sort_key)
                ],
                "open": bool(chosen),
            }
        )
    return result


def _facet_counts(request, product_filter) -> dict:
    """The exact counts of the sidebar, cached in the catalog area like the API's."""
    data = product_filter.form.cleaned_data
    query = sorted(
        (name, value)
        for name, values in request.GET.lists()
        for value in values
        if value != "" and name not in ("ordering", "page")
    )

    key = ("product-facets-page", tuple(query))

    def build():
        if data.get("in_stock") is not None:
            tag(
                selectors.CATALOG_CACHE_AREA,
                key,
                [selectors.CATALOG_STOCK_TAG],
                settings.CATALOG_CACHE_SECONDS,
            )
        category = data.get("category")
        return selectors.product_facets(
            search=data.get("search") or None,
            category=selectors.category_get(category) if category else None,
            min_price=data.get("min_price"),
            max_price=data.get("max_price"),
            attributes=product_filter.form.attribute_filters,
            in_stock=data.get("in_stock"),
        )

    return cached(selectors.CATALOG_CACHE_AREA, key, build, timeout=settings.CATALOG_CACHE_SECONDS)


def home(request):
    tree = selectors.category_tree()
    roots = [c for c in tree if c["parent_id"] is None]
    featured = [c for c in tree if c["is_featured"]] or roots
    children: dict[int, list[dict]] = {}
    for node in tree:
        if node["parent_id"] is not None:
            children.setdefault(node["parent_id"], []).append(node)
    popular = selectors.product_popular(limit=HOME_POPULAR)
    return render(
        request,
        "catalog/home.html",
        {
            "featured_categories": [
                {**c, "children": children.get(c["id"], [])[:4]} for c in featured
            ][:HOME_CATEGORIES],
            "popular": popular,
            "canonical": request.build_absolute_uri(reverse("catalog:home")),
        },
    )


def _cached_page(request, key: tuple, build) -> dict:
    """The parts of a storefront page that are the same for every anonymous visitor, from the
    catalog cache area; built afresh for a signed-in visitor (whose page may differ: reviews
    they may write, product views recorded for their recommendations).

    ``build(tags)`` renders the parts and adds to ``tags`` the products it shows, so that
    stock crossing zero for one of them drops this page (and leaves the others cached)."""
    if request.user.is_authenticated:
        return build(set())

    def build_tagged() -> dict:
        tags: set[str] = set()
        parts = build(tags)
        tag(selectors.CATALOG_CACHE_AREA, key, tags, settings.CATALOG_CACHE_SECONDS)
        return parts

    return cached(
        selectors.CATALOG_CACHE_AREA, key, build_tagged, timeout=settings.CATALOG_CACHE_SECONDS
    )


def _product_tags(products) -> set[str]:
    return {selectors.product_cache_tag(p.pk) for p in products}


def _storefront_read(view):
    """A storefront catalog page: the same HTML for every anonymous visitor, so caches may keep
    it (shop/http_cache.py); its header and cart depend on the session cookie."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        return catalog_read(view(request, *args, **kwargs), vary=("Cookie",))

    return wrapped


@_storefront_read
def product_list(request):
    # The query string as sent: the page repeats its parameters in their order.
    key = ("page-list", request.META.get("QUERY_STRING", ""))
    parts = _cached_page(request, key, lambda tags: _product_list_parts(request, tags))
    category, search = parts["category"], parts["search"]
    return render(
        request,
        "catalog/product_list.html",
        {
            "content": mark_safe(parts["content"]),  # rendered by _product_list_parts
            "category": category,
            "search": search,
            "canonical": seo.list_canonical(
                request,
                category_slug=category["slug"] if category else None,
                page=parts["page_number"],
            ),
            # A search or a filtered view is not a page of its own for search engines.
            "noindex": bool(search) or any(key.startswith("attr_") for key in request.GET),
        },
    )


def _product_list_parts(request, tags: set) -> dict:
    """The product list's content (everything between the header and the footer)."""
    tree = selectors.category_tree()
    category = _find_category(tree, request.GET.get("category", ""))
    product_filter = ProductFilter(request.GET, queryset=selectors.product_listable_queryset())
    if product_filter.is_valid():
        products = product_filter.qs
        errors = []
    else:
        products = selectors.product_listable_queryset().none()
        errors = _filter_errors(product_filter.errors)
    if category is None and request.GET.get("category") and not errors:
        # A category newer than the cached tree: read it directly.
        found = selectors.category_get(request.GET["category"])
        if found is not None:
            category = {f: getattr(found, f) for f in ("id", "parent_id", "slug", "name")}
    search = (request.GET.get("search") or "").strip()

    paginator = Paginator(products, PAGE_SIZE)
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except PageNotAnInteger:
        page = paginator.page(1)
    except EmptyPage:
        page = paginator.page(paginator.num_pages)

    # Exact counts for the current filters; each facet ignores its own filter, so that the
    # other values of a ticked attribute (and the other categories) stay visible.
    facets = _facet_counts(request, product_filter) if not errors else None

    orderings = [
        ("popularity", "Most popular"),
        ("price", "Price: low to high"),
        ("-price", "Price: high to low"),
        ("name", "Name: A to Z"),
        ("-created_at", "Newest first"),
    ]
    if search:
        orderings.insert(0, ("", "Best match"))
    did_you_mean = selectors.search_suggestion(search) if search and not errors else None
    did_you_mean_href = None
    if did_you_mean:
        query = request.GET.copy()
        query["search"] = did_you_mean
        query.pop("page", None)
        did_you_mean_href = f"?{query.urlencode()}"
    has_attribute_filter = any(key.startswith("attr_") for key in request.GET)
    active_filters = any(
        request.GET.get(key) for key in ("search", "category", "min_price", "max_price")
    ) or any(key.startswith("attr_") or key == "in_stock" for key in request.GET)

    shown = list(page.object_list)
    tags |= _product_tags(shown)
    if "in_stock" in request.GET:  # which products are listed depends on stock
        tags.add(selectors.CATALOG_STOCK_TAG)
    content = render_to_string(
        "catalog/_product_list_content.html",
        {
            "page": page,
            "page_range": paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1),
            "errors": errors,
            "params": request.GET,
            "search": search,
            "did_you_mean": did_you_mean,
            "did_you_mean_href": did_you_mean_href,
            "category": category,
            "breadcrumbs": _category_path(tree, category)[:-1],
            "category_links": _category_links(
                request, tree, category, counts=_category_counts(facets)
            ),
            "orderings": orderings,
            "facets": _facets(
                request,
                facets,
                show_attributes=bool(category or search or has_attribute_filter),
            ),
            "active_filters": active_filters,
        },
        request=request,
    )
    return {
        "content": content,
        "category": category,
        "search": search,
        "page_number": page.number,
    }


@_storefront_read
def product_detail(request, slug):
    # Links in the head are absolute: the host is part of the key.
    key = ("page-detail", slug, request.META.get("QUERY_STRING", ""), request.scheme)
    key = (*key, request.get_host())
    if not request.user.is_authenticated:
        # The page shows the products recommended beside this one and its reviews: it is
        # stale when those change too.
        key = (*key, area_version("recommendations"))
    parts = _cached_page(request, key, lambda tags: _product_detail_parts(request, slug, tags))
    if parts is None:
        raise Http404("No product matches the given query.")
    if "redirect" in parts:
        return redirect(parts["redirect"])
    content = parts["content"]
    if CSRF_PLACEHOLDER in content:
        content = content.replace(CSRF_PLACEHOLDER, get_token(request))
    return render(
        request,
        "catalog/product_detail.html",
        {
            "title": parts["title"],
            "meta_description": parts["meta_description"],
            "open_graph": mark_safe(parts["open_graph"]),  # rendered by _product_detail_parts
            "content": mark_safe(content),
            "canonical": parts["canonical"],
            # For the header's category bar, which marks the product's root category.
            "product": _NavProduct(parts["category_id"]),
        },
    )


class _NavProduct:
    """What the header's category bar reads of the product shown (shop_tags.category_nav)."""

    def __init__(self, category_id: int | None):
        self.category_id = category_id


def _product_detail_parts(request, slug: str, tags: set) -> dict | None:
    """The product page's head tags and content, or None when there is no such product, or
    where a variant's address leads."""
    product = selectors.product_detail_queryset().filter(slug=slug).first()
    if product is None:
        return None
    if product.is_variant:
        # A variant's address leads to its parent's page, with the variant chosen.
        return {"redirect": f"{product.parent.get_absolute_url()}?variant={product.pk}"}
    tree = selectors.category_tree()
    node = next((n for n in tree if n["id"] == product.category_id), None)
    relations = list(product.relations)
    available = selectors.product_available_quantity(product)
    variants = selectors.product_variants(product)
    context = {
        "product": product,
        "available": available,
        "picker": _variant_picker(request, product) if product.is_parent else None,
        **seo.product_seo(request, product, available=available),
        "relations": relations,
        "related_sections": [
            {"kind": kind, "title": title, "products": group}
            for kind, title in RELATION_SECTIONS
            if (group := [r.to_product for r in relations if r.kind == kind])
        ],
        "breadcrumbs": _category_path(tree, node),
        "attributes": [
            (attribute_label(key), attribute_value_label(value))
            for key, value in (product.attributes or {}).items()
            if isinstance(value, (str, int, float, bool))
        ],
    }
    if not request.user.is_authenticated:
        context["csrf_token"] = CSRF_PLACEHOLDER
    content = render_to_string("catalog/_product_detail_content.html", context, request=request)
    open_graph = render_to_string("catalog/_product_detail_head.html", context, request=request)
    # The page shows these products' stock: the product, its variants, the related products
    # and those recommended beside it (their cards).
    tags |= _product_tags([product, *variants, *(r.to_product for r in relations)])
    tags |= {selectors.product_cache_tag(int(pk)) for pk in _PRODUCT_DATA.findall(content)}
    return {
        "title": product.name,
        "meta_description": context.get("meta_description", ""),
        "open_graph": open_graph,
        "content": content,
        "canonical": context.get("canonical"),
        "category_id": product.category_id,
    }


def _variant_picker(request, product) -> dict:
    """The option picker of a parent's page: one group of choices per option, the variants as
    data for the page's script, and the variant chosen by ``?variant=<id>`` (or, failing
    that, the only one), whose price and stock the page shows first."""
    choices = selectors.product_variant_choices(product)
    wanted = request.GET.get("variant", "")
    chosen = next((c for c in choices if str(c["id"]) == wanted), None)
    if chosen is None and len(choices) == 1:
        chosen = choices[0]
    options = selectors.product_options(product)
    groups = [
        {
            "name": name,
            "label": attribute_label(name),
            "param": f"option_{name}",
            "values": [
                {
                    "value": value,
                    "checked": chosen is not None and chosen["options"].get(name) == value,
                    # Sold out in every combination: still choosable, marked for the eye.
                    "sold_out": not any(
                        c["in_stock"] for c in choices if c["options"].get(name) == value
                    ),
                }
                for value in values
            ],
        }
        for name, values in options.items()
    ]
    by_id = {v.pk: v for v in selectors.product_variants(product)}
    axes = " and ".join(group["label"].lower() for group in groups)
    return {
        "groups": groups,
        "chosen": chosen,
        "axes": axes,
        "stock": availability(by_id[chosen["id"]] if chosen else product),
        # For the page's script (static/js/variant-picker.js).
        "data": {
            "low": LOW_STOCK,
            "axes": axes,
            "variants": [
                {
                    "id": c["id"],
                    "sku": c["sku"],
                    "options": c["options"],
                    "price": money(c["price"], c["currency"]),
                    "available": c["available"],
                    # The variant's own picture, drawn as the page draws the parent's.
                    "picture": _variant_picture_html(product, c),
                }
                for c in choices
            ],
        },
    }


def _variant_picture_html(product, choice: dict) -> str | None:
    """The ``<picture>`` of a variant's own primary picture in the product page's slot, or
    None when it has none (or its original cannot be read): the page keeps the parent's."""
    picture = choice["picture"]
    if picture is None:
        return None
    alt = picture.alt or f"{product.name} — {' / '.join(choice['options'].values())}"
    try:
        return picture_html(picture, slot="detail", alt=alt, eager=True)
    except OSError:
        return None


@require_safe
@cache_control(max_age=86400, public=True)
def robots_txt(request):
    """Crawl everything but carts, checkout, accounts and the API; the sitemap says what."""
    sitemap = request.build_absolute_uri(reverse("catalog:sitemap"))
    lines = [
        "User-agent: *",
        "Disallow: /cart/",
        "Disallow: /checkout/",
        "Disallow: /accounts/",
        "Disallow: /orders/",
        "Disallow: /admin/",
        "Disallow: /api/",
        f"Sitemap: {sitemap}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


@require_safe
def favicon(request):
    """Browsers that ask for /favicon.ico regardless of the page's icon link get the icon."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))
