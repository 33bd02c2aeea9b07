"""/metrics: who may read it, and what it says."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

from shop import cache as shop_cache
from tests.factories import OrderFactory, PaymentFactory, ProductFactory

pytestmark = pytest.mark.django_db

TOKEN = "s3cret-metrics-token"
BASE_DIR = Path(__file__).resolve().parent.parent.parent


def samples(response) -> dict:
    """{(name, frozenset(labels)): value} of a Prometheus text exposition."""
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def delta(before: dict, after: dict, name: str, **labels) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_anonymous_clients_are_refused_with_a_json_403(client):
    response = client.get("/metrics")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_a_customer_session_is_refused(client, user):
    client.force_login(user)

    assert client.get("/metrics").status_code == 403


@override_settings(METRICS_TOKEN=TOKEN)
def test_a_wrong_bearer_token_is_refused(client):
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")

    assert response.status_code == 403


@override_settings(METRICS_TOKEN="")
def test_no_token_configured_means_no_token_is_accepted(client):
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


@override_settings(METRICS_TOKEN=TOKEN)
def test_the_bearer_token_gives_the_prometheus_text_format(client):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "# TYPE shop_http_requests_total counter" in response.content.decode()


def test_a_staff_session_may_read_the_metrics(client, staff):
    client.force_login(staff)

    assert client.get("/metrics").status_code == 200


def test_requests_are_counted_by_view_name_not_by_path(client, staff):
    product = ProductFactory()
    client.force_login(staff)
    before = samples(client.get("/metrics"))

    client.get(f"/api/products/{product.id}/")
    client.get("/api/products/999999/")
    after = samples(client.get("/metrics"))

    labels = {"view": "product-detail", "method": "GET"}
    assert delta(before, after, "shop_http_requests_total", status="200", **labels) == 1
    assert delta(before, after, "shop_http_requests_total", status="404", **labels) == 1
    assert delta(before, after, "shop_http_request_duration_seconds_count", **labels) == 2
    assert not any(str(product.id) in dict(k[1]).get("view", "") for k in after)


def test_database_queries_per_request_are_observed(client, staff):
    ProductFactory()
    client.force_login(staff)
    before = samples(client.get("/metrics"))

    client.get("/api/products/")
    after = samples(client.get("/metrics"))

    name = "shop_http_request_db_queries"
    assert delta(before, after, f"{name}_count", view="product-list") == 1
    assert delta(before, after, f"{name}_sum", view="product-list") >= 2


def test_orders_by_status_are_counted_at_scrape_time(client, staff):
    OrderFactory.create_batch(2)
    client.force_login(staff)

    found = samples(client.get("/metrics"))

    statuses = {dict(k[1])["status"]: v for k, v in found.items() if k[0] == "shop_orders"}
    assert sum(statuses.values()) == 2


def test_cache_hits_and_misses_per_area(client, staff):
    client.force_login(staff)
    shop_cache.cached("catalog", "x", lambda: 1)
    shop_cache.cached("catalog", "x", lambda: 1)
    shop_cache.cached("catalog", "x", lambda: 1)

    found = samples(client.get("/metrics"))

    assert value(found, "shop_cache_hits_total", area="catalog") == 2
    assert value(found, "shop_cache_misses_total", area="catalog") == 1


def test_celery_tasks_are_counted_with_their_duration(client, staff):
    from shop.tasks import heartbeat

    client.force_login(staff)
    before = samples(client.get("/metrics"))

    heartbeat.delay()
    after = samples(client.get("/metrics"))

    task = "shop.tasks.heartbeat"
    assert delta(before, after, "shop_celery_tasks_total", task=task, state="SUCCESS") == 1
    assert delta(before, after, "shop_celery_task_duration_seconds_count", task=task) == 1


def test_multiprocess_mode_adds_up_the_counters_of_other_processes(
    client, staff, tmp_path, monkeypatch
):
    # A worker process records two tasks into the shared directory...
    code = (
        "import django; django.setup(); from shop import metrics; "
        "metrics.celery_tasks.labels('shop.tasks.heartbeat', 'SUCCESS').inc(2)"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=BASE_DIR, timeout=60)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    client.force_login(staff)

    # ...and the web process's scrape reads them from there, not from its own memory.
    response = client.get("/metrics")

    found = samples(response)
    assert (
        value(found, "shop_celery_tasks_total", task="shop.tasks.heartbeat", state="SUCCESS") == 2
    )
    assert "shop_orders" in response.content.decode()  # scrape-time gauges are still there
    assert not re.search(r"^python_gc_objects_collected_total", response.content.decode(), re.M)


def test_payments_by_status_are_counted_at_scrape_time(client, staff):
    for status in ["completed", "failed", "failed"]:
        PaymentFactory(status=status)
    client.force_login(staff)

    found = samples(client.get("/metrics"))

    assert value(found, "shop_payments", status="failed") == 2
    assert value(found, "shop_payments", status="completed") == 1
