"""Errors of the payments: declines, gateway trouble, refunds beyond what was captured."""

from shop.exceptions import ShopError


class PaymentError(ShopError):
    code = "payment_error"
    status_code = 400
    default_message = "The payment could not be made."


class PaymentDeclined(PaymentError):
    code = "payment_declined"
    status_code = 402
    default_message = "The card was declined."


class GatewayTransientError(PaymentError):
    """The gateway could not answer (timeout, 5xx): the same call may succeed when retried."""

    code = "gateway_unavailable"
    status_code = 503
    default_message = "The payment gateway is not answering; please try again."


class RefundExceedsCapture(PaymentError):
    code = "refund_exceeds_capture"
    status_code = 409
    default_message = "A refund cannot exceed the amount captured and not yet refunded."
