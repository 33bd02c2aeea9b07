"""Template helpers for the storefront: money, query strings, category navigation, placeholders."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

# Currencies written with their symbol in front ("€1,349.99"); others get the code after.
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}

# Background colours for product placeholders: dark enough for white text (contrast >= 4.5).
LOW_STOCK = 5  # "Only 3 left" at or below this many units

PLACEHOLDER_COLOURS = ["#1f5f8b", "#6b3fa0", "#1b6e3a", "#9c3d12", "#7a5c00", "#3d5a80", "#8c1c4a"]


@register.filter
def money(amount, currency="") -> str:
    """``{{ product.price|money:product.currency }}`` -> "€1,349.99", "$5.00", "1,349.99 CHF"."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return ""
    code = str(currency or "").upper()
    sign = "-" if value < 0 else ""
    digits = f"{abs(value):,.2f}"
    symbol = CURRENCY_SYMBOLS.get(code)
    if symbol:
        return f"{sign}{symbol}{digits}"
    return f"{sign}{digits} {code}".strip()


@register.filter
def percent(rate) -> str:
    """A rate as a percentage: ``{{ "0.1900"|percent }}`` -> "19%", ``0.055`` -> "5.5%"."""
    try:
        value = (Decimal(str(rate)) * 100).normalize()
    except (InvalidOperation, ValueError):
        return ""
    return f"{value:f}%"


@register.filter
def rate(value) -> str:
    """A measured rate as a percentage with one decimal: ``0.0345`` -> "3.5%"."""
    try:
        return f"{float(value) * 100:.1f}%"
    except (TypeError, ValueError):
        return ""


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced; ``None`` or "" removes one.

    ``<a href="?{% query_with page=3 %}">`` keeps every filter and changes only the page.
    """
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    return params.urlencode()


@register.filter
def initial(text) -> str:
    """The first letter of a name, for placeholders and avatars."""
    text = str(text or "").strip()
    return text[:1].upper() if text else "?"


@register.simple_tag
def placeholder(name, label=None, size="card"):
    """An inline SVG standing in for a product photo: the initial of ``name`` on a colour of
    its own. ``label`` is the image's text alternative; an empty label marks it decorative."""
    name = str(name or "")
    colour = PLACEHOLDER_COLOURS[sum(name.encode()) % len(PLACEHOLDER_COLOURS)]
    if label == "":
        a11y = mark_safe('aria-hidden="true"')
    else:
        a11y = format_html('role="img" aria-label="{}"', label if label is not None else name)
    return format_html(
        '<svg class="placeholder placeholder-{}" viewBox="0 0 160 120" {} '
        'preserveAspectRatio="xMidYMid slice" focusable="false">'
        '<rect width="160" height="120" fill="{}"/>'
        '<circle cx="130" cy="22" r="46" fill="#ffffff" fill-opacity="0.08"/>'
        '<circle cx="24" cy="110" r="38" fill="#ffffff" fill-opacity="0.06"/>'
        '<text x="80" y="60" dy="0.35em" text-anchor="middle" fill="#ffffff" '
        'font-family="system-ui, sans-serif" font-size="48" font-weight="700">{}</text></svg>',
        size,
        a11y,
        colour,
        initial(name),
    )


@register.simple_tag
def availability(product) -> dict:
    """``{% availability product as stock %}``: ``stock.quantity``, ``stock.label`` ("In stock",
    "Only 3 left", "Out of stock") and ``stock.state`` ("in", "low", "out") for styling."""
    from catalog.selectors import product_available_quantity

    quantity = product_available_quantity(product)
    if quantity <= 0:
        return {"quantity": 0, "label": "Out of stock", "state": "out"}
    if quantity <= LOW_STOCK:
        return {"quantity": quantity, "label": f"Only {quantity} left", "state": "low"}
    return {"quantity": quantity, "label": "In stock", "state": "in"}


@register.inclusion_tag("catalog/_category_nav.html", takes_context=True)
def category_nav(context):
    """The top-level categories for the site header, the current one marked (the tree is
    cached by the catalog, so this costs no query on most pages)."""
    from catalog.selectors import category_tree

    tree = category_tree()
    request = context.get("request")
    current = request.GET.get("category", "") if request is not None else ""
    product = context.get("product")
    by_id = {node["id"]: node for node in tree}
    node = next((n for n in tree if current and current in (n["slug"], str(n["id"]))), None)
    if node is None and product is not None and getattr(product, "category_id", None):
        node = by_id.get(product.category_id)
    while node is not None and node["parent_id"] is not None:
        node = by_id.get(node["parent_id"])
    return {
        "categories": [n for n in tree if n["parent_id"] is None],
        "current_root": node["id"] if node else None,
    }
