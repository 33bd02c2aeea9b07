"""Carts follow their visitor: an anonymous cart joins the customer's cart at login."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from orders.services import cart_merge

CART_SESSION_KEY = "cart_token"


@receiver(user_logged_in, dispatch_uid="orders.merge_cart_at_login")
def merge_cart_at_login(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    token = session.pop(CART_SESSION_KEY, None) if session is not None else None
    if token:
        cart_merge(user=user, session_key=token)
