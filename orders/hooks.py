"""The checkout's window onto a customer's saved addresses.

``orders`` sits below ``customers`` in the layers and never imports it, so the address book is
handed to the checkout here: ``customers`` registers its implementation at start-up
(``CustomersConfig.ready``). Without one registered, the checkout simply offers no saved
addresses."""

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SavedAddress:
    id: int
    # In the shape of an order's shipping address: name, line1, line2, city, postal_code,
    # country, phone.
    address: dict
    is_default: bool


class AddressBook(Protocol):
    def addresses(self, user) -> list[SavedAddress]:
        """The customer's saved addresses, the default first."""

    def save(self, user, address: dict) -> bool:
        """Keep ``address`` in the customer's book (False when it is there already). Raises
        ShopError or ValidationError when it cannot."""


ADDRESS_FIELDS = ("name", "line1", "line2", "city", "postal_code", "country", "phone")


def same_address(a: dict, b: dict) -> bool:
    """Whether two addresses are the same, case and surrounding spaces aside."""
    return all(
        str(a.get(field) or "").strip().lower() == str(b.get(field) or "").strip().lower()
        for field in ADDRESS_FIELDS
    )


_address_book: AddressBook | None = None


def register_address_book(book: AddressBook | None) -> None:
    global _address_book
    _address_book = book


def address_book() -> AddressBook | None:
    return _address_book
