"""Errors of pricing: a destination nobody serves, a shipping method that does not exist."""

from shop.exceptions import ShopError


class UnsupportedCountry(ShopError):
    code = "unsupported_country"
    status_code = 400
    default_message = "The shop does not deliver to this country."


class ShippingMethodUnavailable(ShopError):
    code = "validation_error"
    status_code = 400
    default_message = "This shipping method is not available for this order."


class PriceChanged(ShopError):
    code = "price_changed"
    status_code = 409
    default_message = "The total changed since it was shown; please check the new total."


class VoucherInvalid(ShopError):
    code = "voucher_invalid"
    status_code = 400
    default_message = "This voucher code cannot be used for this order."


class VoucherExhausted(ShopError):
    code = "voucher_exhausted"
    status_code = 409
    default_message = "This voucher has been used as often as it may be."
