"""Guests' orders: placed with an e-mail address and no account (``Order.user`` is None)."""

from django.db import transaction

from orders.models import Order


@transaction.atomic
def orders_claim(*, user, email: str) -> int:
    """Give ``user`` every guest order placed with ``email`` (case aside). Returns how many.

    The caller must know that ``user`` owns the address (customers claims at e-mail
    verification only): whoever could claim by an address alone would see its orders."""
    if not email:
        return 0
    return Order.objects.filter(user__isnull=True, email__iexact=email.strip()).update(user=user)
