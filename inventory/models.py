"""Stock levels. Invariant: 0 <= reserved <= quantity, enforced by the database itself."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class StockItem(models.Model):
    product = models.OneToOneField(
        "catalog.Product", on_delete=models.CASCADE, primary_key=True, related_name="stock"
    )
    quantity = models.PositiveIntegerField(default=0, help_text="Units in the warehouse.")
    reserved = models.PositiveIntegerField(
        default=0, help_text="Units promised to orders that are not yet shipped."
    )
    reorder_point = models.PositiveIntegerField(
        default=5, help_text="A reorder request is raised when available stock falls to this."
    )
    reorder_quantity = models.PositiveIntegerField(default=20, help_text="Units to reorder.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product_id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="inventory_quantity_gte_0"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="inventory_reserved_gte_0"),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("quantity")), name="inventory_reserved_lte_quantity"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.available} available"

    @property
    def available(self) -> int:
        return self.quantity - self.reserved


class Reservation(models.Model):
    """Units of one product promised to one order until ``expires_at``.

    Only an active reservation holds stock (``StockItem.reserved``). It ends exactly once: in a
    sale (committed), handed back by the order (released) or by the sweeper (expired). A sale
    whose order is cancelled before it ships puts its units back on the shelf (returned)."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        COMMITTED = "committed", "Committed"
        RELEASED = "released", "Released"
        EXPIRED = "expired", "Expired"
        RETURNED = "returned", "Returned to stock"

    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="reservations"
    )
    quantity = models.PositiveIntegerField()
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="reservations")
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order_id", "product_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="inventory_reservation_quantity_gte_1"
            ),
        ]
        indexes = [
            # The sweeper's query: active reservations past their expiry.
            models.Index(
                fields=["expires_at"],
                condition=Q(state="active"),
                name="inventory_res_active_expiry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id} for order {self.order_id} ({self.state})"


class StockMovement(models.Model):
    """The stock ledger: one row per change of a StockItem, so the sums equal the levels.

    ``delta`` is the change of ``quantity``, ``reserved_delta`` the change of ``reserved``."""

    class Kind(models.TextChoices):
        RESTOCK = "restock", "Restock"
        REMOVAL = "removal", "Removal"
        ADJUSTMENT = "adjustment", "Adjustment"
        RESERVATION = "reservation", "Reservation"
        RELEASE = "release", "Release"
        SALE = "sale", "Sale"
        EXPIRY = "expiry", "Expiry"
        REORDER_RECEIVED = "reorder_received", "Reorder received"

    product = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE, related_name="stock_movements"
    )
    delta = models.IntegerField(default=0)
    reserved_delta = models.IntegerField(default=0)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    reason = models.CharField(max_length=255, blank=True)
    reference = models.CharField(max_length=64, blank=True, help_text="E.g. an order number.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["product", "-at"], name="inventory_movement_product")]

    def __str__(self) -> str:
        return f"{self.product_id} {self.kind}: {self.delta:+d} / reserved {self.reserved_delta:+d}"


class ReorderRequest(models.Model):
    """Raised when available stock falls to the reorder point; at most one open per product."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ORDERED = "ordered", "Ordered"
        RECEIVED = "received", "Received"

    PENDING = (Status.OPEN, Status.ORDERED)

    product = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE, related_name="reorder_requests"
    )
    quantity = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product"],
                condition=Q(status__in=["open", "ordered"]),
                name="inventory_one_pending_reorder_per_product",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="inventory_reorder_quantity_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return f"Reorder {self.quantity} x {self.product_id} ({self.status})"
