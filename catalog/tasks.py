"""Celery entry points for the catalog: thin, take ids, each runs the service it is named after
and is safe to run twice."""

from celery import shared_task

from catalog import services
from shop.dispatch import retrying


@shared_task(ignore_result=True, **retrying())
def product_image_renditions_make_task(*, picture_ids: list[int]) -> int:
    return services.product_image_renditions_make(picture_ids=picture_ids)
