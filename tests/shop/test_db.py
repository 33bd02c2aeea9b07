"""Database helpers: the lock bound of ``atomic_bounded`` (set when the connection opens, or
per transaction) and ``update_audited``."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import Order, OrderEvent, OrderStatus
from shop.db import atomic_bounded, update_audited
from tests.factories import OrderFactory
from tests.utils import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def _lock_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        return cursor.fetchone()[0]


def _sets(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if "lock_timeout" in q["sql"]]


def test_a_direct_connection_is_bounded_from_its_start_and_sends_no_set():
    with CaptureQueriesContext(connection) as captured, atomic_bounded():
        inside = _lock_timeout()

    assert inside == "5s"
    assert len(_sets(captured)) == 1  # the SHOW only
    assert _lock_timeout() == "5s"  # the session's own value, from the startup option


def test_another_bound_is_set_for_its_transaction_only():
    with CaptureQueriesContext(connection) as captured, atomic_bounded(milliseconds=1234):
        inside = _lock_timeout()

    assert inside == "1234ms"
    assert any("set_config" in sql for sql in _sets(captured))
    assert _lock_timeout() == "5s"


def test_a_connection_that_did_not_get_the_startup_option_sets_the_bound_per_transaction():
    """Behind PgBouncer the startup option is dropped: a new connection finds it missing, and
    the bound is SET LOCAL instead, so it holds in the transaction and never outlives it on the
    shared server connection. (Here a later option undoes the bound, as dropping it would.)"""
    saved = connection.settings_dict
    options = saved["OPTIONS"]["options"] + " -c lock_timeout=0"
    connection.close()
    connection.settings_dict = {**saved, "OPTIONS": {**saved["OPTIONS"], "options": options}}
    try:
        connection.ensure_connection()
        assert connection.lock_timeout_at_connect is None
        with CaptureQueriesContext(connection) as captured, atomic_bounded():
            inside = _lock_timeout()
        after = _lock_timeout()
    finally:
        connection.close()
        connection.settings_dict = saved

    assert inside == "5s" and after == "0"
    assert any("set_config" in sql for sql in _sets(captured))


def test_a_conditional_update_that_matches_writes_its_audit_rows_with_it():
    order = OrderFactory(status=OrderStatus.PROCESSING)
    event = OrderEvent(order=order, from_status="processing", to_status="processing", reason="x")
    now = timezone.now()

    with CaptureQueriesContext(connection) as captured:
        changed = update_audited(
            Order.objects.filter(pk=order.pk, paid_at__isnull=True), {"paid_at": now}, [event]
        )

    assert changed is True and len(captured.captured_queries) == 1
    assert Order.objects.get(pk=order.pk).paid_at == now
    assert list(OrderEvent.objects.filter(order=order).values_list("id", "reason")) == [
        (event.pk, "x")
    ]


def test_a_conditional_update_that_matches_nothing_writes_nothing():
    paid = timezone.now()
    order = OrderFactory(status=OrderStatus.PROCESSING, paid_at=paid)
    event = OrderEvent(order=order, from_status="processing", to_status="processing", reason="x")

    changed = update_audited(
        Order.objects.filter(pk=order.pk, paid_at__isnull=True),
        {"paid_at": timezone.now()},
        [event],
    )

    assert changed is False and event.pk is None
    assert Order.objects.get(pk=order.pk).paid_at == paid
    assert not OrderEvent.objects.filter(order=order).exists()
