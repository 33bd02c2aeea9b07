"""The OpenAPI schema: what generated clients are made from, so every detail of it is contract.

- Errors. Every 4xx body is the one error format of ``shop.api.errors`` (``{"error": {"code",
  "message", "details"}}``), and each error answer of each operation names the codes it can carry
  as an enum (``error_response``): a component per set of codes (``InsufficientStockError``,
  with ``InsufficientStockErrorBody`` and the enum ``InsufficientStockErrorCode``), so a typed
  client can tell the codes apart. ``ShopAutoSchema`` adds the errors that follow from how a view
  is built (what it reads, who it lets in, its throttles) to every operation; the business errors
  a view raises itself (409 ``insufficient_stock``, 402 ``payment_declined``, ...) are named on
  the view.
- Operation ids are ``<resource>_<verb>``: a viewset's from its router basename and action
  (``product_list``, ``product_get``, ``order_cancel``), any other view's given on the view
  (``checkout_quote``). A generated client names its functions after them, so they never change
  within a major version (clients/check_schema.mjs refuses a rename).
- Only the versioned paths (``/api/v1/...``) are documented; ``/api/...`` answers the same.
"""

from types import SimpleNamespace

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions
from rest_framework.authentication import SessionAuthentication

from shop.api.errors import ERROR_CODES

API_PREFIX = "/api/v1/"
# Marks an error answer's schema until ShopAutoSchema swaps it for its component.
_ERROR_MARK = "x-shop-error"
# Each error component's codes: one name never stands for two sets of codes.
_ERROR_COMPONENTS: dict[str, tuple[str, ...]] = {}
_VERBS = {
    "list": "list",
    "retrieve": "get",
    "create": "create",
    "update": "update",
    "partial_update": "partial_update",
    "destroy": "delete",
}


def only_versioned_paths(endpoints, **kwargs):
    """drf-spectacular preprocessing hook: the same views answer under /api/ and /api/v1/; the
    schema documents each operation once, under its versioned path."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(API_PREFIX)]


def complete_bodies(result, generator, request, public):
    """drf-spectacular postprocessing hook. In an answer every property is required: a
    serializer writes each of its fields (null where there is no value), but drf-spectacular
    marks a model field with a default as optional, and generated clients then type order.status
    as "a status or unset". A request body (a *Request component) keeps its optional fields and
    is closed to others."""
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if "properties" not in schema:
            continue
        if name.endswith("Request"):
            # What a client may send, and no more: a new optional field is then an addition to
            # the API, not a narrowing of "any other field, of any type" (clients/check_schema.mjs).
            schema["additionalProperties"] = False
        else:
            schema["required"] = sorted(schema["properties"])
    return result


def _component_name(code: str) -> str:
    name = "".join(part.capitalize() for part in code.split("_"))
    return name if name.endswith("Error") else f"{name}Error"


def error_response(*codes: str, name: str | None = None, note: str = "") -> OpenApiResponse:
    """An error answer whose ``error.code`` is one of ``codes``, for ``extend_schema(responses=
    ...)``. One code names its component (``insufficient_stock`` -> ``InsufficientStockError``);
    several need a ``name``. ``note`` adds what the codes mean for this operation."""
    unknown = sorted(set(codes) - ERROR_CODES.keys())
    if not codes or unknown:
        raise ValueError(f"error codes missing from shop.api.errors.ERROR_CODES: {unknown}")
    codes = tuple(sorted(set(codes)))
    if name is None:
        if len(codes) > 1:
            raise ValueError(f"an error answer with several codes needs a name: {codes}")
        name = _component_name(codes[0])
    if _ERROR_COMPONENTS.setdefault(name, codes) != codes:
        raise ValueError(f"{name} stands for {_ERROR_COMPONENTS[name]}, not {codes}")
    lines = [f"- `{code}`: {ERROR_CODES[code]}" for code in codes]
    description = "\n".join([note, "", *lines] if note else lines)
    return OpenApiResponse({_ERROR_MARK: name}, description=description)


def _error_components(name: str) -> list[ResolvedComponent]:
    codes = _ERROR_COMPONENTS[name]

    def component(component_name, schema):
        return ResolvedComponent(
            name=component_name,
            type=ResolvedComponent.SCHEMA,
            schema=schema,
            object=component_name,
        )

    code = component(
        f"{name}Code",
        {
            "type": "string",
            "enum": list(codes),
            "description": "\n".join(f"* `{c}` - {ERROR_CODES[c]}" for c in codes),
        },
    )
    body = component(
        f"{name}Body",
        {
            "type": "object",
            "properties": {
                "code": code.ref,
                "message": {"type": "string", "description": "Human-readable text."},
                "details": {
                    "type": "object",
                    "additionalProperties": {},
                    "description": "Per-field errors or other specifics; may be {}.",
                },
            },
            "required": ["code", "message", "details"],
        },
    )
    answer = component(
        name,
        {
            "type": "object",
            "description": f"An error answer: {', '.join(codes)}.",
            "properties": {"error": body.ref},
            "required": ["error"],
        },
    )
    return [code, body, answer]


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
        for code, answer in self._error_statuses(operation).items():
            if code not in responses:
                responses[code] = self._get_response_for_code(answer, code, direction="response")
        for response in responses.values():
            for media in response.get("content", {}).values():
                name = media.get("schema", {}).get(_ERROR_MARK)
                if name:
                    components = _error_components(name)
                    for component in components:
                        self.registry.register_on_missing(component)
                    media["schema"] = components[-1].ref
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def get_operation_id(self):
        # A viewset's operations: <basename>_<verb>. Other views name theirs with
        # extend_schema(operation_id=...), which overrides this.
        basename = getattr(self.view, "basename", None)
        action = getattr(self.view, "action", None)
        if basename and action:
            return f"{basename.replace('-', '_')}_{_VERBS.get(action, action)}"
        return super().get_operation_id()

    def _error_statuses(self, operation) -> dict[str, OpenApiResponse]:
        parameters = operation.get("parameters", [])
        query = {p["name"] for p in parameters if p["in"] == "query"} - _LENIENT_QUERY
        authenticators = self.view.get_authenticators()
        unsafe = self.method not in permissions.SAFE_METHODS
        statuses = {}
        if "requestBody" in operation or query:
            statuses["400"] = error_response("validation_error")
        if authenticators:
            # An anonymous call where a user is needed, or a token that is not valid.
            statuses["401"] = error_response("not_authenticated")
        staff_only = self._refuses_customers()
        session_csrf = unsafe and any(isinstance(a, SessionAuthentication) for a in authenticators)
        if staff_only or session_csrf:
            statuses["403"] = error_response("permission_denied")
        paginated = self._is_list_view() and self._get_paginator() is not None
        if any(p["in"] == "path" for p in parameters) or paginated:
            statuses["404"] = error_response("not_found")
        if "requestBody" in operation:
            statuses["415"] = error_response("unsupported_media_type")
        if self.view.get_throttles():
            statuses["429"] = error_response("throttled")
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
