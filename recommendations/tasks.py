"""Celery entry points for recommendations: thin, each runs the service it is named after,
safe to run twice."""

import logging

from celery import shared_task
from django.core.cache import cache

from recommendations import services
from shop.dispatch import retrying

logger = logging.getLogger(__name__)

TRAINING_LOCK = "recommendations:training-lock"


@shared_task(time_limit=3600, soft_time_limit=3300)
def training_run_task() -> list[int]:
    """Train every configured algorithm and switch serving; one run at a time."""
    if not cache.add(TRAINING_LOCK, 1, timeout=3600):
        logger.info("a recommendation training is already running; skipped")
        return []
    # Imported here, not at the top: web processes import this module to enqueue tasks and must
    # not load the numerical stack that training needs.
    from recommendations import training

    try:
        return [v.pk for v in training.training_run()]
    finally:
        cache.delete(TRAINING_LOCK)


@shared_task
def popularity_refresh_task() -> int:
    return services.popularity_refresh()


@shared_task(**retrying())
def interactions_record_order_task(*, order_id: int) -> int:
    return services.interactions_record_order(order_id=order_id)
