"""Storefront blocks: ``{% recommended_for request.user 8 %}``, ``{% similar_to product 8 %}``
and ``{% reviews_for product %}``.

``similar_to`` also records the signed-in customer's ``view`` of the product it is shown on
(at most once per customer and product in a short window).
"""

import logging

from django import template

from recommendations import selectors, services
from recommendations.forms import ReviewForm

register = template.Library()
logger = logging.getLogger(__name__)


@register.inclusion_tag("recommendations/_recommended.html")
def recommended_for(user, limit=8):
    """The customer's own recommendations; nothing for visitors the models do not know (the
    page already shows what is popular)."""
    if not getattr(user, "is_authenticated", False):
        return {"products": []}
    found = selectors.recommendations_for_user(user, int(limit))
    if all(r.reason == selectors.POPULAR for r in found):
        return {"products": []}
    return {"title": "Recommended for you", "products": found, "slot": "home"}


@register.inclusion_tag("recommendations/_similar.html", takes_context=True)
def similar_to(context, product, limit=8):
    request = context.get("request")
    if request is not None:
        try:
            services.product_view_record(user=request.user, product=product)
        except Exception:  # a lost view must never break the product page
            logger.warning("could not record a product view", exc_info=True)
    return {
        "products": [p for p, _ in selectors.similar_products(product, int(limit))],
        "slot": "product",
        "tracking": selectors.similar_tracking(),
    }


@register.inclusion_tag("recommendations/_reviews.html", takes_context=True)
def reviews_for(context, product, limit=10):
    request = context.get("request")
    user = getattr(request, "user", None)
    can_review = selectors.user_can_review(user, product) if user is not None else False
    return {
        "request": request,
        "product": product,
        "block": selectors.review_block(product, int(limit)),
        "form": ReviewForm() if can_review else None,
        "csrf_token": context.get("csrf_token"),
    }


@register.filter
def stars(value) -> str:
    """``4.3`` -> "★★★★☆" (rounded to whole stars)."""
    try:
        full = max(0, min(5, round(float(value))))
    except (TypeError, ValueError):
        return ""
    return "★" * full + "☆" * (5 - full)
