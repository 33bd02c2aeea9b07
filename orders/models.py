"""Orders: the order state machine, its lines (prices snapshotted at placement) and audit trail."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.db.models.lookups import Exact
from django_fsm import FSMField, FSMModelMixin, transition

from shop.fields import EncryptedJSONField


class OrderStatus(models.TextChoices):
    CREATED = "created", "Created"
    CONFIRMED = "confirmed", "Confirmed"
    PROCESSING = "processing", "Processing"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"


CANCELLABLE = [OrderStatus.CREATED, OrderStatus.CONFIRMED, OrderStatus.PROCESSING]


class Order(FSMModelMixin, models.Model):
    number = models.CharField(max_length=32, unique=True)
    # None for a guest's order (placed with an e-mail address and no account) until the owner of
    # that address verifies it on an account (customers.services claims the order then).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
    )
    status = FSMField(
        default=OrderStatus.CREATED, choices=OrderStatus.choices, protected=True, db_index=True
    )
    email = models.EmailField(blank=True)
    # Personal data: name, address lines, city, postal code, country, phone (encrypted).
    shipping_address = EncryptedJSONField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    # Price snapshots from pricing.services.basket_price, taken at placement, never changed:
    # total = subtotal - discount + shipping; every amount is gross (VAT included).
    subtotal = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    discount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    shipping = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    shipping_method = models.CharField(max_length=30, blank=True)
    shipping_tax_rate = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0"))
    shipping_tax = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    tax_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    # [{"rate": "0.19", "amount": "3.99"}, ...]: the VAT of lines and shipping, per rate.
    tax_breakdown = models.JSONField(default=list, blank=True)
    voucher = models.CharField(max_length=40, blank=True, help_text="The voucher code used.")
    total = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    # Set when the payment was captured and the stock committed: the order can ship.
    paid_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gt=0), name="orders_order_total_positive"),
            # In whole cents: SQLite computes in binary floating point, where 47.40 - 4.74 +
            # 4.90 is 47.559999..., so an exact comparison refused orders that add up.
            models.CheckConstraint(
                condition=Exact(
                    Round(F("total") * 100),
                    Round((F("subtotal") - F("discount") + F("shipping")) * 100),
                ),
                name="orders_order_total_adds_up",
            ),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="orders_user_created")]

    def __str__(self) -> str:
        return self.number

    # --- transitions: they change the field only; orders.services saves and audits ---------
    @transition(field=status, source=OrderStatus.CREATED, target=OrderStatus.CONFIRMED)
    def confirm(self):
        pass

    @transition(field=status, source=OrderStatus.CONFIRMED, target=OrderStatus.PROCESSING)
    def start_processing(self):
        pass

    def is_paid(self) -> bool:
        return self.paid_at is not None

    @transition(
        field=status,
        source=OrderStatus.PROCESSING,
        target=OrderStatus.SHIPPED,
        conditions=[is_paid],
    )
    def ship(self):
        pass

    @transition(field=status, source=OrderStatus.SHIPPED, target=OrderStatus.DELIVERED)
    def deliver(self):
        pass

    @transition(field=status, source=CANCELLABLE, target=OrderStatus.CANCELLED)
    def cancel(self):
        pass


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    # Snapshots taken at placement: later catalog edits never change a placed order.
    product_name = models.CharField(max_length=200)
    sku = models.CharField(max_length=64)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    line_total = models.DecimalField(max_digits=12, decimal_places=2)
    # The line's share of the order's discounts, and the VAT in what it costs after them.
    discount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    tax_rate = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0"))
    tax_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orders_line_quantity_gte_1"),
            models.CheckConstraint(
                condition=Q(unit_price__gt=0), name="orders_line_price_positive"
            ),
            models.UniqueConstraint(fields=["order", "product"], name="orders_line_unique_product"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_name}"


class OrderEvent(models.Model):
    """One row per transition: the order's audit trail."""

    class Actor(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        STAFF = "staff", "Staff"
        SYSTEM = "system", "System"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    actor = models.CharField(max_length=10, choices=Actor.choices, default=Actor.SYSTEM)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=255, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status or '-'} -> {self.to_status}"


