"""Signed links to an order page, for whoever placed the order, with or without an account.

Every order mail links to the order page with a ``key``: the order's number and a digest of the
address it was placed with, signed with ``SECRET_KEY`` (``django.core.signing``) and dated. The
link opens the page for ``ORDER_LINK_MAX_AGE_DAYS`` days; it stops working early when the
order's e-mail address changes (an erased account's orders lose it). Opening it remembers the
order in the visitor's session, so the page, its invoice and its cancel button then work
without the key, for that browser only."""

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from orders.models import Order

SALT = "orders.order-link"
SESSION_KEY = "order_links"
# How many orders one browser session remembers (the most recent ones).
SESSION_LIMIT = 20


def _email_digest(order: Order) -> str:
    return salted_hmac(SALT, (order.email or "").lower()).hexdigest()[:20]


def order_link_key(order: Order) -> str:
    """The signed key that opens ``order``'s page (no personal data in it, only a digest)."""
    return signing.dumps({"n": order.number, "e": _email_digest(order)}, salt=SALT)


def order_from_link_key(*, number: str, key: str) -> Order | None:
    """The order the key opens, if it is ``number``, signed by us, not expired, and the order
    still has the address it was made for; None otherwise."""
    try:
        data = signing.loads(key, salt=SALT, max_age=settings.ORDER_LINK_MAX_AGE_DAYS * 24 * 3600)
    except signing.BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict) or data.get("n") != number:
        return None
    order = Order.objects.filter(number=number).first()
    if order is None or not order.email:
        return None
    if not constant_time_compare(str(data.get("e", "")), _email_digest(order)):
        return None
    return order


def session_remember(session, number: str) -> None:
    """Let this browser session see order ``number`` (after a valid link, or the guest's own
    checkout)."""
    numbers = [n for n in session.get(SESSION_KEY, []) if n != number]
    session[SESSION_KEY] = [*numbers, number][-SESSION_LIMIT:]


def session_allows(session, number: str) -> bool:
    return number in session.get(SESSION_KEY, [])
