"""Stock levels. Invariant: 0 <= reserved <= quantity, enforced by the database itself."""

from django.db import models
from django.db.models import F, Q


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