class Cart(models.Model):
    """A customer's cart, or an anonymous visitor's (by session), merged at login."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="cart",
    )
    session_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False) | Q(session_key__isnull=False),
                name="orders_cart_has_owner",
            ),
        ]

    def __str__(self) -> str:
        return f"cart of {self.user or self.session_key}"


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "product"], name="orders_cartitem_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orders_cartitem_qty_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id}"


class IdempotencyRecord(models.Model):
    """The first answer to a request sent with an Idempotency-Key, replayed for repeats."""

    # None for a guest's request: its key is then scoped by the visitor's session (see the
    # storefront's checkout), and the second constraint keeps it once.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    # The first answer holds the shipping address and e-mail: encrypted like the order's.
    response_body = EncryptedJSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "scope", "key"], name="orders_idempotency_unique"
            ),
            models.UniqueConstraint(
                fields=["scope", "key"],
                condition=Q(user__isnull=True),
                name="orders_idempotency_unique_guest",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class OrderEmail(models.Model):
    """The outbox: one row per mail an order owes its customer, written in the transaction that
    makes the mail due. The unique key makes each mail due once; ``sent_at`` makes a repeated
    or redelivered task send it once."""

    class Kind(models.TextChoices):
        PLACED = "placed", "Order received"
        CONFIRMED = "confirmed", "Order confirmed"
        PAYMENT_FAILED = "payment_failed", "Payment failed"
        SHIPPED = "shipped", "Shipped"
        CANCELLED = "cancelled", "Cancelled"
        RETURN_REQUESTED = "return_requested", "Return requested"
        RETURN_APPROVED = "return_approved", "Return approved"
        RETURN_REJECTED = "return_rejected", "Return rejected"
        RETURN_REFUNDED = "return_refunded", "Return refunded"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    # The return a return mail is about (an order may have several returns).
    return_request = models.ForeignKey(
        "orders.Return", null=True, blank=True, on_delete=models.CASCADE, related_name="emails"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # A sender claims the mail before it talks to the mail server, so two never send it both.
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "kind"],
                condition=Q(return_request__isnull=True),
                name="orders_email_once_per_kind",
            ),
            models.UniqueConstraint(
                fields=["return_request", "kind"],
                condition=Q(return_request__isnull=False),
                name="orders_email_once_per_return_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} mail of order {self.order_id}"


class ReconciliationIssue(models.Model):
    """A difference between the shop's records and the gateway's that the reconciliation found:
    repaired (``fixed``) where the right state was certain, or left open for staff."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        FIXED = "fixed", "Fixed automatically"
        RESOLVED = "resolved", "Resolved by staff"

    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.CASCADE, related_name="reconciliation"
    )
    payment = models.ForeignKey(
        "payments.Payment", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=40)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    message = models.CharField(max_length=255)
    details = models.JSONField(default=dict, blank=True)
    found_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-found_at", "-id"]
        constraints = [
            # One open issue per kind and payment: a nightly run finding it again updates it.
            models.UniqueConstraint(
                fields=["payment", "kind"],
                condition=Q(status="open"),
                name="orders_reconciliation_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.status}): {self.message}"


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


class InvoiceSequence(models.Model):
    """The last number given out in one gap-free series (a kind of document, a year).

    The row is locked (``select_for_update``) by the transaction that takes the next number and
    held until it commits: numbers are handed out one at a time, and a transaction that rolls
    back gives its number back with everything else it did."""

    kind = models.CharField(max_length=20, choices=InvoiceKind.choices)
    year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "year"], name="orders_invoice_sequence_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.year}: {self.last}"


class Invoice(models.Model):
    """An invoice, or the credit note that cancels one: a snapshot that never changes.

    Every amount is the order's as it was paid; a credit note mirrors its invoice with the
    amounts negated. ``lines`` and ``taxes`` hold decimal strings:
    lines ``[{"name", "sku", "quantity", "unit_price", "line_total", "discount", "tax_rate",
    "tax_amount", "net", "gross"}]`` (the shipping is a line of its own, with an empty sku),
    taxes ``[{"rate", "net", "tax", "gross"}]``, one per VAT rate, highest first."""

    Kind = InvoiceKind

    kind = models.CharField(max_length=20, choices=InvoiceKind.choices)
    number = models.CharField(max_length=32, unique=True)
    year = models.PositiveIntegerField()
    sequence = models.PositiveIntegerField()
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="invoices")
    # A credit note cancels this invoice, all of it (a cancel) or the lines of one return.
    credits = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes"
    )
    return_request = models.OneToOneField(
        "orders.Return",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_note",
        help_text="The return whose lines this credit note gives back.",
    )
    issued_at = models.DateTimeField()
    # {"name", "address", "vat_id"}: the shop as it was named when the document was issued.
    seller = models.JSONField()
    # The shipping address: personal data, encrypted like the order's.
    buyer = EncryptedJSONField(null=True, blank=True)
    lines = models.JSONField()
    taxes = models.JSONField()
    discount = models.DecimalField(max_digits=12, decimal_places=2)
    net = models.DecimalField(max_digits=12, decimal_places=2)
    tax = models.DecimalField(max_digits=12, decimal_places=2)
    gross = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "kind"],
                condition=Q(return_request__isnull=True),
                name="orders_invoice_one_per_kind",
            ),
            models.UniqueConstraint(
                fields=["kind", "year", "sequence"], name="orders_invoice_sequence_used_once"
            ),
            models.CheckConstraint(
                condition=(Q(kind=InvoiceKind.INVOICE, gross__gt=0, credits__isnull=True))
                | Q(kind=InvoiceKind.CREDIT_NOTE, gross__lt=0, credits__isnull=False),
                name="orders_invoice_kind_sign",
            ),
            models.CheckConstraint(
                condition=Q(return_request__isnull=True) | Q(kind=InvoiceKind.CREDIT_NOTE),
                name="orders_invoice_return_is_credit_note",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def filename(self) -> str:
        label = "credit-note" if self.kind == InvoiceKind.CREDIT_NOTE else "invoice"
        return f"{label}-{self.number}.pdf"


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    RECEIVED = "received", "Received, refund under way"
    REFUNDED = "refunded", "Refunded"
    REJECTED = "rejected", "Rejected"


class Return(FSMModelMixin, models.Model):
    """A customer's request to send back units of a delivered order's lines.

    requested -> approved -> received (restocked, refund recorded, credit note issued) ->
    refunded (the gateway confirmed the refund); requested or approved -> rejected. Staff may
    receive a requested return directly (the goods arrived before anyone approved it)."""

    Status = ReturnStatus

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    status = FSMField(
        default=ReturnStatus.REQUESTED,
        choices=ReturnStatus.choices,
        protected=True,
        db_index=True,
    )
    reason = models.CharField(max_length=255)
    # What the lines give back, VAT included: estimated at the request, fixed when received.
    refund_amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    refund = models.OneToOneField(
        "payments.Refund",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="return_request",
    )
    staff_note = models.CharField(max_length=255, blank=True, help_text="E.g. why it was refused.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    received_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(refund_amount__gte=0), name="orders_return_refund_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"Return {self.pk} of order {self.order_id} ({self.status})"

    # --- transitions: they change the field only; orders.services.returns saves and audits --
    @transition(field=status, source=ReturnStatus.REQUESTED, target=ReturnStatus.APPROVED)
    def approve(self):
        pass

    @transition(
        field=status,
        source=[ReturnStatus.REQUESTED, ReturnStatus.APPROVED],
        target=ReturnStatus.RECEIVED,
    )
    def receive(self):
        pass

    @transition(field=status, source=ReturnStatus.RECEIVED, target=ReturnStatus.REFUNDED)
    def settle(self):
        pass

    @transition(
        field=status,
        source=[ReturnStatus.REQUESTED, ReturnStatus.APPROVED],
        target=ReturnStatus.REJECTED,
    )
    def reject(self):
        pass


class ReturnLine(models.Model):
    """Units of one order line in a return, with what they give back (VAT included)."""

    return_request = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="return_lines")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    refund_amount = models.DecimalField(max_digits=12, decimal_places=2)
    tax_amount = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="orders_returnline_quantity_gte_1"
            ),
            models.UniqueConstraint(
                fields=["return_request", "order_line"], name="orders_returnline_unique_line"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x line {self.order_line_id}"
