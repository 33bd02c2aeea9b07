"""The mails an order owes its customer, through an outbox: due once, sent once.

``order_email_due`` is called inside the transaction that makes a mail due (placing, paying,
cancelling, shipping): it writes the outbox row and enqueues the sender on commit, so a mail is
never due for something that rolled back, and never lost when the broker hiccups (the sweeper
sends what is still unsent). ``order_email_send`` claims the row before talking to the mail
server, so a repeated or redelivered task does not mail the customer twice."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from orders.links import order_link_key
from orders.models import Order, OrderEmail
from shop.dispatch import enqueue_on_commit
from shop.mail import mail_send

logger = logging.getLogger(__name__)
Kind = OrderEmail.Kind
SUBJECTS = {
    Kind.PLACED: "We received your order {number}",
    Kind.CONFIRMED: "Your order {number} is confirmed",
    Kind.PAYMENT_FAILED: "Payment for order {number} failed",
    Kind.SHIPPED: "Your order {number} is on its way",
    Kind.CANCELLED: "Your order {number} was cancelled",
    Kind.RETURN_REQUESTED: "We received your return request for order {number}",
    Kind.RETURN_APPROVED: "Your return for order {number} is approved",
    Kind.RETURN_REJECTED: "Your return for order {number} was not accepted",
    Kind.RETURN_REFUNDED: "Your return for order {number} is refunded",
}
# A claim older than this belongs to a sender that died: the mail may be sent again.
CLAIM_TIMEOUT = timedelta(minutes=5)


def order_email_due(
    *, order: Order, kind: str, return_request=None, new_order: bool = False
) -> OrderEmail | None:
    """Make mail ``kind`` due for ``order`` (once: a second call changes nothing); a return's
    mails are due once per return.

    ``new_order``: the caller created (or first reached this step of) the order in its
    current transaction, so no such mail can exist yet and it is inserted without looking (the
    unique constraints would refuse a second one)."""
    if new_order:
        email = OrderEmail.objects.create(
            order=order, kind=Kind(kind), return_request=return_request
        )
    else:
        email, created = OrderEmail.objects.get_or_create(
            order=order, kind=Kind(kind), return_request=return_request
        )
        if not created:
            return None
    from orders.tasks import order_email_send_task

    enqueue_on_commit(order_email_send_task, email_id=email.pk)
    return email


def _claim(email_id: int, now) -> bool:
    stale = now - CLAIM_TIMEOUT
    return bool(
        OrderEmail.objects.filter(pk=email_id, sent_at__isnull=True)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale))
        .update(claimed_at=now, attempts=F("attempts") + 1)
    )


def order_email_send(*, email_id: int) -> bool:
    """Send one due mail if nobody sent it yet. Returns True if this call sent it.

    A failure of the mail server leaves the row unsent and unclaimed and propagates, so the
    task retries it."""
    now = timezone.now()
    if not _claim(email_id, now):
        return False
    email = OrderEmail.objects.select_related("order", "order__user", "return_request").get(
        pk=email_id
    )
    order = email.order
    recipient = order.email or (order.user.email if order.user_id else "")
    if recipient:
        try:
            mail_send(
                to=[recipient],
                template=f"order_{email.kind}",
                subject=SUBJECTS[Kind(email.kind)].format(number=order.number),
                context={
                    **order_email_context(order),
                    "return_request": email.return_request,
                    "return_lines": email.return_request.lines.select_related("order_line")
                    if email.return_request
                    else [],
                },
            )
        except Exception:
            OrderEmail.objects.filter(pk=email_id, claimed_at=now).update(claimed_at=None)
            raise
    OrderEmail.objects.filter(pk=email_id).update(sent_at=timezone.now())
    return bool(recipient)


def order_greeting(order: Order) -> str:
    """Whom an order mail greets: the customer's username, or for a guest (no account) the
    name on the shipping address."""
    if order.user_id:
        return order.user.get_username()
    return (order.shipping_address or {}).get("name", "")


def order_email_context(order: Order) -> dict:
    """What every order mail's templates are rendered with."""
    return {
        "order": order,
        "lines": order.lines.all(),
        "greeting": order_greeting(order),
        # Signed and dated: it opens the page without an account (a guest's only way in).
        "order_url": settings.SHOP_URL
        + reverse("orders:order-detail", args=[order.number])
        + "?"
        + urlencode({"key": order_link_key(order)}),
    }


def order_emails_send_due(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Enqueue every mail still unsent after ``older_than`` (its task was lost). Returns how
    many."""
    from orders.tasks import order_email_send_task

    cutoff = timezone.now() - older_than
    ids = list(
        OrderEmail.objects.filter(sent_at__isnull=True, created_at__lte=cutoff)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=timezone.now() - CLAIM_TIMEOUT))
        .values_list("id", flat=True)[:500]
    )
    for email_id in ids:
        order_email_send_task.delay(email_id=email_id)
    if ids:
        logger.warning("re-enqueued %d unsent order mails", len(ids))
    return len(ids)
