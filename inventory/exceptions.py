"""Errors of the inventory: not enough stock, or a reservation that lapsed before the sale."""

from shop.exceptions import ShopError


class InsufficientStock(ShopError):
    code = "insufficient_stock"
    status_code = 409
    default_message = "Not enough stock."

    def __init__(
        self,
        message: str | None = None,
        *,
        product_id: int | None = None,
        requested: int = 0,
        available: int = 0,
        details: dict | None = None,
    ):
        details = {
            "product_id": product_id,
            "requested": requested,
            "available": max(available, 0),
            **(details or {}),
        }
        message = message or (
            f"Only {details['available']} of product {product_id} available, {requested} requested."
        )
        super().__init__(message, details=details)


class ReservationExpired(InsufficientStock):
    """The order's reservation lapsed and the stock could not be taken again.

    A kind of InsufficientStock, so a caller that handles one handles both."""

    code = "reservation_expired"
    status_code = 409
    default_message = "The reservation expired and the stock is no longer available."
