"""What crawlers read: the sitemap, canonical URLs, Open Graph tags, Product/Offer JSON-LD."""

import json
import xml.etree.ElementTree as ET
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from tests.factories import CategoryFactory, ProductFactory, ProductImageFactory, StockItemFactory

pytestmark = pytest.mark.django_db
SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


class Head(HTMLParser):
    """The page's <link>, <meta> and JSON-LD scripts, as a crawler reads them."""

    def __init__(self, html: str):
        super().__init__()
        self.links, self.meta, self.json_ld = [], {}, []
        self._in_ld = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link":
            self.links.append(attrs)
        elif tag == "meta" and ("property" in attrs or "name" in attrs):
            self.meta[attrs.get("property") or attrs["name"]] = attrs.get("content")
        elif tag == "script" and attrs.get("type") == "application/ld+json":
            self._in_ld = True

    def handle_endtag(self, tag):
        self._in_ld = False if tag == "script" else self._in_ld

    def handle_data(self, data):
        if self._in_ld:
            self.json_ld.append(json.loads(data))

    def canonical(self):
        return [link["href"] for link in self.links if link.get("rel") == "canonical"]


def test_the_sitemap_lists_the_pages_categories_and_active_products(client):
    phones = CategoryFactory(slug="phones")
    shown = ProductFactory(slug="blue-phone", category=phones)
    ProductFactory(slug="hidden-phone", is_active=False)

    response = client.get("/sitemap.xml")

    assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
    urls = {loc.text for loc in ET.fromstring(response.content).findall("s:url/s:loc", SITEMAP_NS)}
    assert "http://testserver/" in urls and "http://testserver/products/" in urls
    assert "http://testserver/products/?category=phones" in urls
    assert f"http://testserver{shown.get_absolute_url()}" in urls
    assert not any("hidden-phone" in url for url in urls)


def test_robots_txt_points_at_the_sitemap(client):
    body = client.get("/robots.txt").content.decode()

    assert "Sitemap: http://testserver/sitemap.xml" in body
    assert "Disallow: /checkout/" in body


def test_every_page_links_its_icon_and_favicon_ico_leads_to_it(client):
    head = Head(client.get("/").content.decode())

    icons = [link["href"] for link in head.links if link.get("rel") == "icon"]
    assert icons == ["/static/favicon.svg"]
    assert client.get("/favicon.ico")["Location"] == "/static/favicon.svg"


def test_a_product_page_has_product_and_offer_json_ld_that_parses(client):
    product = ProductFactory(
        name="Blue Kettle <1.7 l>",
        price=Decimal("49.90"),
        attributes={"brand": "Bialetti"},
        description="Boils fast & quietly.",
    )
    StockItemFactory(product=product, quantity=4)
    ProductImageFactory(product=product, position=0)

    head = Head(client.get(product.get_absolute_url()).content.decode())

    [data] = head.json_ld
    url = f"http://testserver{product.get_absolute_url()}"
    assert data["@context"] == "https://schema.org" and data["@type"] == "Product"
    assert data["name"] == "Blue Kettle <1.7 l>" and data["sku"] == product.sku
    assert data["brand"] == {"@type": "Brand", "name": "Bialetti"}
    assert data["description"] == "Boils fast & quietly."
    assert data["url"] == url
    assert len(data["image"]) == 1 and data["image"][0].startswith("http://testserver/media/")
    assert data["offers"] == {
        "@type": "Offer",
        "url": url,
        "price": "49.90",
        "priceCurrency": "EUR",
        "availability": "https://schema.org/InStock",
        "itemCondition": "https://schema.org/NewCondition",
    }


def test_json_ld_cannot_close_its_script_early(client):
    product = ProductFactory(name="</script><script>alert(1)</script>")

    html = client.get(product.get_absolute_url()).content.decode()

    assert "<script>alert(1)" not in html
    assert Head(html).json_ld[0]["name"] == "</script><script>alert(1)</script>"


def test_a_sold_out_product_is_offered_out_of_stock(client):
    product = ProductFactory()
    StockItemFactory(product=product, quantity=0)

    [data] = Head(client.get(product.get_absolute_url()).content.decode()).json_ld

    assert data["offers"]["availability"] == "https://schema.org/OutOfStock"


def test_a_product_page_has_its_canonical_url_and_open_graph_tags(client):
    product = ProductFactory(name="Blue Kettle", description="A kettle. " * 40)
    ProductImageFactory(product=product, alt="The kettle from the front")

    head = Head(client.get(product.get_absolute_url(), {"utm_source": "mail"}).content.decode())

    url = f"http://testserver{product.get_absolute_url()}"
    assert head.canonical() == [url]
    assert head.meta["og:type"] == "product" and head.meta["og:url"] == url
    assert head.meta["og:title"] == "Blue Kettle"
    assert head.meta["og:image"].startswith("http://testserver/media/")
    assert head.meta["og:image:alt"] == "The kettle from the front"
    assert head.meta["twitter:card"] == "summary_large_image"
    assert len(head.meta["description"]) <= 155 and head.meta["og:description"]


@pytest.mark.parametrize(
    ("query", "canonical", "noindex"),
    [
        ({}, "http://testserver/products/", False),
        ({"category": "phones", "ordering": "price"}, "/products/?category=phones", False),
        ({"category": "phones", "page": "2"}, "/products/?category=phones&page=2", False),
        ({"search": "kettle"}, "http://testserver/products/", True),
        ({"category": "phones", "attr_color": "red"}, "/products/?category=phones", True),
    ],
)
def test_a_list_names_its_category_and_page_as_canonical(client, query, canonical, noindex):
    phones = CategoryFactory(slug="phones")
    ProductFactory.create_batch(
        30, category=phones, name="Kettle phone", attributes={"color": "red"}
    )

    head = Head(client.get("/products/", query).content.decode())

    assert head.canonical()[0].endswith(canonical)
    assert ("robots" in head.meta) is noindex


def test_the_home_page_is_its_own_canonical(client):
    head = Head(client.get("/").content.decode())

    assert head.canonical() == ["http://testserver/"]
    assert head.meta["og:type"] == "website" and head.meta["og:url"] == "http://testserver/"


def test_the_sitemap_lists_a_parent_and_none_of_its_variants(client, with_variants):
    parent, variants = with_variants()

    response = client.get("/sitemap.xml")

    urls = {loc.text for loc in ET.fromstring(response.content).findall("s:url/s:loc", SITEMAP_NS)}
    assert f"http://testserver{parent.get_absolute_url()}" in urls
    assert not any(variant.slug in url for variant in variants for url in urls)
