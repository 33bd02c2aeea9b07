from django.db.models import QuerySet

from customers.models import Address


def address_list(*, user) -> QuerySet[Address]:
    """The customer's addresses, the default first. Anyone else's are never in it."""
    if not user.is_authenticated:
        return Address.objects.none()
    return Address.objects.filter(owner=user).order_by("-is_default", "created_at", "id")


def customer_default_address(user) -> Address | None:
    """The address a checkout can fill in for the customer, or None."""
    return address_list(user=user).filter(is_default=True).first()
