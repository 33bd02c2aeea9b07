"""One error format for the whole API: ``{"error": {"code", "message", "details"}}``."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from shop.exceptions import ShopError
from shop.logging import current_request_id
from shop.security import LoginLockedOut

logger = logging.getLogger(__name__)

# Every code an error answer of the API can carry, and what it means. The schema names, per
# operation and status, which of them can come (shop.api.schema.error_response); docs/api.md
# lists them all. A code is part of the contract: it is never renamed, and a code added to an
# operation's answer is a new major version of the API, since a client generated with the enum
# of codes refuses one it does not know (docs/api.md, Versioning).
ERROR_CODES = {
    "validation_error": "the body or a query parameter is invalid; details names the fields",
    "not_authenticated": "no valid credentials: send Authorization: Token <token>",
    "permission_denied": "not allowed for this user (staff only, or a session without a CSRF "
    "token)",
    "not_found": "no such object or page (another customer's order is not found either)",
    "method_not_allowed": "the path does not take this HTTP method",
    "not_acceptable": "the Accept header asks for a format the API does not answer in",
    "unsupported_media_type": "the body is not JSON: send Content-Type: application/json",
    "throttled": "too many requests; details.retry_after_seconds says when to try again",
    "locked_out": "too many failed sign-ins of this username from this address; "
    "details.retry_after_seconds",
    "protected": "still referenced (by orders, products or sub-categories), so not deleted",
    "product_unavailable": "a product is not for sale",
    "insufficient_stock": "more units than are in stock (or past the per-line maximum)",
    "reservation_expired": "the stock held for the order was given back before it was used",
    "currency_mismatch": "the product is priced in another currency than the cart; details "
    "currency, cart_currency",
    "empty_order": "the order has no lines",
    "idempotency_conflict": "the same Idempotency-Key was sent before with a different body",
    "invalid_transition": "not allowed in the object's current state",
    "conflict": "the request conflicts with the current state of the object",
    "price_changed": "expected_total differs from what the order costs now; details "
    "expected, actual",
    "unsupported_country": "no tax zone or shipping method serves the shipping country",
    "voucher_invalid": "unknown, expired or not yet valid voucher, minimum not met, or the "
    "per-customer limit used",
    "voucher_exhausted": "the voucher's usage limit is reached",
    "payment_error": "the payment could not be made",
    "payment_declined": "the card was declined",
    "gateway_unavailable": "the payment gateway did not answer; try again later",
    "invalid_signature": "a webhook whose signature does not verify (POST /webhooks/stripe/); "
    "nothing was changed",
    "refund_exceeds_capture": "more than was captured and not yet refunded",
    "return_not_allowed": "the order cannot be returned (not delivered, past the return "
    "window, or those units are already being returned)",
    "not_purchased": "only a customer who bought the product (and kept it) may do this",
    "already_reviewed": "one review per customer and product",
    "address_book_full": "the customer's address book holds as many addresses as it may",
    "open_orders": "an order of the account is still on its way: the account can be deleted "
    "once it was delivered or cancelled",
    "product_in_stock": "the product is in stock: no back-in-stock alert is needed",
    "verification_link_invalid": "the e-mail verification link expired, was changed, or is for "
    "an address the account no longer has",
    "training_failed": "training a recommendation model failed",
    "shop_error": "a business rule refused the request",
    "server_error": "an unexpected error, logged; quote details.request_id when reporting it",
}

_CODES = {
    exceptions.ValidationError: "validation_error",
    exceptions.ParseError: "validation_error",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    LoginLockedOut: "locked_out",  # before Throttled, its base
    exceptions.Throttled: "throttled",
}


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _message_of(detail) -> str:
    """The first human-readable sentence inside a DRF error detail."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = _message_of(value)
            if key in ("non_field_errors", "detail"):
                return inner
            return f"{key}: {inner}"
        return "Invalid input."
    if isinstance(detail, list):
        return _message_of(detail[0]) if detail else "Invalid input."
    return str(detail)


def _details_of(detail) -> dict:
    if isinstance(detail, dict):
        return detail
    if isinstance(detail, list):
        return {"non_field_errors": detail}
    return {}


def exception_handler(exc, context):
    if isinstance(exc, ShopError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, ProtectedError):
        return Response(
            error_body("protected", "This object is still referenced and cannot be deleted."),
            status=status.HTTP_409_CONFLICT,
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled error in the API", exc_info=exc)
        return Response(_server_error_body(), status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), None)
    if code is None:
        code = getattr(exc, "default_code", "error")
    detail = exc.detail if hasattr(exc, "detail") else str(exc)
    if code == "validation_error":
        message = _message_of(detail)
        details = _details_of(detail)
    else:
        message = _message_of(detail)
        details = {}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            details = {"retry_after_seconds": int(exc.wait)}
    response.data = error_body(code, message, details)
    return response


def json_not_found(request, exception=None):
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def _server_error_body() -> dict:
    """No detail of the failure, only the request id to quote when reporting it."""
    request_id = current_request_id()
    return error_body(
        "server_error",
        "An unexpected error occurred. It has been logged.",
        {"request_id": request_id} if request_id else None,
    )


def json_server_error(request):
    return JsonResponse(_server_error_body(), status=500)
