"""The product page's customer buttons: ``{% load customers %}{% product_actions product
available %}`` (save to the wishlist; when sold out, ask for a back-in-stock mail)."""

from django import template

from customers import alerts
from customers.models import WishlistItem

register = template.Library()


@register.inclusion_tag("customers/_product_actions.html", takes_context=True)
def product_actions(context, product, available):
    request = context.get("request")
    user = getattr(request, "user", None)
    signed_in = bool(user and user.is_authenticated)
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "product": product,
        "signed_in": signed_in,
        # A parent's page offers no alert: its variants, not it, come back in stock.
        "sold_out": available <= 0 and not product.is_parent,
        "saved": signed_in and WishlistItem.objects.filter(owner=user, product=product).exists(),
        "alert_waiting": signed_in
        and available <= 0
        and not product.is_parent
        and alerts.stock_alert_waiting(owner=user, product_id=product.pk),
    }
