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
