from django.conf import settings

STRIPE_GATEWAY = "payments.gateways.stripe.StripeGateway"


def gateway(request):
    """Which gateway's browser side the pages load: the test gateway's card-to-token script, or
    Stripe.js with the publishable key."""
    stripe = settings.PAYMENT_GATEWAY == STRIPE_GATEWAY
    return {
        "PAYMENT_BROWSER": "stripe" if stripe else "test",
        "STRIPE_PUBLISHABLE_KEY": settings.STRIPE_PUBLISHABLE_KEY if stripe else "",
    }
