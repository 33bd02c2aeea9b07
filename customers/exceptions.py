from shop.exceptions import ShopError


class AddressBookFull(ShopError):
    code = "address_book_full"
    status_code = 409
    default_message = "The address book is full: delete an address before adding another."


class OpenOrders(ShopError):
    code = "open_orders"
    status_code = 409
    default_message = (
        "An order is still on its way: the account can be deleted once it was delivered or "
        "cancelled."
    )


class ProductInStock(ShopError):
    code = "product_in_stock"
    status_code = 409
    default_message = "The product is in stock: it can be ordered now."


class VerificationLinkInvalid(ShopError):
    code = "verification_link_invalid"
    status_code = 400
    default_message = (
        "This confirmation link has expired or is not complete. Ask for a new one from your "
        "account."
    )
