"""Read queries for carts and orders."""

from decimal import Decimal

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from catalog.selectors import product_available_quantity
from orders.models import (
    Cart,
    Invoice,
    InvoiceKind,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Return,
    ReturnLine,
)
from payments.models import Payment


def cart_lines(cart: Cart | None) -> list[dict]:
    """Each line with the product's current price and a line total, in Decimal."""
    if cart is None or cart.pk is None:
        return []
    lines = []
    for item in cart.items.select_related("product", "product__category", "product__stock"):
        unit_price = item.product.price
        lines.append(
            {
                "item": item,
                "product": item.product,
                "quantity": item.quantity,
                "unit_price": unit_price,
                "line_total": unit_price * item.quantity,
                "available": product_available_quantity(item.product),
            }
        )
    return lines


def cart_total(lines: list[dict]) -> Decimal:
    return sum((line["line_total"] for line in lines), Decimal("0.00"))


def cart_count(cart: Cart | None) -> int:
    if cart is None:
        return 0
    return sum(cart.items.values_list("quantity", flat=True))


def customer_has_bought(*, user, product) -> bool:
    """Whether ``user`` bought ``product`` and kept it: a line of an order that was paid
    (``paid_at``), is not cancelled, and whose latest payment is completed (so not refunded,
    failed or still open). Reviews and ratings are for such customers only."""
    if not getattr(user, "is_authenticated", False):
        return False
    latest_payment_status = (
        Payment.objects.filter(order=OuterRef("order")).order_by("-id").values("status")[:1]
    )
    return (
        OrderLine.objects.filter(order__user=user, product=product, order__paid_at__isnull=False)
        .exclude(order__status=OrderStatus.CANCELLED)
        .annotate(latest_payment_status=Subquery(latest_payment_status))
        .filter(latest_payment_status=Payment.Status.COMPLETED)
        .exists()
    )


def order_list(*, user=None, status: str | None = None) -> QuerySet[Order]:
    """Orders with lines prefetched. ``user=None`` means every customer's (staff)."""
    qs = Order.objects.select_related("user").prefetch_related("lines", "payments")
    if user is not None:
        qs = qs.filter(user=user)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def order_detail_queryset() -> QuerySet[Order]:
    return Order.objects.select_related("user").prefetch_related(
        "lines",
        "payments",
        Prefetch("events", queryset=OrderEvent.objects.select_related("user").order_by("at", "id")),
    )


def order_with_relations(order: Order, *, lines: list, payments: list, events: list) -> Order:
    """``order`` with its lines, payments and events as ``order_detail_queryset`` prefetches
    them, from objects the caller holds (an order it has just written), without a query.

    Filled in as ``prefetch_related`` fills its cache: each relation's queryset with its
    results already there (``all()`` serves them; any other query reads the database)."""
    cache = {}
    for name, objects in (("lines", lines), ("payments", payments), ("events", events)):
        queryset = getattr(order, name).get_queryset()
        queryset._result_cache, queryset._prefetch_done = list(objects), True
        cache[name] = queryset
    order._prefetched_objects_cache = cache
    return order


def order_for_customer(*, user, **lookup) -> Order | None:
    """An order of this customer (or any order for staff); None for anyone else's."""
    qs = order_detail_queryset()
    if not user.is_staff:
        qs = qs.filter(user=user)
    return qs.filter(**lookup).first()


def order_latest_payment(order: Order):
    payments = sorted(order.payments.all(), key=lambda p: p.id)
    return payments[-1] if payments else None


def order_invoice(order: Order, *, kind: str = InvoiceKind.INVOICE) -> Invoice | None:
    """The order's invoice, or its credit note; None while it has none (or for an unknown
    kind)."""
    if kind not in InvoiceKind.values:
        return None
    documents = Invoice.objects.select_related("order", "credits").filter(order=order, kind=kind)
    # An order's credit note is the one that cancels it; those of returns are the returns'.
    return documents.filter(return_request__isnull=True).first()


def order_invoices(order: Order) -> dict[str, Invoice]:
    """The order's documents by kind (``invoice``, ``credit_note``), those it has."""
    documents = Invoice.objects.filter(order=order, return_request__isnull=True)
    return {document.kind: document for document in documents}


def return_queryset() -> QuerySet[Return]:
    return Return.objects.select_related("order", "credit_note").prefetch_related(
        Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line"))
    )


def return_list(*, user=None, status: str | None = None) -> QuerySet[Return]:
    """Returns with their lines; ``user=None`` means every customer's (staff)."""
    qs = return_queryset()
    if user is not None:
        qs = qs.filter(order__user=user)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def order_returns(order: Order) -> list[Return]:
    """The order's returns, newest first, with their lines and credit notes."""
    return list(return_queryset().filter(order=order).order_by("-created_at", "-id"))


def return_credit_note(*, user, order_number: str, return_id: int) -> Invoice | None:
    """The credit note of a return of this customer's order (any order's for staff)."""
    qs = Invoice.objects.select_related("order", "credits").filter(
        return_request_id=return_id, order__number=order_number
    )
    if not user.is_staff:
        qs = qs.filter(order__user=user)
    return qs.first()
