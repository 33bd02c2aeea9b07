"""``{% product_picture product "card" %}``: a product's primary picture as a responsive
``<picture>`` (WebP first, JPEG for browsers without it), or the lettered placeholder when the
product has none."""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from catalog import selectors
from catalog.renditions import SIZES
from shop.templatetags.shop_tags import placeholder

register = template.Library()

# Which renditions a slot offers, and how wide it is drawn (the ``sizes`` attribute), matching
# shop.css: cards are two columns on a phone and at most ~300px wide beside the filters; the
# product page's picture fills a phone's width and about half the page on a desktop. A card
# offers no 800px rendition: it would cost every first view of a list a large WebP per product
# for a sharper card on high-density desktop screens only.
SLOTS = {
    "card": (("thumbnail", "card"), "(max-width: 760px) 50vw, 300px", "card"),
    "detail": (("card", "detail"), "(max-width: 760px) 100vw, 600px", "detail"),
    "thumbnail": (("thumbnail", "card"), "80px", "thumbnail"),
}


def _srcset(picture, sizes, fmt) -> str:
    return ", ".join(f"{getattr(picture, f'{size}_{fmt}').url} {SIZES[size][0]}w" for size in sizes)


def picture_html(picture, *, slot: str, alt: str, eager: bool = False) -> str:
    sizes, sizes_attr, default = SLOTS[slot]
    edge = SIZES[default][0]
    loading = mark_safe('loading="eager" fetchpriority="high"' if eager else 'loading="lazy"')
    return format_html(
        '<picture class="picture picture-{}">'
        '<source type="image/webp" srcset="{}" sizes="{}">'
        '<img src="{}" srcset="{}" sizes="{}" width="{}" height="{}" alt="{}" {} decoding="async">'
        "</picture>",
        slot,
        _srcset(picture, sizes, "webp"),
        sizes_attr,
        getattr(picture, f"{default}_jpeg").url,
        _srcset(picture, sizes, "jpeg"),
        sizes_attr,
        edge,
        edge,
        alt,
        loading,
    )


@register.simple_tag
def product_picture(product, slot="card", eager=False, label=None):
    """The primary picture of ``product`` for ``slot`` (card, detail, thumbnail). ``eager``
    for the one picture above the fold (the product page's), which should not wait;
    ``label=""`` marks the picture decorative (a card whose link already names the product)."""
    picture = selectors.product_primary_picture(product)
    alt = label if label is not None else None
    if picture is None:
        size = {"detail": "large"}.get(slot, "card")
        return placeholder(product.category.name, product.name if alt is None else alt, size)
    if alt is None:
        alt = picture.alt or product.name
    return picture_html(picture, slot=slot, alt=alt, eager=bool(eager))


@register.simple_tag
def product_gallery(product):
    """Every picture after the primary one, as small links to their detail rendition."""
    pictures = selectors.product_pictures(product)[1:]
    if not pictures:
        return ""
    return format_html(
        '<ul class="gallery">{}</ul>',
        format_html_join(
            "",
            '<li><a href="{}">{}</a></li>',
            (
                (p.detail_jpeg.url, picture_html(p, slot="thumbnail", alt=p.alt or product.name))
                for p in pictures
            ),
        ),
    )
