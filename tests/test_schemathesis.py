"""Machine-driven bad input: schemathesis fuzzes every API operation against the OpenAPI schema.

The schema is the one the shop serves (``/api/schema/``, drf-spectacular), loaded in-process from
the WSGI application, and every generated request goes to that same application: no server, no
network. Each operation is called as an anonymous visitor, as a customer and as staff (token
auth), with data that fits the schema (positive) and data that does not (negative), and every
answer must pass these checks:

- ``not_a_server_error``: no 5xx, whatever the input;
- ``status_code_conformance``: the status code is one the schema documents for the operation;
- ``content_type_conformance``: the Content-Type is the documented one;
- ``response_schema_conformance``: the body matches the documented schema (error bodies too);
- ``response_headers_conformance``: documented response headers are there and well-formed;
- ``ignored_auth``: an operation the schema says needs credentials refuses a request sent again
  without them, or with made-up ones (401 or 403).

Left out on purpose, because for this API they report what DRF legitimately does, not bugs:

- ``negative_data_rejection``: it wants every schema-invalid request refused with a 4xx, but DRF
  accepts harmless deviations by design: form and query values are strings that DRF coerces
  (``"1"`` for an integer), unknown body fields and query parameters are ignored, and read-only
  fields sent by a client are dropped.
- ``positive_data_acceptance``: it wants every schema-valid request answered with a 2xx, but
  valid-looking data still meets business rules the schema cannot express (unknown product ids,
  stock, state transitions, a review only after a purchase), answered with a documented 4xx.
- ``use_after_free``, ``ensure_resource_availability``, ``object_level_authorization``: they
  follow links between operations (create, then read or delete); this test drives operations one
  at a time, and who may see which order or payment has its own tests in the apps' API tests.
- ``unsupported_method``, ``missing_required_header``, ``allow_header_conformance``: they check
  requests this test does not send (other HTTP methods, a left-out required header: none is).

A fixed seed per operation, role and mode makes every run send the same requests, so CI is
repeatable. Raise ``SCHEMATHESIS_EXAMPLES`` (examples per operation, role and mode) for a longer
hunt; the test counts the requests it really sent and fails if fewer than ``MIN_CASES`` went out,
so a change that silently shrinks generation is noticed.
"""

import os
import time
import zlib
from collections import Counter
from io import StringIO

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import Phase, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from catalog.models import Category, Product
from customers.models import Address
from inventory.models import ReorderRequest, StockItem
from orders.models import Order, OrderEvent, OrderLine, Return
from orders.services import invoice_issue, return_request
from payments.models import Payment
from tests.customers.factories import make_address
from tests.factories import (
    OrderFactory,
    OrderLineFactory,
    PaymentFactory,
    ReviewFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# Examples per operation, role and generation mode; the default sends a little over 1,000.
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "6"))
MIN_CASES = 1000
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    ignored_auth,
]
# Values that break code which trusts the schema's types, mixed into what is generated: ids
# past every database integer, digits int() cannot read, numbers Decimal or float reject.
CONFIG = schemathesis.Config.from_dict(
    {
        "dictionaries": {
            "integers": {"values": [0, -1, 2**31, 2**63 - 1, 2**63, 10**20]},
            "strings": {
                "values": ["0", "-1", "99999999999999999999", "²", "١٢", "NaN", "Infinity", "1e400"]
            },
        },
        "generation": {
            "dictionaries": {
                "integer": {"dictionary": "integers", "probability": 0.15},
                "string": {"dictionary": "strings", "probability": 0.15},
            }
        },
    }
)
# The customer's username and password: sometimes sent to the token and register endpoints.
CUSTOMER = ("fuzz-customer", "correct-horse-battery")
# The test tokens of the payment gateway (the API contract): approved, declined, failing.
PAYMENT_TOKENS = ["tok_visa", "tok_chargeDeclined", "tok_insufficientFunds", "tok_processingError"]


