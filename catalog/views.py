"""Storefront pages of the catalog. Thin: the same filters and selectors as the API."""

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.shortcuts import get_object_or_404, render

from catalog import selectors
from catalog.filters import ProductFilter

PAGE_SIZE = 24


def home(request):
    tree = selectors.category_tree()
    featured = [c for c in tree if c["is_featured"]] or [c for c in tree if c["parent_id"] is None]
    return render(
        request,
        "catalog/home.html",
        {
            "featured_categories": featured[:8],
            "popular": selectors.product_popular(limit=8),
        },
    )


def product_list(request):
    product_filter = ProductFilter(request.GET, queryset=selectors.product_base_queryset())
    errors = []
    if product_filter.is_valid():
        products = product_filter.qs
    else:
        products = selectors.product_base_queryset().none()
        errors = [
            f"{field.replace('_', ' ')}: {' '.join(msgs)}"
            for field, msgs in product_filter.errors.items()
        ]
    paginator = Paginator(products, PAGE_SIZE)
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except PageNotAnInteger:
        page = paginator.page(1)
    except EmptyPage:
        page = paginator.page(paginator.num_pages)
    params = request.GET.copy()
    params.pop("page", None)
    selected = (
        selectors.category_get(request.GET["category"]) if request.GET.get("category") else None
    )
    return render(
        request,
        "catalog/product_list.html",
        {
            "page": page,
            "errors": errors,
            "query": params.urlencode(),
            "params": request.GET,
            "category": selected,
            "categories": selectors.category_tree(),
            "orderings": [
                ("popularity", "Most popular"),
                ("price", "Price: low to high"),
                ("-price", "Price: high to low"),
                ("name", "Name"),
                ("-created_at", "Newest"),
            ],
            "facets": selectors.attribute_facets(products)
            if selected or request.GET.get("search")
            else {},
        },
    )


def product_detail(request, slug):
    product = get_object_or_404(selectors.product_detail_queryset(), slug=slug)
    return render(
        request,
        "catalog/product_detail.html",
        {
            "product": product,
            "available": selectors.product_available_quantity(product),
            "relations": product.relations,
        },
    )
