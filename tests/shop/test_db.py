"""The lock bound of ``atomic_bounded``: set when the connection opens, or per transaction."""

from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shop.db import atomic_bounded
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


def test_a_connection_without_the_startup_option_sets_the_bound_per_transaction():
    """Behind PgBouncer the startup option is dropped: the bound is SET LOCAL instead, so it
    holds in the transaction and never outlives it on the shared server connection."""
    without = {**connection.settings_dict, "OPTIONS": {}}
    with (
        mock.patch.object(connection, "settings_dict", without),
        CaptureQueriesContext(connection) as captured,
        atomic_bounded(milliseconds=5000),
    ):
        inside = _lock_timeout()

    assert inside == "5s"
    assert any("set_config" in sql for sql in _sets(captured))
