"""Health and task metrics with a real Celery worker over Redis, on PostgreSQL."""

import pytest
from django.core.cache import cache
from django.test import override_settings

from shop import health
from shop.tasks import heartbeat
from tests.shop.test_metrics import samples, value
from tests.utils import requires_worker
from tests.worker import running_worker, wait_until

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    requires_worker,
]


@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_a_real_worker_makes_health_ok_and_reports_its_tasks_to_metrics(
    client, staff, tmp_path, monkeypatch
):
    # The worker and this process share the metrics directory, as gunicorn and Celery
    # processes of one machine do.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    before = client.get("/health/").json()
    assert before["checks"]["worker"] == "down"  # no heartbeat yet, and not eager

    with running_worker(concurrency=1):
        heartbeat.delay()
        heartbeat.delay()
        wait_until(lambda: cache.get(health.HEARTBEAT_KEY) is not None, what="a worker heartbeat")
        client.force_login(staff)
        wait_until(
            lambda: (
                value(
                    samples(client.get("/metrics")),
                    "shop_celery_tasks_total",
                    task="shop.tasks.heartbeat",
                    state="SUCCESS",
                )
                == 2
            ),
            what="two heartbeat tasks in the shared metrics",
        )
        response = client.get("/health/")

    body = response.json()
    assert response.status_code == 200, body
    assert body["checks"] == {"database": "ok", "cache": "ok", "broker": "ok", "worker": "ok"}
    found = samples(client.get("/metrics"))
    assert value(found, "shop_celery_task_duration_seconds_count", task="shop.tasks.heartbeat") == 2
