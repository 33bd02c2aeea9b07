from shop.exceptions import ShopError


class EmptyOrder(ShopError):
    code = "empty_order"
    status_code = 400
    default_message = "There is nothing to order: the cart is empty."


class ProductUnavailable(ShopError):
    code = "product_unavailable"
    status_code = 409
    default_message = "A product in the order is no longer sold."


class ProductNeedsVariant(ProductUnavailable):
    """A parent product (a T-shirt) is not sold itself: one of its variants (M / Blue) is."""

    default_message = "Choose a variant of this product: it is sold by size, colour and such."


class QuantityExceedsStock(ShopError):
    """A cart quantity larger than what is in stock (the cart's own check, before checkout)."""

    code = "insufficient_stock"
    status_code = 409
    default_message = "Not enough stock for this quantity."


class CurrencyMismatch(ShopError):
    """A product priced in another currency than what the cart already holds: one cart, one
    currency, so its total is a sum of like amounts (and one order can be placed from it)."""

    code = "currency_mismatch"
    status_code = 409
    default_message = "This product is priced in another currency than the cart."


class LineQuantityOutOfRange(ShopError):
    """An order line's quantity, once lines of the same product are added up, out of range."""

    code = "validation_error"
    status_code = 400
    default_message = "Each quantity must be between 1 and the per-line maximum."


class InvalidIdempotencyKey(ShopError):
    code = "validation_error"
    status_code = 400
    default_message = (
        "An Idempotency-Key is 1 to 255 printable ASCII characters (a UUID is a good choice)."
    )


class IdempotencyConflict(ShopError):
    code = "idempotency_conflict"
    status_code = 409
    default_message = "This Idempotency-Key was already used with a different request."


class OrderNotCancellable(ShopError):
    code = "invalid_transition"
    status_code = 409
    default_message = "This order can no longer be cancelled."


class RefundLinesInvalid(ShopError):
    """Lines to give back that are not the order's, or more units than are left of one."""

    code = "validation_error"
    status_code = 400
    default_message = "These lines cannot be given back."


class ReturnNotAllowed(ShopError):
    """A return the order does not allow: not delivered, past the return window, or more units
    than are left to send back once earlier returns are counted."""

    code = "return_not_allowed"
    status_code = 409
    default_message = "This order cannot be returned."
