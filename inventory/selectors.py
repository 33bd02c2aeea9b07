"""Read queries of the inventory."""

from django.db.models import F, QuerySet, Sum

from inventory.models import ReorderRequest, Reservation, StockItem, StockMovement


def stock_list() -> QuerySet[StockItem]:
    return StockItem.objects.select_related("product").order_by("product_id")


def stock_for(product_id: int) -> StockItem | None:
    return stock_list().filter(pk=product_id).first()


def stock_available(product_id: int) -> int:
    item = StockItem.objects.filter(pk=product_id).only("quantity", "reserved").first()
    return item.available if item else 0


def low_stock(limit: int = 50) -> list[StockItem]:
    """Stock at or below its reorder point, emptiest first."""
    return list(
        stock_list()
        .annotate(available_units=F("quantity") - F("reserved"))
        .filter(available_units__lte=F("reorder_point"))
        .order_by("available_units", "product_id")[:limit]
    )


def reorder_list(*, status: str | None = None) -> QuerySet[ReorderRequest]:
    qs = ReorderRequest.objects.select_related("product")
    return qs.filter(status=status) if status else qs


def reservations_of(order) -> QuerySet[Reservation]:
    return Reservation.objects.filter(order=order).select_related("product")


def movements_for(product_id: int) -> QuerySet[StockMovement]:
    return StockMovement.objects.filter(product_id=product_id).select_related("actor")


def ledger_totals(product_id: int) -> tuple[int, int]:
    """(quantity, reserved) as the ledger sums them; equal to the stock record's levels."""
    totals = StockMovement.objects.filter(product_id=product_id).aggregate(
        quantity=Sum("delta"), reserved=Sum("reserved_delta")
    )
    return totals["quantity"] or 0, totals["reserved"] or 0
