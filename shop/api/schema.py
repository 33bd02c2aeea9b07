"""The OpenAPI schema documents the API's error answers, not only its successes.

Every 4xx body is the one error format of ``shop.api.errors`` (``{"error": {"code", "message",
"details"}}``). ``ShopAutoSchema`` adds the errors that follow from how a view is built (what it
reads, who it lets in, its throttles) to every operation; the business errors a view raises
itself (409 ``insufficient_stock``, 402 ``payment_declined``, ...) are named on the view with
``error_response``.
"""

from types import SimpleNamespace

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions, serializers
from rest_framework.authentication import SessionAuthentication


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable snake_case code, e.g. validation_error.")
    message = serializers.CharField(help_text="Human-readable text.")
    details = serializers.DictField(help_text="Per-field errors or other specifics; may be {}.")


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx and 5xx answer of the API."""

    error = ErrorBodySerializer()


def error_response(description: str) -> OpenApiResponse:
    """An error answer in the API's error format, for ``extend_schema(responses=...)``."""
    return OpenApiResponse(ErrorSerializer, description=description)


# An anonymous visitor and a signed-in customer, to ask a view's permissions whom they admit.
_ANONYMOUS = SimpleNamespace(
    is_authenticated=False, is_staff=False, is_superuser=False, is_active=False
)
_CUSTOMER = SimpleNamespace(
    is_authenticated=True, is_staff=False, is_superuser=False, is_active=True
)
# Query parameters that cannot make a request invalid: a bad page_size falls back to the
# default, and a page past the end is a 404.
_LENIENT_QUERY = {"page", "page_size"}


class ShopAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for code, description in self._error_statuses(operation).items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    error_response(description), code, direction="response"
                )
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_statuses(self, operation) -> dict[str, str]:
        parameters = operation.get("parameters", [])
        query = {p["name"] for p in parameters if p["in"] == "query"} - _LENIENT_QUERY
        authenticators = self.view.get_authenticators()
        unsafe = self.method not in permissions.SAFE_METHODS
        statuses = {}
        if "requestBody" in operation or query:
            statuses["400"] = "validation_error: the body or a query parameter is invalid."
        if authenticators:
            # An anonymous call where a user is needed, or a token that is not valid.
            statuses["401"] = "not_authenticated: no valid credentials."
        staff_only = self._refuses_customers()
        session_csrf = unsafe and any(isinstance(a, SessionAuthentication) for a in authenticators)
        if staff_only or session_csrf:
            statuses["403"] = "permission_denied: not allowed for this user (or no CSRF token)."
        paginated = self._is_list_view() and self._get_paginator() is not None
        if any(p["in"] == "path" for p in parameters) or paginated:
            statuses["404"] = "not_found: no such object (or page)."
        if "requestBody" in operation:
            statuses["415"] = "unsupported_media_type: the body is not JSON, form or multipart."
        if self.view.get_throttles():
            statuses["429"] = "throttled: too many requests; details.retry_after_seconds."
        return statuses

    def _get_request_for_media_type(self, serializer, direction="request"):
        # drf-spectacular makes every PATCH body partial (all fields optional), but DRF does so
        # only in a viewset's partial_update; a view that validates its own serializer (the
        # cart's PATCH of a line's quantity) still requires its fields.
        if self.method != "PATCH" or getattr(self.view, "action", None) == "partial_update":
            return super()._get_request_for_media_type(serializer, direction)
        self.method = "PUT"
        try:
            return super()._get_request_for_media_type(serializer, direction)
        finally:
            self.method = "PATCH"

    def get_auth(self):
        # drf-spectacular marks credentials optional ({}) only for DRF's own AllowAny and
        # IsAuthenticatedOrReadOnly; ask the view's permissions, so that a custom one (the
        # catalog's IsStaffOrReadOnly) that lets anonymous visitors read says so too.
        auth = super().get_auth()
        if auth and {} not in auth and self._admits(_ANONYMOUS):
            auth.append({})
        return auth

    def _refuses_customers(self) -> bool:
        return not self._admits(_CUSTOMER)

    def _admits(self, user) -> bool:
        request = SimpleNamespace(method=self.method, user=user, query_params={}, data={})
        for permission in self.view.get_permissions():
            try:
                if not permission.has_permission(request, self.view):
                    return False
            except Exception:  # a permission that needs more of the request: assume it may refuse
                return False
        return True