@pytest.fixture
def wsgi_app(monkeypatch, settings):
    """The shop's WSGI application, in-process, inside the test's transaction."""
    # Fuzzing sends a thousand requests from one address within seconds and fails most logins:
    # lift the throttles and the login lock-out (both have their own tests in test_security.py).
    monkeypatch.setattr(
        SimpleRateThrottle,
        "THROTTLE_RATES",
        dict.fromkeys(SimpleRateThrottle.THROTTLE_RATES, "1000000/min"),
    )
    settings.AXES_FAILURE_LIMIT = 1_000_000
    # Django closes the connection when a request starts and ends (Django's own test client
    # avoids that the same way); that would end the transaction pytest-django wraps the test in.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def roles(db):
    """A small shop (the demo catalog, a customer with orders, payments and a review), and the
    headers of each role: anonymous, the customer's token, a staff member's token."""
    call_command("load_demo", products=24, no_progress=True, stdout=StringIO())
    customer = UserFactory(username=CUSTOMER[0], password=CUSTOMER[1])
    staff = StaffFactory()
    products = list(Product.objects.order_by("pk")[:3])
    for status in ("created", "confirmed", "shipped"):
        paid_at = timezone.now() if status == "shipped" else None
        order = OrderFactory(user=customer, status=status, total=products[0].price, paid_at=paid_at)
        OrderLineFactory(order=order, product=products[0])
        PaymentFactory(order=order)
        if paid_at:
            invoice_issue(order_id=order.pk)  # so the invoice's PDF answer is fuzzed too
    # A delivered order with a return asked for, so the returns' operations are fuzzed too.
    delivered = OrderFactory(
        user=customer, status="delivered", total=products[0].price, paid_at=timezone.now()
    )
    line = OrderLineFactory(order=delivered, product=products[0], quantity=2)
    PaymentFactory(order=delivered)
    OrderEvent.objects.create(order=delivered, from_status="shipped", to_status="delivered")
    return_request(order_id=delivered.pk, lines=[(line.pk, 1)], reason="too big")
    ReviewFactory(user=customer, product=products[1])
    make_address(customer)
    make_address(customer, city="Hamburg")
    ReorderRequest.objects.create(product=products[2], quantity=10)
    return {
        "anonymous": {},
        "customer": {"Authorization": f"Token {Token.objects.create(user=customer).key}"},
        "staff": {"Authorization": f"Token {Token.objects.create(user=staff).key}"},
    }


# Path parameters that name a stored object: a positive case uses a real one half of the time,
# so the fuzzer gets past "404 not found" into the views. Longest prefix first.
LIVE_OBJECTS = [
    ("/api/v1/account/addresses/", lambda: Address.objects.values_list("pk", flat=True)),
    ("/api/v1/inventory/reorders/", lambda: ReorderRequest.objects.values_list("pk", flat=True)),
    ("/api/v1/inventory/", lambda: StockItem.objects.values_list("product_id", flat=True)),
    ("/api/v1/products/", lambda: Product.objects.values_list("pk", flat=True)),
    ("/api/v1/cart/items/", lambda: Product.objects.values_list("pk", flat=True)),
    ("/api/v1/categories/", lambda: Category.objects.values_list("pk", flat=True)),
    ("/api/v1/orders/", lambda: Order.objects.values_list("pk", flat=True)),
    ("/api/v1/payments/", lambda: Payment.objects.values_list("pk", flat=True)),
    ("/api/v1/returns/", lambda: Return.objects.values_list("pk", flat=True)),
]
# Body fields that name a stored object, wherever they appear in a body.
LIVE_FIELDS = {
    "product": lambda: Product.objects.values_list("pk", flat=True),
    "category": lambda: Category.objects.values_list("pk", flat=True),
    "parent": lambda: Category.objects.values_list("pk", flat=True),
    "line": lambda: OrderLine.objects.values_list("pk", flat=True),
}


def _pick(ids, index: int):
    ids = sorted(ids)
    return ids[index % len(ids)] if ids else None


