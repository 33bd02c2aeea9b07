"""The primary/replica router: which reads may go to the replica, and read-your-writes.

These run without a replica (the router only names an alias); tests/shop/test_replica.py runs
the same rules against a real streaming replica."""

from unittest import mock

import pytest
from django.db import transaction
from django.http import HttpResponse
from django.test import RequestFactory

from shop import db_router
from shop.celery import app as celery_app
from shop.db_router import (
    PIN_COOKIE,
    PRIMARY,
    REPLICA,
    PrimaryReplicaRouter,
    ReadYourWritesMiddleware,
    read_alias,
    replica_reads,
)


@pytest.fixture
def with_replica():
    with mock.patch.object(db_router, "replica_configured", return_value=True):
        yield


@celery_app.task(name="tests.shop.test_db_router.alias_probe")
def alias_probe() -> str:
    with replica_reads():
        return read_alias()


def test_without_a_replica_every_read_uses_the_primary(settings):
    assert "replica" not in settings.DATABASES or not settings.DATABASE_REPLICA_READS
    with replica_reads():
        assert read_alias() == PRIMARY


@pytest.mark.django_db(transaction=True)
def test_only_reads_that_asked_for_it_go_to_the_replica(with_replica):
    assert read_alias() == PRIMARY
    with replica_reads():
        assert read_alias() == REPLICA
    assert read_alias() == PRIMARY


@pytest.mark.django_db(transaction=True)
def test_a_read_inside_a_transaction_uses_the_primary(with_replica):
    with replica_reads(), transaction.atomic():
        assert read_alias() == PRIMARY


def test_writes_and_migrations_use_the_primary_only():
    router = PrimaryReplicaRouter()
    assert router.db_for_write(None) == PRIMARY
    assert router.allow_migrate(PRIMARY, "catalog") is True
    assert router.allow_migrate(REPLICA, "catalog") is False


@pytest.mark.django_db(transaction=True)
def test_a_celery_task_reads_the_primary(with_replica):
    assert alias_probe.apply().result == PRIMARY


def _serve(request) -> tuple[str, HttpResponse]:
    """What alias a replica read inside the view would use, and the response."""
    seen = {}

    def view(request):
        with replica_reads():
            seen["alias"] = read_alias()
        return HttpResponse("ok")

    response = ReadYourWritesMiddleware(view)(request)
    return seen["alias"], response


@pytest.mark.django_db(transaction=True)
def test_a_browser_that_wrote_reads_the_primary_until_the_pin_expires(with_replica, settings):
    settings.DATABASE_REPLICA_PIN_SECONDS = 7
    factory = RequestFactory()

    alias, response = _serve(factory.get("/"))
    assert alias == REPLICA
    assert PIN_COOKIE not in response.cookies

    alias, response = _serve(factory.post("/cart/"))
    assert alias == PRIMARY
    assert response.cookies[PIN_COOKIE]["max-age"] == 7

    after_write = factory.get("/")
    after_write.COOKIES[PIN_COOKIE] = response.cookies[PIN_COOKIE].value
    assert _serve(after_write)[0] == PRIMARY


@pytest.mark.django_db(transaction=True)
def test_an_api_client_that_wrote_reads_the_primary(with_replica):
    factory = RequestFactory()
    token = {"HTTP_AUTHORIZATION": "Token abc123"}

    assert _serve(factory.get("/api/products/", **token))[0] == REPLICA
    _serve(factory.post("/api/orders/", **token))
    assert _serve(factory.get("/api/products/", **token))[0] == PRIMARY
    # Another client is not pinned by that write.
    other = {"HTTP_AUTHORIZATION": "Token other"}
    assert _serve(factory.get("/api/products/", **other))[0] == REPLICA


@pytest.mark.django_db(transaction=True)
def test_a_value_cached_from_the_replica_is_rebuilt_for_a_client_that_wrote(with_replica):
    from shop.cache import cached

    builds = []

    def build():
        builds.append(read_alias())
        return len(builds)

    factory = RequestFactory()

    def view(request):
        return HttpResponse(str(cached("test-area", "key", build)))

    middleware = ReadYourWritesMiddleware(view)
    assert middleware(factory.get("/")).content == b"1"  # built on the replica
    assert middleware(factory.get("/")).content == b"1"  # and served from the cache
    pinned = factory.get("/")
    pinned.COOKIES[PIN_COOKIE] = "1"
    assert middleware(pinned).content == b"2"  # rebuilt from the primary
    assert middleware(factory.get("/")).content == b"2"
    assert builds == [REPLICA, PRIMARY]
