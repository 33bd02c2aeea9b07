"""/health/: each dependency checked, a failure simulated by breaking that dependency."""

import os
import time
from unittest import mock

import pytest
from django.test import override_settings

from shop import health, tasks

pytestmark = pytest.mark.django_db


def get_health(client):
    response = client.get("/health/")
    return response, response.json()


def test_all_ok_in_eager_mode_with_a_note(client):
    response, body = get_health(client)

    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "cache": "ok", "broker": "ok", "worker": "ok"}
    assert body["notes"]["worker"] == "eager"
    assert response["Cache-Control"] == "no-store"


CURSOR = "django.db.backends.base.base.BaseDatabaseWrapper.cursor"


def test_a_broken_database_is_down(client):
    with mock.patch(CURSOR, side_effect=RuntimeError("connection refused")):
        response, body = get_health(client)

    assert response.status_code == 503
    assert body["status"] == "down"
    assert body["checks"]["database"] == "down"
    assert body["checks"]["cache"] == "ok"


def test_a_broken_cache_is_degraded(client):
    with mock.patch.object(health, "cache") as cache:
        cache.set.side_effect = ConnectionError("redis is gone")
        response, body = get_health(client)

    assert response.status_code == 503
    assert body["status"] == "degraded"
    assert body["checks"]["cache"] == "down"
    assert body["checks"]["database"] == "ok"


def test_a_cache_that_loses_writes_is_degraded(client):
    with mock.patch.object(health, "cache") as cache:
        cache.get.return_value = None
        response, body = get_health(client)

    assert body["checks"]["cache"] == "down"
    assert response.status_code == 503


@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_an_unreachable_broker_is_degraded(client):
    tasks.heartbeat()  # the worker is fine; only the broker fails
    with mock.patch("shop.celery.app.connection_for_write") as connection_for_write:
        connection_for_write.return_value.__enter__.return_value.ensure_connection.side_effect = (
            OSError("Connection refused")
        )
        response, body = get_health(client)

    assert response.status_code == 503
    assert body["status"] == "degraded"
    assert body["checks"]["broker"] == "down"
    assert body["checks"]["worker"] == "ok"


@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_a_reachable_broker_and_a_fresh_heartbeat_are_ok(client):
    tasks.heartbeat()
    with mock.patch("shop.celery.app.connection_for_write"):
        response, body = get_health(client)

    assert response.status_code == 200
    assert body["checks"] == {"database": "ok", "cache": "ok", "broker": "ok", "worker": "ok"}


@override_settings(CELERY_TASK_ALWAYS_EAGER=False, HEALTH_HEARTBEAT_MAX_AGE_SECONDS=120)
def test_a_stale_or_missing_heartbeat_means_no_worker(client):
    with mock.patch("shop.celery.app.connection_for_write"):
        _, missing = get_health(client)
        tasks.heartbeat()
        with mock.patch.object(health.time, "time", return_value=time.time() + 121):
            _, stale = get_health(client)

    assert missing["checks"]["worker"] == "down"
    assert stale["checks"]["worker"] == "down"
    assert stale["status"] == "degraded"


@override_settings(CELERY_TASK_ALWAYS_EAGER=False, HEALTH_CHECK_TIMEOUT_SECONDS=0.2)
def test_a_check_that_hangs_fails_after_the_timeout(client):
    import threading

    release = threading.Event()

    def hanging_get(*args, **kwargs):
        release.wait(5)

    tasks.heartbeat()
    try:
        with (
            mock.patch("shop.celery.app.connection_for_write") as connection_for_write,
        ):
            connection_for_write.return_value.__enter__.return_value.ensure_connection = hanging_get
            response, body = get_health(client)
    finally:
        release.set()

    assert response.status_code == 503
    assert body["checks"]["broker"] == "down"
    assert body["notes"]["broker"] == "timed out"


def test_the_heartbeat_task_records_the_time():
    before = time.time()
    tasks.heartbeat.delay()

    from django.core.cache import cache

    assert cache.get(health.HEARTBEAT_KEY) >= before


def test_the_heartbeat_is_scheduled_every_30_seconds(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["shop-heartbeat"]
    assert entry["task"] == "shop.tasks.heartbeat"
    assert entry["schedule"] == 30.0


def test_load_balancers_may_probe_over_plain_http_when_https_is_enforced(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/health/").status_code == 200
    assert client.get("/api/products/").status_code == 301


UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/4",  # nothing listens there
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
    }
}


def test_a_redis_outage_degrades_the_shop_but_pages_still_answer(client, settings):
    from tests.factories import ProductFactory

    product = ProductFactory()
    settings.CACHES = UNREACHABLE_REDIS

    products = client.get(f"/api/products/{product.id}/")
    response, body = get_health(client)

    assert products.status_code == 200
    assert response.status_code == 503
    assert body["status"] == "degraded"
    assert body["checks"]["cache"] == "down"
    assert body["checks"]["database"] == "ok"


@override_settings(CELERY_TASK_ALWAYS_EAGER=False, HEALTH_CHECK_TIMEOUT_SECONDS=1)
def test_the_broker_check_really_connects_and_fails_on_a_closed_port():
    from kombu import Connection

    with mock.patch(
        "shop.celery.app.connection_for_write",
        return_value=Connection("redis://127.0.0.1:1/4", connect_timeout=0.5),
    ):
        ok, note = health._run("broker", health.check_broker)

    assert not ok
    assert note


@pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="needs Redis as the broker: set REDIS_URL, as CI does"
)
@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_the_broker_check_reaches_the_real_broker():
    assert health.check_broker() == (True, "")


@override_settings(HEALTH_CHECK_TIMEOUT_SECONDS=0.2)
def test_a_hanging_database_is_down_after_the_timeout(client):
    import threading

    release = threading.Event()

    def hanging_cursor(*args, **kwargs):
        release.wait(5)
        return mock.MagicMock()

    try:
        with mock.patch(CURSOR, hanging_cursor):
            response, body = get_health(client)
    finally:
        release.set()

    assert response.status_code == 503
    assert body["status"] == "down"
    assert body["notes"]["database"] == "timed out"