def _use_live_ids(case, data) -> None:
    """Point a positive case at stored objects instead of random ids."""
    for prefix, ids in LIVE_OBJECTS:
        if case.path_parameters and case.operation.path.startswith(prefix):
            for name in case.path_parameters:
                if data.draw(st.booleans(), label=f"real {name}"):
                    picked = _pick(ids(), data.draw(st.integers(0, 99), label=name))
                    if picked is not None:
                        case.path_parameters[name] = picked
            break

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key in LIVE_FIELDS and isinstance(item, int) and not isinstance(item, bool):
                    if data.draw(st.booleans(), label=f"real {key}"):
                        picked = _pick(LIVE_FIELDS[key](), data.draw(st.integers(0, 99)))
                        value[key] = item if picked is None else picked
                elif key == "token" and isinstance(item, str) and data.draw(st.booleans()):
                    value[key] = data.draw(st.sampled_from(PAYMENT_TOKENS), label="token")
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(case.body)
    body = case.body
    signs_in = isinstance(body, dict) and {"username", "password"} <= body.keys()
    if signs_in and data.draw(st.booleans(), label="real credentials"):
        body["username"], body["password"] = CUSTOMER


def _as_a_server_reads_headers(case) -> None:
    """A WSGI server hands header bytes to Django decoded as latin-1 (PEP 3333), so a header
    value is never outside latin-1 there; the in-process client passes any str through."""
    for name, value in (case.headers or {}).items():
        if isinstance(value, str):
            case.headers[name] = value.encode("utf-8").decode("latin-1")


def _has_input(operation) -> bool:
    """Whether there is anything to make invalid (else negative generation is unsatisfiable).
    Credentials do not count: schemathesis adds them as parameters, but never negates them."""
    declared = [
        parameter
        for parameter in operation.iter_parameters()
        if "x-original-security-type" not in parameter.definition
    ]
    return bool(declared) or bool(operation.body)


def _fuzz(operation, mode, headers, sent, key) -> None:
    """Send EXAMPLES generated requests to one operation; raise the first failed check."""
    strategy = operation.as_strategy(generation_mode=mode)

    # A fixed seed per operation, role and mode: every run sends the same requests, and the
    # three roles get different ones (one seed for all would send each role the same).
    @seed(zlib.crc32(f"{key} {mode.value}".encode()))
    @hypothesis_settings(
        max_examples=EXAMPLES,
        database=None,
        deadline=None,
        phases=[Phase.generate],
    )
    @given(data=st.data())
    def fuzz(data):
        case = data.draw(strategy, label="case")
        if mode is GenerationMode.POSITIVE:
            _use_live_ids(case, data)
        _as_a_server_reads_headers(case)
        sent[key] += 1
        case.call_and_validate(headers=headers, checks=CHECKS)

    fuzz()


def test_every_operation_survives_generated_input_and_answers_as_documented(wsgi_app, roles):
    started = time.monotonic()
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app, config=CONFIG)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30, "the schema lost operations"

    sent = Counter()
    failures = []
    for operation in operations:
        modes = [GenerationMode.POSITIVE]
        if _has_input(operation):
            modes.append(GenerationMode.NEGATIVE)
        for role, headers in roles.items():
            for mode in modes:
                try:
                    _fuzz(operation, mode, headers, sent, key=(operation.label, role))
                except (Exception, BaseExceptionGroup) as exc:  # report them all, then fail
                    failures.append(f"{operation.label} as {role} ({mode.value}):\n{exc}")

    total = sum(sent.values())
    print(f"\nschemathesis: {total} requests in {time.monotonic() - started:.1f} s")
    assert not failures, f"{len(failures)} failing operations:\n\n" + "\n\n".join(failures)
    missed = [
        (operation.label, role)
        for operation in operations
        for role in roles
        if not sent[operation.label, role]
    ]
    assert not missed, f"operations never called: {missed}"
    assert total >= MIN_CASES, f"only {total} requests were generated"
