"""The address book: the only way addresses are added, changed, removed or made the default.

A customer with addresses always has exactly one default: the first address becomes it, and
when the default is deleted the oldest remaining address takes its place. The database's
partial unique constraint keeps it at most one whatever happens."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

# The wishlist's and back-in-stock alerts' services live in their own modules (customers/
# wishlist.py, customers/alerts.py); they are services of this app like the ones below.
from customers.alerts import stock_alert_subscribe as stock_alert_subscribe
from customers.alerts import stock_alerts_send as stock_alerts_send
from customers.exceptions import AddressBookFull
from customers.models import ADDRESS_FIELDS, Address
from customers.wishlist import wishlist_add as wishlist_add
from customers.wishlist import wishlist_remove as wishlist_remove

MAX_ADDRESSES = 20


def _lock_book(owner_id: int) -> list[Address]:
    """Lock the owner's addresses (in primary-key order), so that two requests changing the
    default at once wait for each other instead of tripping the constraint."""
    return list(Address.objects.select_for_update().filter(owner_id=owner_id).order_by("pk"))


def _clean_values(values: dict) -> dict:
    unknown = set(values) - set(ADDRESS_FIELDS)
    if unknown:
        raise TypeError(f"Not address fields: {sorted(unknown)}")
    if "country" in values:
        values = {**values, "country": values["country"].upper()}
    return values


@transaction.atomic
def address_create(*, owner: AbstractBaseUser, make_default: bool = False, **values) -> Address:
    book = _lock_book(owner.pk)
    if len(book) >= MAX_ADDRESSES:
        raise AddressBookFull()
    address = Address(owner=owner, **_clean_values(values))
    address.is_default = make_default or not book
    # Validate the fields first, then hand the default over (the constraint is checked last).
    address.full_clean(validate_constraints=False)
    if address.is_default:
        Address.objects.filter(owner_id=owner.pk, is_default=True).update(is_default=False)
    address.validate_constraints()
    address.save()
    return address


@transaction.atomic
def address_update(*, address: Address, **values) -> Address:
    address = Address.objects.select_for_update().get(pk=address.pk)
    for field, value in _clean_values(values).items():
        setattr(address, field, value)
    address.full_clean()
    address.save()
    return address


@transaction.atomic
def address_set_default(*, address: Address) -> Address:
    book = {a.pk: a for a in _lock_book(address.owner_id)}
    address = book[address.pk]
    if not address.is_default:
        Address.objects.filter(owner_id=address.owner_id, is_default=True).update(is_default=False)
        address.is_default = True
        address.save(update_fields=["is_default", "updated_at"])
    return address


@transaction.atomic
def address_delete(*, address: Address) -> None:
    book = _lock_book(address.owner_id)
    was_default = any(a.pk == address.pk and a.is_default for a in book)
    Address.objects.filter(pk=address.pk).delete()
    if was_default:
        remaining = sorted(
            (a for a in book if a.pk != address.pk), key=lambda a: (a.created_at, a.pk)
        )
        if remaining:
            successor = remaining[0]
            successor.is_default = True
            successor.save(update_fields=["is_default", "updated_at"])
