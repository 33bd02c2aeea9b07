"""Periodic tasks of the shop itself."""

from celery import shared_task

from shop.health import record_heartbeat


@shared_task(ignore_result=True)
def heartbeat() -> float:
    """Proves to ``/health/`` that a worker (and beat) is alive; run every 30 s by beat."""
    return record_heartbeat()
