"""The Stripe gateway: PaymentIntents with manual capture, on the official ``stripe`` library.

- ``authorize`` creates and confirms a PaymentIntent (``capture_method=manual``) for the
  PaymentMethod the browser made with Stripe Elements; the shop's idempotency key is both the
  request's ``Idempotency-Key`` and ``metadata[shop_key]``, which is how ``lookup`` finds it.
  A card that needs 3-D Secure answers ``requires_action``: the result carries the page to
  send the customer to (``next_action.redirect_to_url``) and the client secret Stripe.js needs.
- ``capture`` captures what was authorized (``amount_to_capture``), once the goods are secured;
  ``void`` cancels the PaymentIntent; ``refund`` creates a (partial) Refund.
- Amounts go to Stripe in the currency's minor unit (cents; yen as they are; three-decimal
  currencies in thousandths).
- The library retries a request whose answer was lost (``STRIPE_MAX_NETWORK_RETRIES``) under
  the same idempotency key, so Stripe replays its first answer instead of charging again. What
  is still unanswered after that raises GatewayTransientError, as the interface asks.

Card numbers never reach the shop: it only sees the PaymentMethod id, and keeps the
PaymentIntent id, the card's brand and its last four digits.
"""

import math
from datetime import datetime
from decimal import Decimal

import stripe
from django.conf import settings
from django.urls import reverse

from payments.exceptions import GatewayTransientError, PaymentError
from payments.gateways.base import CardInfo, Gateway, GatewayStatus, Lookup, Record, Result

CENT = Decimal("0.01")
# Stripe's currencies without a minor unit, and those with three decimals (Stripe's docs,
# "Zero-decimal currencies" / "Three-decimal currencies").
ZERO_DECIMAL = {
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA",
    "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
}  # fmt: skip
THREE_DECIMAL = {"BHD", "JOD", "KWD", "OMR", "TND"}
# Errors after which the same request may succeed: no answer, a 5xx, too many requests.
TRANSIENT = (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError)
KEY_FIELD = "shop_key"


def _exponent(currency: str) -> int:
    currency = currency.upper()
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def to_minor(amount: Decimal, currency: str) -> int:
    """The amount in the currency's smallest unit, as Stripe takes it: 12.34 EUR -> 1234."""
    minor = Decimal(amount).scaleb(_exponent(currency))
    if minor != minor.to_integral_value():
        raise PaymentError(
            f"{amount} {currency} is not a whole number of the currency's smallest unit.",
            details={"amount": str(amount), "currency": currency},
        )
    return int(minor)


def from_minor(amount: int, currency: str) -> Decimal:
    return Decimal(int(amount)).scaleb(-_exponent(currency)).quantize(CENT)


