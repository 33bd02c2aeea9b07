from orders import selectors, services
from orders.receivers import CART_SESSION_KEY


def cart(request):
    """How many items are in the visitor's cart, for the header."""
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    token = session.get(CART_SESSION_KEY) if session is not None else None
    return {"cart_count": selectors.cart_count(services.cart_get(user=user, session_key=token))}
