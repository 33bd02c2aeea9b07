"""Stripe's two ways back into the shop: its webhook, and the customer's browser after 3-D
Secure (the return page). Both only call services."""

import json
import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from payments.exceptions import GatewayTransientError, PaymentError
from payments.models import Payment
from payments.services import payment_sync, stripe_event_receive

logger = logging.getLogger(__name__)


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": {}}}, status=status)


@csrf_exempt  # Stripe cannot send a CSRF token: the signature is the proof instead
@require_POST
def stripe_webhook(request):
    """Verify the signature against STRIPE_WEBHOOK_SECRET, store the event once, answer 200.

    A forged or stale signature is a 400 and changes nothing."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        return _error(400, "invalid_signature", "Stripe webhooks are not configured.")
    # Imported here, not with the URLconf: stripe and its HTTP stack are about 8 MiB that
    # every web worker would carry for a webhook only a shop with Stripe ever receives.
    import stripe

    try:
        event = stripe.Webhook.construct_event(
            request.body, request.headers.get("Stripe-Signature", ""), secret
        )
    except (ValueError, stripe.SignatureVerificationError):
        return _error(400, "invalid_signature", "The event's signature does not verify.")
    payload = json.loads(request.body)
    if not isinstance(payload, dict) or not payload.get("id"):
        return _error(400, "validation_error", "The event has no id.")
    stored, new = stripe_event_receive(event=payload)
    logger.info("stripe event %s %s (%s)", event.id, event.type, "new" if new else "replay")
    return JsonResponse({"received": True, "duplicate": not new})


@login_required
@require_GET
def payment_return(request):
    """Where the provider sends the customer back after authenticating a card payment: asks the
    gateway how it went and shows the outcome (the order goes on by itself)."""
    reference = request.GET.get("payment_intent", "")
    payment = (
        Payment.objects.select_related("order")
        .filter(gateway_reference=reference, order__user=request.user)
        .first()
        if reference
        else None
    )
    if payment is None:
        raise Http404("No such payment.")
    unanswered = False
    try:
        payment = payment_sync(payment_id=payment.pk)
    except (GatewayTransientError, PaymentError):
        unanswered = True  # a webhook or the sweeper settles it; the order page follows
    payment.refresh_from_db()
    return render(
        request,
        "payments/return.html",
        {"payment": payment, "order": payment.order, "unanswered": unanswered},
        status=200,
    )
