"""The address book as the checkout sees it (orders.hooks): the saved addresses to offer,
the default first, and "save this address" for a new one."""

from customers import selectors, services
from customers.models import ADDRESS_FIELDS
from orders.hooks import SavedAddress, same_address


class CheckoutAddressBook:
    def addresses(self, user) -> list[SavedAddress]:
        return [
            SavedAddress(id=a.pk, address=a.as_shipping_address(), is_default=a.is_default)
            for a in selectors.address_list(user=user)
        ]

    def save(self, user, address: dict) -> bool:
        if any(same_address(saved.address, address) for saved in self.addresses(user)):
            return False
        services.address_create(
            owner=user, **{field: address.get(field) or "" for field in ADDRESS_FIELDS}
        )
        return True
