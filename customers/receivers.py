"""A verified customer's guest orders join the account at each sign-in (also those placed as a
guest after the address was verified)."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from customers.services import guest_orders_claim


@receiver(user_logged_in, dispatch_uid="customers.claim_guest_orders_at_login")
def claim_guest_orders_at_login(sender, request, user, **kwargs):
    guest_orders_claim(user=user)
