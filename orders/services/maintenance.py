from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orders.models import IdempotencyRecord


@transaction.atomic
def idempotency_records_purge(*, now=None) -> int:
    """Forget Idempotency-Key answers older than the retention (24 hours at least)."""
    cutoff = (now or timezone.now()) - settings.ORDERS_IDEMPOTENCY_RETENTION
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
