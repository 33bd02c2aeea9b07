"""What the orders app does when a customer erases the account.

The orders stay, with what accounting needs (numbers, lines, totals, tax, invoices and credit
notes), while whatever names or finds the person is replaced: the e-mail address is emptied,
the shipping address and the invoices' buyer keep only the country (it decided the VAT). The
customer's cart and the answers kept for Idempotency-Key replays are deleted."""

from django.db import transaction

from orders.models import Cart, IdempotencyRecord, Invoice, Order, OrderStatus

# Stands where a name, street or city was.
ERASED = "erased"
# An order in one of these states is still on its way: its address is still needed.
OPEN_STATUSES = (
    OrderStatus.CREATED,
    OrderStatus.CONFIRMED,
    OrderStatus.PROCESSING,
    OrderStatus.SHIPPED,
)


def erased_address(address: dict | None) -> dict | None:
    """The shape of an address with only its country left."""
    if not address:
        return address
    return {
        "name": ERASED,
        "line1": ERASED,
        "line2": "",
        "city": ERASED,
        "postal_code": "",
        "country": address.get("country", ""),
        "phone": "",
    }


def customer_has_open_orders(*, user) -> bool:
    return Order.objects.filter(user=user, status__in=OPEN_STATUSES).exists()


@transaction.atomic
def customer_orders_anonymise(*, user) -> int:
    """Replace the personal data of every order (and its invoices) of ``user``; delete the
    cart and the idempotency records. Returns how many orders were anonymised."""
    orders = list(Order.objects.select_for_update().filter(user=user).order_by("pk"))
    for order in orders:
        order.email = ""
        order.shipping_address = erased_address(order.shipping_address)
        order.save(update_fields=["email", "shipping_address", "updated_at"])
    invoices = Invoice.objects.select_for_update().filter(order__user=user).order_by("pk")
    for invoice in invoices:
        invoice.buyer = erased_address(invoice.buyer)
        invoice.save(update_fields=["buyer"])
    IdempotencyRecord.objects.filter(user=user).delete()
    Cart.objects.filter(user=user).delete()
    return len(orders)
