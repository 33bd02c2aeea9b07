"""An order through PgBouncer in transaction mode (deploy/pgbouncer.sh; .ci/run starts it).

The test's connection goes through the pooler with the settings DATABASE_PGBOUNCER=1 gives
(no server-side cursors, no prepared statements), places an order and has it processed to a
captured payment; PgBouncer's own statistics must show the transactions."""

import os
import subprocess

import dj_database_url
import psycopg
import pytest
from django.db import connection

from catalog.models import Product
from orders import services
from orders.models import OrderStatus
from payments.models import Payment
from shop.db import atomic_bounded
from tests.orders.conftest import ADDRESS
from tests.utils import ON_POSTGRES

POOLER_URL = os.environ.get("PGBOUNCER_URL", "")


def _pooler_answers() -> bool:
    if not (ON_POSTGRES and POOLER_URL):
        return False
    config = dj_database_url.parse(POOLER_URL)
    try:
        with psycopg.connect(
            host=config["HOST"],
            port=config["PORT"],
            user=config["USER"],
            dbname="postgres",
            connect_timeout=3,
        ) as conn:
            return conn.execute("SELECT 1").fetchone()[0] == 1
    except psycopg.Error:
        return False


pytestmark = [
    pytest.mark.skipif(
        not _pooler_answers(),
        reason="needs PgBouncer: deploy/pgbouncer.sh start and PGBOUNCER_URL (.ci/run does both)",
    ),
    pytest.mark.django_db(transaction=True),
]


def pooler_admin(command: str) -> list[str]:
    """Rows of a command on PgBouncer's admin console (simple query protocol: psql)."""
    config = dj_database_url.parse(POOLER_URL)
    return subprocess.run(
        [
            "psql",
            "-XAt",
            "-F",
            "|",
            "-h",
            config["HOST"],
            "-p",
            str(config["PORT"]),
            "-U",
            config["USER"],
            "-d",
            "pgbouncer",
            "-c",
            command,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()


def pooler_transactions(database: str) -> int:
    """Transactions PgBouncer has passed to ``database`` (SHOW STATS: total_xact_count)."""
    for row in pooler_admin("SHOW STATS"):
        fields = row.split("|")
        if fields[0] == database:
            return int(fields[1])
    return 0


@pytest.fixture
def through_pooler():
    """The default connection through PgBouncer, configured as DATABASE_PGBOUNCER=1 does."""
    config = dj_database_url.parse(POOLER_URL)
    saved = connection.settings_dict
    connection.close()
    connection.settings_dict = {
        **saved,
        "HOST": config["HOST"],
        "PORT": config["PORT"],
        "DISABLE_SERVER_SIDE_CURSORS": True,
        "OPTIONS": {**saved.get("OPTIONS", {}), "prepare_threshold": None},
    }
    try:
        yield
    finally:
        database = connection.settings_dict["NAME"]
        connection.close()
        connection.settings_dict = saved
        # Close the pool's server connections too, or the test database cannot be dropped.
        pooler_admin(f"KILL {database}")
        pooler_admin(f"RESUME {database}")


def test_an_order_is_placed_and_paid_through_the_pooler(user, stocked, through_pooler):
    product = stocked(quantity=5)
    database = connection.settings_dict["NAME"]
    before = pooler_transactions(database)

    order = services.order_place(
        user=user, shipping_address=ADDRESS, payment_token="tok_visa", lines=[(product.pk, 2)]
    )

    assert connection.connection.info.port == int(dj_database_url.parse(POOLER_URL)["PORT"])
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING  # paid, waiting for staff to ship it
    assert order.payments.get().status == Payment.Status.COMPLETED
    assert pooler_transactions(database) > before


def test_iterating_a_queryset_needs_no_server_side_cursor(stocked, through_pooler):
    for _ in range(5):
        stocked()
    # Outside a transaction: with a server-side cursor PgBouncer could hand the next fetch to
    # another server connection, where the cursor does not exist.
    names = [product.name for product in Product.objects.iterator(chunk_size=2)]
    assert len(names) == 5


def test_the_lock_bound_holds_through_the_pooler_for_one_transaction_only(through_pooler):
    """PgBouncer drops the startup option that bounds a direct connection's lock waits: the
    connection finds it missing and bounds each transaction itself (SET LOCAL), so the bound
    holds there and never stays on the server connection for the pool's next client."""
    connection.ensure_connection()
    assert connection.lock_timeout_at_connect is None

    with atomic_bounded(), connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        inside = cursor.fetchone()[0]
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        after = cursor.fetchone()[0]

    assert inside == "5s" and after == "0"
