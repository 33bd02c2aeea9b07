"""What search engines and link previews read: canonical URLs, Open Graph tags, schema.org
Product/Offer data (JSON-LD) and the sitemap."""

import json

from django.contrib.sitemaps import Sitemap
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from catalog import selectors
from catalog.models import Category, Product

# What JSON must not contain inside <script>: the same escapes as Django's json_script.
_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def json_ld(data: dict) -> SafeString:
    """A ``<script type="application/ld+json">`` holding ``data``."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_SCRIPT_ESCAPES)
    return format_html('<script type="application/ld+json">{}</script>', SafeString(text))


def description_of(product: Product, *, length: int = 155) -> str:
    text = " ".join((product.description or product.name).split())
    return Truncator(text).chars(length)


def product_seo(request, product: Product, *, available: int) -> dict:
    """Canonical URL, Open Graph tags and JSON-LD of a product page."""
    url = request.build_absolute_uri(product.get_absolute_url())
    pictures = selectors.product_pictures(product)
    images = [request.build_absolute_uri(p.detail_jpeg.url) for p in pictures]
    offer = {
        "@type": "Offer",
        "url": url,
        "price": f"{product.price:.2f}",
        "priceCurrency": product.currency,
        "availability": "https://schema.org/InStock"
        if available > 0
        else "https://schema.org/OutOfStock",
        "itemCondition": "https://schema.org/NewCondition",
    }
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.name,
        "sku": product.sku,
        "url": url,
        "description": description_of(product, length=5000),
        "category": product.category.name,
        "offers": offer,
    }
    if images:
        data["image"] = images
    brand = (product.attributes or {}).get("brand")
    if isinstance(brand, str) and brand:
        data["brand"] = {"@type": "Brand", "name": brand}
    og = [
        ("og:type", "product"),
        ("og:title", product.name),
        ("og:description", description_of(product)),
        ("og:url", url),
        *([("og:image", images[0]), ("og:image:alt", pictures[0].alt or product.name)]
          if images else []),
        ("product:price:amount", offer["price"]),
        ("product:price:currency", product.currency),
    ]  # fmt: skip
    return {
        "canonical": url,
        "meta_description": description_of(product),
        "og": og,
        "twitter_card": "summary_large_image" if images else "summary",
        "json_ld": json_ld(data),
    }


def list_canonical(request, *, category_slug: str | None, page: int) -> str:
    """A product list's canonical URL: its category and page; searches, filters and sort
    orders are views of the same list."""
    params = []
    if category_slug:
        params.append(f"category={category_slug}")
    if page > 1:
        params.append(f"page={page}")
    path = reverse("catalog:product-list") + (f"?{'&'.join(params)}" if params else "")
    return request.build_absolute_uri(path)


class ProductSitemap(Sitemap):
    changefreq = "daily"
    priority = 0.8

    def items(self):
        # Pages of their own: standalone products and parents (a variant's address leads to
        # its parent's page).
        return (
            Product.objects.filter(is_active=True, structure__in=selectors.LISTED_STRUCTURES)
            .only("slug", "updated_at")
            .order_by("id")
        )

    def lastmod(self, product):
        return product.updated_at


class CategorySitemap(Sitemap):
    changefreq = "daily"
    priority = 0.6

    def items(self):
        return Category.objects.only("slug").order_by("position", "name", "id")


class PageSitemap(Sitemap):
    changefreq = "daily"
    priority = 1.0

    def items(self):
        return ["catalog:home", "catalog:product-list"]

    def location(self, name):
        return reverse(name)


SITEMAPS = {"pages": PageSitemap, "categories": CategorySitemap, "products": ProductSitemap}
