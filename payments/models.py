"""Payments: a state machine per payment, its audit trail, refunds, and the test gateway's table.

States: pending -> processing -> authorized -> completed; any unfinished state -> failed;
processing -> action_required -> authorized (or failed) when the card needs the customer's own
authentication (3-D Secure) before the gateway authorizes it;
completed -> refunded once the whole captured amount is refunded (partial refunds are Refund
rows and the payment stays completed). An authorization given back without a capture (a void)
ends in ``failed`` with failure_code "voided": every payment ends in completed, failed or
refunded, the three end states clients know.

A gateway call whose answer never came changes no state: the payment stays where it was (a
sent authorization in ``processing``, a sent capture in ``authorized`` with
``capture_requested_at`` set) until the gateway's own records say what happened.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django_fsm import FSMField, FSMModelMixin, transition

from shop.fields import EncryptedTextField

ZERO = Decimal("0.00")


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


class Payment(FSMModelMixin, models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        ACTION_REQUIRED = "action_required", "Action required"
        AUTHORIZED = "authorized", "Authorized"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        REFUNDED = "refunded", "Refunded"

    UNFINISHED = (Status.PENDING, Status.PROCESSING, Status.ACTION_REQUIRED, Status.AUTHORIZED)
    # The states version 1 of the API knows (its clients refuse an unknown one): a payment
    # waiting for its holder (action_required) reads "processing" there, with a next_action.
    API_V1_STATUSES = list(filter(Status.ACTION_REQUIRED.__ne__, Status.values))
    TERMINAL = (Status.COMPLETED, Status.FAILED, Status.REFUNDED)

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    currency = models.CharField(
        max_length=3, validators=[RegexValidator(r"^[A-Z]{3}$", "An ISO 4217 code, e.g. EUR.")]
    )
    method = models.CharField(max_length=20, default="card")
    status = FSMField(default=Status.PENDING, choices=Status.choices, protected=True, db_index=True)
    # The gateway's token for the card: encrypted at rest. No card number is ever stored.
    token_reference = EncryptedTextField(blank=True)
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(
        max_length=4, blank=True, validators=[RegexValidator(r"^\d{4}$", "Four digits.")]
    )
    gateway_reference = models.CharField(max_length=64, blank=True)
    # What the customer must do before the gateway authorizes (3-D Secure): the provider's
    # page to send them to, and the secret its browser script needs. Encrypted: either one
    # lets whoever holds it act on the payment.
    next_action_url = EncryptedTextField(blank=True)
    client_secret = EncryptedTextField(blank=True)
    action_requested_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=64, unique=True, default=new_idempotency_key)
    failure_code = models.CharField(max_length=40, blank=True)
    failure_message = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Gateway calls made.")
    captured_amount = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    refunded_amount = models.DecimalField(
        max_digits=12, decimal_places=2, default=ZERO, help_text="Refunds the gateway confirmed."
    )
    # Intents, recorded before the gateway is asked, so an unanswered call is looked up later.
    capture_requested_at = models.DateTimeField(null=True, blank=True)
    give_back_requested_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The order will not take this money: void the authorization or refund it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_amount_positive"),
            models.CheckConstraint(
                condition=Q(captured_amount__gte=0) & Q(captured_amount__lte=F("amount")),
                name="payments_captured_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("captured_amount")),
                name="payments_refunded_within_captured",
            ),
        ]

    def __str__(self) -> str:
        return f"Payment {self.pk} of {self.amount} {self.currency} ({self.status})"

    @property
    def refundable_amount(self) -> Decimal:
        return self.captured_amount - self.refunded_amount

    def is_fully_refunded(self) -> bool:
        return self.captured_amount > 0 and self.refunded_amount >= self.captured_amount

    # --- transitions: they change the field only; payments.services saves and audits -------
    @transition(field=status, source=Status.PENDING, target=Status.PROCESSING)
    def start(self):
        pass

    @transition(field=status, source=Status.PROCESSING, target=Status.ACTION_REQUIRED)
    def require_action(self):
        """The card needs the customer's authentication before it is authorized."""

    @transition(
        field=status, source=[Status.PROCESSING, Status.ACTION_REQUIRED], target=Status.AUTHORIZED
    )
    def authorize(self):
        pass

    @transition(field=status, source=Status.AUTHORIZED, target=Status.COMPLETED)
    def complete(self):
        pass

    @transition(field=status, source=list(UNFINISHED), target=Status.FAILED)
    def fail(self):
        pass

    @transition(field=status, source=Status.AUTHORIZED, target=Status.FAILED)
    def void(self):
        pass

    @transition(
        field=status,
        source=Status.COMPLETED,
        target=Status.REFUNDED,
        conditions=[is_fully_refunded],
    )
    def refund(self):
        pass

    @transition(field=status, source=Status.FAILED, target=Status.COMPLETED)
    def recover(self):
        """The gateway holds a capture of a payment the shop had recorded as failed."""


class PaymentEvent(models.Model):
    """Every transition and every gateway call of a payment."""

    class Kind(models.TextChoices):
        TRANSITION = "transition", "Transition"
        GATEWAY = "gateway", "Gateway call"
        REFUND = "refund", "Refund"

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    name = models.CharField(max_length=30, help_text="Transition or gateway operation.")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    result = models.CharField(max_length=20, blank=True)
    gateway_reference = models.CharField(max_length=64, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    message = models.CharField(max_length=255, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.payment_id} {self.kind} {self.name}: {self.result or self.to_status}"


class Refund(models.Model):
    """A refund is recorded (pending) before the gateway is asked, then settled by its answer."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    failure_code = models.CharField(max_length=40, blank=True)
    amount = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    reason = models.CharField(max_length=255, blank=True)
    gateway_reference = models.CharField(max_length=64, blank=True)
    idempotency_key = models.CharField(max_length=80, unique=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_refund_positive"),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} of payment {self.payment_id}"


class TestGatewayCharge(models.Model):
    """The test gateway's own records: the "remote side" of a card payment.

    Written outside the shop's transactions, so they survive its rollbacks and crashes as a real
    gateway's would, and make every operation idempotent by its key."""

    __test__ = False  # a model, not a test class

    class Operation(models.TextChoices):
        AUTHORIZE = "authorize", "Authorize"
        CAPTURE = "capture", "Capture"
        REFUND = "refund", "Refund"
        VOID = "void", "Void"

    idempotency_key = models.CharField(max_length=100, unique=True)
    operation = models.CharField(max_length=10, choices=Operation.choices)
    reference = models.CharField(max_length=64, db_index=True)
    parent_reference = models.CharField(max_length=64, blank=True, db_index=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    currency = models.CharField(max_length=3, blank=True)
    approved = models.BooleanField(default=False)
    code = models.CharField(max_length=40, blank=True)
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.operation} {self.reference}: {'approved' if self.approved else self.code}"


class StripeEvent(models.Model):
    """A webhook event from Stripe, stored once by its id (a replay finds it and does nothing)
    and processed by a task through the payment services."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        APPLIED = "applied", "Applied"
        IGNORED = "ignored", "Ignored"
        UNKNOWN_PAYMENT = "unknown_payment", "No such payment"

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    # The event as Stripe sent it: it may carry billing details, so it is encrypted.
    payload = EncryptedTextField()
    outcome = models.CharField(
        max_length=20, choices=Outcome.choices, default=Outcome.PENDING, db_index=True
    )
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["received_at", "id"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type} ({self.outcome})"
