"""The base of every domain exception in the shop.

Each app defines its own errors in ``<app>/exceptions.py`` as subclasses of ``ShopError``; the
API's exception handler and the storefront turn them into a clear message with a stable code.
"""


class ShopError(Exception):
    """A business rule refused an operation. Never a bug: the caller did something not allowed."""

    code = "shop_error"
    status_code = 400
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None, *, details: dict | None = None):
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)


class InvalidTransition(ShopError):
    """A state machine was asked for a transition its current state does not allow."""

    code = "invalid_transition"
    status_code = 409
    default_message = "This action is not allowed in the current state."


class Conflict(ShopError):
    code = "conflict"
    status_code = 409
    default_message = "The request conflicts with the current state of the resource."