def _plain(value):
    """The library's objects as plain dicts and lists (they are not dicts themselves)."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value.to_dict() if hasattr(value, "to_dict") else value


def _transient(exc: Exception) -> GatewayTransientError:
    return GatewayTransientError(f"Stripe did not answer: {exc.__class__.__name__}")


def _card(intent) -> CardInfo | None:
    method = intent.get("payment_method")
    card = method.get("card") if isinstance(method, dict) else None
    if not card:
        return None
    return CardInfo(brand=card.get("brand") or "", last4=card.get("last4") or "")


def _failure_code(intent) -> str:
    error = intent.get("last_payment_error") or {}
    return error.get("decline_code") or error.get("code") or "declined"


def _next_action_url(intent) -> str:
    action = intent.get("next_action") or {}
    if action.get("type") == "redirect_to_url":
        return (action.get("redirect_to_url") or {}).get("url") or ""
    return ""


class StripeGateway(Gateway):
    def _client(self) -> stripe.StripeClient:
        return stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            base_addresses={"api": settings.STRIPE_API_BASE},
            max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
            http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT),
        )

    def _call(self, method, *args, **kwargs):
        """One request (the library's retries included), its answer as plain dicts. Transient
        failures raise GatewayTransientError; a rejected API key is a PaymentError; declines
        and refused requests raise the library's CardError and InvalidRequestError."""
        try:
            return _plain(method(*args, **kwargs))
        except TRANSIENT as exc:
            raise _transient(exc) from exc
        except stripe.CardError:
            raise
        except stripe.InvalidRequestError:
            raise
        except stripe.StripeError as exc:  # authentication, permission, idempotency misuse
            raise PaymentError(f"Stripe refused the request: {exc.user_message or exc}") from exc

    def _retrieve(self, reference: str):
        return self._call(
            self._client().v1.payment_intents.retrieve,
            reference,
            {"expand": ["payment_method"]},
        )

    # --- the interface ----------------------------------------------------------------------
    def describe(self, token: str) -> CardInfo | None:
        # Known once the PaymentIntent is confirmed (from its payment method); asking Stripe
        # here would be a network call inside the transaction that creates the payment.
        return None

    def authorize(self, amount: Decimal, currency: str, token: str, idempotency_key: str) -> Result:
        params = {
            "amount": to_minor(amount, currency),
            "currency": currency.lower(),
            "payment_method": token,
            "payment_method_types": ["card"],
            "capture_method": "manual",
            "confirm": True,
            "return_url": settings.SHOP_URL + reverse("payments:return"),
            "metadata": {KEY_FIELD: idempotency_key},
            "expand": ["payment_method"],
        }
        try:
            intent = self._call(
                self._client().v1.payment_intents.create,
                params,
                {"idempotency_key": idempotency_key},
            )
        except stripe.CardError as exc:
            error = exc.error
            intent = _plain(getattr(error, "payment_intent", None)) or {}
            code = getattr(error, "decline_code", None) or exc.code or "card_declined"
            return Result(
                approved=False,
                reference=intent.get("id", ""),
                code=code[:40],
                message=exc.user_message or "The card was declined.",
            )
        except stripe.InvalidRequestError as exc:
            return Result(
                approved=False,
                code=(exc.code or "invalid_request")[:40],
                message=exc.user_message or "Stripe refused the payment.",
            )
        return self._authorization(intent)

    def _authorization(self, intent) -> Result:
        status = intent["status"]
        card = _card(intent)
        amount = from_minor(intent["amount"], intent["currency"])
        if status in ("requires_capture", "succeeded"):
            return Result(approved=True, reference=intent["id"], amount=amount, card=card)
        if status == "requires_action":
            return Result(
                approved=False,
                action_required=True,
                reference=intent["id"],
                code="action_required",
                message="The card asks its holder to authenticate the payment.",
                amount=amount,
                next_action_url=_next_action_url(intent),
                client_secret=intent.get("client_secret") or "",
                card=card,
            )
        if status == "processing":
            raise GatewayTransientError("Stripe is still processing the payment.")
        return Result(
            approved=False,
            reference=intent["id"],
            code=_failure_code(intent)[:40] if status != "canceled" else "canceled",
            message=(intent.get("last_payment_error") or {}).get("message", "") or "declined",
            card=card,
        )

    def _refused(self, reference: str) -> Result:
        """Why a capture or cancel was refused, from where the PaymentIntent stands."""
        intent = self._retrieve(reference)
        code = {
            "succeeded": "already_captured",
            "canceled": "authorization_voided",
        }.get(intent["status"], "no_authorization")
        return Result(approved=False, reference=reference, code=code)

    def capture(self, reference: str, amount: Decimal, idempotency_key: str) -> Result:
        try:
            intent = self._retrieve(reference)
            minor = to_minor(amount, intent["currency"])
            if intent["status"] == "requires_capture" and minor > intent["amount_capturable"]:
                return Result(approved=False, reference=reference, code="amount_too_large")
            # Sent even when already captured: a repeated key gets Stripe's first answer.
            intent = self._call(
                self._client().v1.payment_intents.capture,
                reference,
                {"amount_to_capture": minor},
                {"idempotency_key": idempotency_key},
            )
        except stripe.InvalidRequestError:
            return self._refused(reference)
        return Result(
            approved=intent["status"] == "succeeded",
            reference=reference,
            amount=from_minor(intent.get("amount_received", 0), intent["currency"]),
        )

    def refund(self, reference: str, amount: Decimal, idempotency_key: str) -> Result:
        try:
            intent = self._retrieve(reference)
            refund = self._call(
                self._client().v1.refunds.create,
                {"payment_intent": reference, "amount": to_minor(amount, intent["currency"])},
                {"idempotency_key": idempotency_key},
            )
        except stripe.InvalidRequestError as exc:
            return Result(
                approved=False,
                reference=reference,
                code="refund_exceeds_capture",
                message=exc.user_message or "Stripe refused the refund.",
            )
        approved = refund["status"] in ("succeeded", "pending")
        return Result(
            approved=approved,
            reference=refund["id"],
            code="" if approved else (refund.get("failure_reason") or "refund_failed")[:40],
            amount=from_minor(refund["amount"], refund["currency"]),
        )

    def void(self, reference: str) -> Result:
        try:
            intent = self._call(
                self._client().v1.payment_intents.cancel,
                reference,
                {},
                {"idempotency_key": f"void:{reference}"},
            )
        except stripe.InvalidRequestError:
            refused = self._refused(reference)
            if refused.code == "authorization_voided":  # voided before: that is what we want
                return Result(approved=True, reference=reference)
            return refused
        return Result(approved=intent["status"] == "canceled", reference=reference)

    def lookup(self, idempotency_key: str) -> Lookup | None:
        found = self._call(
            self._client().v1.payment_intents.search,
            {"query": f"metadata['{KEY_FIELD}']:'{idempotency_key}'", "limit": 1},
        )
        if not found["data"]:
            return None
        return self._lookup_of(found["data"][0])

    def _lookup_of(self, intent) -> Lookup:
        status = intent["status"]
        reference = intent["id"]
        if status == "requires_action":
            return Lookup(
                status=GatewayStatus.ACTION_REQUIRED,
                reference=reference,
                next_action_url=_next_action_url(intent),
                client_secret=intent.get("client_secret") or "",
            )
        if status == "requires_capture":
            return Lookup(status=GatewayStatus.AUTHORIZED, reference=reference)
        if status == "succeeded":
            currency = intent["currency"]
            refunds = self._call(
                lambda: list(
                    self._client()
                    .v1.refunds.list({"payment_intent": reference, "limit": 100})
                    .auto_paging_iter()
                )
            )
            refunded = sum(
                (
                    from_minor(r["amount"], currency)
                    for r in refunds
                    if r["status"] in ("succeeded", "pending")
                ),
                Decimal("0.00"),
            )
            return Lookup(
                status=GatewayStatus.CAPTURED,
                reference=reference,
                captured_amount=from_minor(intent.get("amount_received", 0), currency),
                refunded_amount=refunded,
            )
        if status == "canceled" and not intent.get("last_payment_error"):
            return Lookup(status=GatewayStatus.VOIDED, reference=reference)
        if status == "processing":
            raise GatewayTransientError("Stripe is still processing the payment.")
        # requires_payment_method (declined, or authentication failed), or cancelled after it.
        code = _failure_code(intent)
        return Lookup(status=GatewayStatus.DECLINED, reference=reference, code=code)

    def records(self, *, since: datetime, until: datetime) -> list[Record]:
        """The PaymentIntents created in [since, until), with their refunds."""
        # Stripe counts in whole seconds: the period's last, partial second is included.
        period = {"gte": math.floor(since.timestamp()), "lt": math.ceil(until.timestamp())}
        intents = self._call(
            lambda: list(
                self._client()
                .v1.payment_intents.list({"created": period, "limit": 100})
                .auto_paging_iter()
            )
        )
        return [
            Record(
                idempotency_key=(intent.get("metadata") or {}).get(KEY_FIELD, ""),
                lookup=self._lookup_of(intent),
            )
            for intent in intents
        ]
