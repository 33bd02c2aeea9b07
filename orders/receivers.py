"""Carts follow their visitor: an anonymous cart joins the customer's cart at login. An order
waiting for its card's authentication goes on once the payment is settled."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from orders.services import cart_merge
from payments.models import Payment
from payments.signals import payment_action_settled

CART_SESSION_KEY = "cart_token"


@receiver(user_logged_in, dispatch_uid="orders.merge_cart_at_login")
def merge_cart_at_login(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    token = session.pop(CART_SESSION_KEY, None) if session is not None else None
    if token:
        cart_merge(user=user, session_key=token)


@receiver(payment_action_settled, dispatch_uid="orders.process_after_authentication")
def process_after_authentication(sender, payment_id: int, **kwargs):
    """The customer finished (or gave up) the card's authentication: the order goes on, to
    securing its goods and capturing, or to being cancelled."""
    from orders.tasks import order_process_task

    order_id = Payment.objects.filter(pk=payment_id).values_list("order_id", flat=True).first()
    if order_id is not None:
        order_process_task.delay(order_id=order_id)
