"""Request ids: assigned, returned, and stamped on every log record of the request."""

import logging

import pytest
from django.urls import path

from shop.logging import RequestContextFilter, bind, log_context, new_request_id

logger = logging.getLogger("tests.shop.logging")
pytestmark = pytest.mark.django_db


def logging_view(request):
    from django.http import HttpResponse

    # Authentication runs, as in every view that needs a user.
    authenticated = request.user.is_authenticated
    bind(order_number="SO-TEST-1")
    logger.warning("inside the view (authenticated: %s)", authenticated)
    return HttpResponse("ok")


urlpatterns = [path("log/", logging_view, name="log-view")]


@pytest.fixture
def records():
    """Records of the test logger, passed through the shop's filter like the console does."""
    captured = []

    class Capture(logging.Handler):
        def emit(self, record):
            captured.append(record)

    handler = Capture()
    handler.addFilter(RequestContextFilter())
    logger.addHandler(handler)
    yield captured
    logger.removeHandler(handler)


def test_a_request_without_an_id_gets_a_fresh_uuid(client):
    first = client.get("/health/")["X-Request-ID"]
    second = client.get("/health/")["X-Request-ID"]

    assert len(first) == 32 and int(first, 16) >= 0
    assert first != second


def test_a_sane_incoming_request_id_is_kept(client):
    response = client.get("/health/", HTTP_X_REQUEST_ID="lb-7f3a9c:42")

    assert response["X-Request-ID"] == "lb-7f3a9c:42"


@pytest.mark.parametrize("bad", ["has space", "x" * 200, 'quote"d', "new\nline", ""])
def test_an_insane_incoming_request_id_is_replaced(bad):
    assert new_request_id(bad) != bad


def test_every_record_of_the_request_carries_its_id_user_and_bound_fields(
    client, user, records, settings
):
    settings.ROOT_URLCONF = __name__
    client.force_login(user)

    response = client.get("/log/", HTTP_X_REQUEST_ID="req-123")

    assert response.status_code == 200
    [record] = records
    assert record.request_id == "req-123"
    assert record.user_id == user.id
    assert record.order_number == "SO-TEST-1"


def test_an_anonymous_request_logs_no_user(client, records, settings):
    settings.ROOT_URLCONF = __name__

    client.get("/log/")

    assert records[0].user_id is None
    assert records[0].request_id != "-"


def test_outside_a_request_the_fields_are_placeholders(records):
    logger.warning("no request")

    assert records[0].request_id == "-"
    assert records[0].user_id is None


def test_bound_fields_do_not_leak_into_the_next_request(records):
    with log_context(request_id="one"):
        bind(order_number="SO-1")
        logger.warning("first")
    with log_context(request_id="two"):
        logger.warning("second")

    assert records[0].order_number == "SO-1"
    assert not hasattr(records[1], "order_number")


def test_binding_a_reserved_attribute_is_refused():
    with log_context(request_id="x"), pytest.raises(ValueError):
        bind(levelname="oops")


def test_json_log_lines_carry_the_request_id(records):
    from pythonjsonlogger.json import JsonFormatter

    with log_context(request_id="json-1"):
        bind(order_number="SO-9")
        logger.warning("paid")

    line = JsonFormatter("%(levelname)s %(message)s").format(records[0])
    assert '"request_id": "json-1"' in line
    assert '"order_number": "SO-9"' in line
