from shop.exceptions import ShopError


class AddressBookFull(ShopError):
    code = "address_book_full"
    status_code = 409
    default_message = "The address book is full: delete an address before adding another."
