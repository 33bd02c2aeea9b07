"""Prometheus metrics of the shop, served at ``/metrics`` (see docs/operations.md).

Counters and histograms are updated where things happen (the request middleware, the Celery
signals). Business gauges (orders and payments by status, open reorder requests) and the cache
totals are computed when Prometheus scrapes, from the database and the cache, so every process
reports the same figures.

With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn with several workers, Celery workers on the same
machine), prometheus-client writes the counters to files in that directory and the scrape adds
them up across processes.
"""

import logging
import os

from django.apps import apps
from django.db.models import Count
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from shop import cache as shop_cache

logger = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
QUERY_BUCKETS = (0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 100)

http_requests = Counter(
    "shop_http_requests_total",
    "HTTP requests answered, by view (URL name or route), method and status code.",
    ["view", "method", "status"],
)
http_latency = Histogram(
    "shop_http_request_duration_seconds",
    "Time to answer an HTTP request, by view and method.",
    ["view", "method"],
    buckets=LATENCY_BUCKETS,
)
http_db_queries = Histogram(
    "shop_http_request_db_queries",
    "Database queries run while answering one HTTP request, by view.",
    ["view"],
    buckets=QUERY_BUCKETS,
)
celery_tasks = Counter(
    "shop_celery_tasks_total",
    "Celery tasks run, by task name and final state (SUCCESS, FAILURE, RETRY, ...).",
    ["task", "state"],
)
celery_task_duration = Histogram(
    "shop_celery_task_duration_seconds",
    "Time a Celery task ran, by task name.",
    ["task"],
    buckets=LATENCY_BUCKETS + (30, 60, 120, 300),
)


def _model(app_label: str, name: str):
    """The model if its app is installed and defines it (apps built later are optional)."""
    if not apps.is_installed(app_label):
        return None
    try:
        return apps.get_model(app_label, name)
    except LookupError:
        return None


def count_by(model, field: str = "status") -> dict[str, int]:
    """Rows per value of ``field``; empty if the model or the field does not exist."""
    if model is None or field not in {f.name for f in model._meta.get_fields()}:
        return {}
    rows = model.objects.order_by().values_list(field).annotate(n=Count("pk"))
    return {str(value): n for value, n in rows}


class ShopStateCollector:
    """Gauges read from the database and the cache at scrape time."""

    def collect(self):
        for name, app_label, model_name, help_text in (
            ("shop_orders", "orders", "Order", "Orders by status."),
            ("shop_payments", "payments", "Payment", "Payments by status."),
            ("shop_reorder_requests", "inventory", "ReorderRequest", "Reorder requests by status."),
            (
                "shop_reconciliation_issues",
                "orders",
                "ReconciliationIssue",
                "Differences between the shop's payments and the gateway's, by status "
                "(open ones need staff).",
            ),
        ):
            family = GaugeMetricFamily(name, help_text, labels=["status"])
            try:
                for status, n in sorted(count_by(_model(app_label, model_name)).items()):
                    family.add_metric([status], n)
            except Exception:  # a broken query must not hide every other metric
                logger.exception("metrics: counting %s.%s failed", app_label, model_name)
            yield family

        hits = CounterMetricFamily(
            "shop_cache_hits", "Cache hits by area, over every process.", labels=["area"]
        )
        misses = CounterMetricFamily(
            "shop_cache_misses", "Cache misses by area, over every process.", labels=["area"]
        )
        try:
            for area, figures in shop_cache.all_stats().items():
                hits.add_metric([area], figures["hits"])
                misses.add_metric([area], figures["misses"])
        except Exception:
            logger.exception("metrics: reading cache statistics failed")
        yield hits
        yield misses


class _ProcessCollector:
    """This process's own registry (counters, histograms, process and GC metrics)."""

    def collect(self):
        yield from REGISTRY.collect()


def render() -> bytes:
    """The whole exposition, in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ProcessCollector())
    registry.register(ShopStateCollector())
    return generate_latest(registry)
