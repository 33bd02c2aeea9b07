"""The router against a real streaming replica (deploy/replica.sh; .ci/run starts one).

The replica copies the primary's whole cluster, the test database included, so the ``replica``
alias is pointed at the same database name on the replica's port for these tests. Lag is made
by pausing the replica's replay (``pg_wal_replay_pause()``): the primary goes on, the replica
stands still.
"""

import os
import time

import dj_database_url
import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connections
from django.test import Client

from catalog.models import Category
from shop.db_router import REPLICA, read_alias, replica_reads
from tests.utils import ON_POSTGRES

REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")


def _replica_answers() -> bool:
    if not (ON_POSTGRES and REPLICA_URL):
        return False
    config = dj_database_url.parse(REPLICA_URL)
    try:
        with psycopg.connect(
            host=config["HOST"],
            port=config["PORT"],
            user=config["USER"],
            dbname="postgres",
            connect_timeout=3,
        ) as conn:
            return conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
    except psycopg.Error:
        return False


pytestmark = [
    pytest.mark.skipif(
        not _replica_answers(),
        reason="needs a streaming replica: deploy/replica.sh start and DATABASE_REPLICA_URL "
        "(.ci/run does both)",
    ),
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
]


@pytest.fixture
def replica(settings):
    """The ``replica`` alias on the real replica, replica reads on; yields a superuser
    connection to the replica (autocommit) for pausing and resuming its replay."""
    settings.DATABASE_REPLICA_READS = True
    config = dj_database_url.parse(REPLICA_URL)
    alias = connections[REPLICA]
    saved = alias.settings_dict
    alias.close()
    alias.settings_dict = {
        **connections["default"].settings_dict,
        "HOST": config["HOST"],
        "PORT": config["PORT"],
        "USER": config["USER"],
        "PASSWORD": config["PASSWORD"],
    }
    admin = psycopg.connect(
        host=config["HOST"],
        port=config["PORT"],
        user=config["USER"],
        dbname="postgres",
        autocommit=True,
    )
    try:
        yield admin
    finally:
        admin.execute("SELECT pg_wal_replay_resume()")
        admin.close()
        alias.close()
        alias.settings_dict = saved


def on_replica(model, **lookup) -> bool:
    return model.objects.using(REPLICA).filter(**lookup).exists()


def wait_for_replica(model, **lookup) -> None:
    deadline = time.monotonic() + 30
    while not on_replica(model, **lookup):
        assert time.monotonic() < deadline, "the replica did not catch up in 30 s"
        time.sleep(0.1)


def test_a_write_on_the_primary_reaches_the_replica(replica):
    Category.objects.create(name="Streamed", slug="streamed")
    wait_for_replica(Category, slug="streamed")
    with replica_reads():
        assert read_alias() == REPLICA
        assert Category.objects.filter(slug="streamed").exists()  # routed to the replica


def test_a_client_reads_its_own_write_at_once_while_the_replica_lags(replica):
    staff = get_user_model().objects.create_user(
        "staffer", password="x", is_staff=True, is_superuser=True
    )
    wait_for_replica(get_user_model(), pk=staff.pk)
    replica.execute("SELECT pg_wal_replay_pause()")
    writer, visitor = Client(), Client()
    writer.force_login(staff)

    created = writer.post(
        "/api/categories/", {"name": "Fresh Garden"}, content_type="application/json"
    )
    assert created.status_code == 201, created.content
    time.sleep(0.5)  # replay is paused: however long we wait, the replica will not have it
    assert not on_replica(Category, name="Fresh Garden")
    # The write's own answer built the category tree again, from the primary; drop it, as
    # if it had expired, so that the next pages build theirs.
    cache.clear()

    # A visitor's page is built from the lagging replica (and that copy is cached) ...
    assert "Fresh Garden" not in visitor.get("/").content.decode()
    # ... while the client that wrote reads the primary, past the cached copy.
    assert "Fresh Garden" in writer.get("/").content.decode()

    replica.execute("SELECT pg_wal_replay_resume()")
    wait_for_replica(Category, name="Fresh Garden")
