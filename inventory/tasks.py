"""Celery entry points of the inventory: thin, take ids, safe to run twice."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from inventory import services
from inventory.models import ReorderRequest


@shared_task(ignore_result=True)
def expire_reservations() -> int:
    return services.reservations_expire()


@shared_task(ignore_result=True)
def notify_reorder(*, reorder_id: int) -> None:
    """Tell the staff that a product needs reordering (the request may be handled already)."""
    reorder = (
        ReorderRequest.objects.select_related("product")
        .filter(pk=reorder_id, status=ReorderRequest.Status.OPEN)
        .first()
    )
    if reorder is None:
        return
    product = reorder.product
    send_mail(
        subject=f"Reorder {product.sku}: {reorder.quantity} units",
        message=(
            f"Available stock of {product.name} ({product.sku}) fell to its reorder point.\n"
            f"Reorder request #{reorder.pk} asks for {reorder.quantity} units.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[settings.SHOP_STAFF_EMAIL],
    )
