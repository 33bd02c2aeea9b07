"""Back-in-stock alerts: a customer asks to be told when an out-of-stock product returns, and
gets one mail, once, when it does.

The inventory cannot import this app: it sends ``inventory.signals.stock_available`` where
units become available, and :func:`stock_available_received` enqueues the sending on commit
when someone is waiting. Each alert is a row of an outbox: a sender first claims it with a
conditional update (``claimed_at`` was empty, or its claim is older than
``ALERT_CLAIM_SECONDS``, that sender having died), so of two restocks at once only one sends
it; ``sent_at`` is set once the mail went, and a sent alert is never sent again. A mail server
that failed gives the claim back and the task retries."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from catalog.models import Product
from customers.exceptions import ProductInStock
from customers.models import StockAlert
from inventory.selectors import stock_available
from orders.exceptions import ProductNeedsVariant, ProductUnavailable
from shop.mail import mail_send

# A claim older than this belongs to a sender that died before it finished.
ALERT_CLAIM_SECONDS = 600


@transaction.atomic
def stock_alert_subscribe(*, owner, product: Product) -> tuple[StockAlert, bool]:
    """Ask for a mail when ``product`` is back. Refused while it is in stock, and for a parent
    (one of its variants is what comes back); asking twice keeps the one waiting alert.
    Returns the alert and whether it was new."""
    if not product.is_active:
        raise ProductUnavailable("This product is no longer sold.")
    if product.is_parent:
        # A parent has no stock of its own (its variants do): an alert on it would never go.
        axes = " and ".join(name for name, _ in product.option_axes) or "variant"
        raise ProductNeedsVariant(
            f"Choose a {axes} of {product.name}: stock, and so the alert, is kept per {axes}.",
            details={
                "product_id": product.pk,
                "variants": list(
                    product.variants.filter(is_active=True)
                    .order_by("pk")
                    .values_list("pk", flat=True)
                ),
            },
        )
    if stock_available(product.pk) > 0:
        raise ProductInStock()
    waiting = StockAlert.objects.filter(owner=owner, product=product, sent_at__isnull=True)
    if existing := waiting.first():
        return existing, False
    alert = StockAlert(owner=owner, product=product)
    alert.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            alert.save()
    except IntegrityError:  # the same request, twice at once
        return waiting.get(), False
    return alert, True


def stock_alert_waiting(*, owner, product_id: int) -> bool:
    return StockAlert.objects.filter(
        owner=owner, product_id=product_id, sent_at__isnull=True
    ).exists()


def _claim(alert_id: int, now) -> bool:
    stale = now - timedelta(seconds=ALERT_CLAIM_SECONDS)
    return bool(
        StockAlert.objects.filter(pk=alert_id, sent_at__isnull=True)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale))
        .update(claimed_at=now)
    )


def stock_alerts_send(*, product_id: int) -> int:
    """Send the waiting alerts of ``product_id`` while it is in stock; each one once, whoever
    else runs this at the same time. Returns how many mails this call sent."""
    if stock_available(product_id) <= 0:
        return 0
    product = Product.objects.filter(pk=product_id, is_active=True).first()
    if product is None:
        return 0
    waiting = list(
        StockAlert.objects.filter(product_id=product_id, sent_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    sent = 0
    for alert_id in waiting:
        if not _claim(alert_id, timezone.now()):
            continue  # another sender has it
        alert = StockAlert.objects.select_related("owner").get(pk=alert_id)
        # The claim is committed (autocommit) before the mail server is called: no lock is held.
        if alert.owner.email and alert.owner.is_active:
            try:
                mail_send(
                    to=[alert.owner.email],
                    template="back_in_stock",
                    subject=f"{product.name} is back in stock",
                    context={"product": product, "user": alert.owner},
                )
            except Exception:
                StockAlert.objects.filter(pk=alert_id).update(claimed_at=None)
                raise
            sent += 1
        StockAlert.objects.filter(pk=alert_id).update(sent_at=timezone.now())
    return sent


def stock_available_received(sender, product_ids, **kwargs) -> None:
    """Connected to ``inventory.signals.stock_available``: enqueue the alerts of each product
    someone waits for, once the stock change commits."""
    from customers.tasks import stock_alerts_send_task
    from shop.dispatch import enqueue_on_commit

    waited_for = (
        StockAlert.objects.filter(product_id__in=list(product_ids), sent_at__isnull=True)
        .values_list("product_id", flat=True)
        .distinct()
    )
    for product_id in sorted(set(waited_for)):
        enqueue_on_commit(stock_alerts_send_task, product_id=product_id)
