"""Invoices and credit notes: gap-free numbers, issued in the transaction that pays or cancels.

A paid order gets an invoice numbered ``<year>-<six digits>`` from the invoice series of the year
it was issued in; an order cancelled after payment gets a credit note ``CN-<year>-<six digits>``
from the credit notes' own series, mirroring its invoice with every amount negated.

**Gap-free and unique.** Each series (kind, year) is one ``InvoiceSequence`` row. Taking a number
locks that row (``select_for_update``, with a bounded wait) until the transaction commits, so
numbers are handed out one after the other; a transaction that rolls back (the payment's, the
cancel's) gives its number back with everything else, and the next one takes it. The caller
issues the document last in its transaction, so the series is held for as short a time as can be.

**Once.** One invoice and one credit note per order (unique constraints); issuing again returns
the document that exists. The order's row lock, held by the callers, serialises two attempts.
"""

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.utils import timezone

from orders.models import Invoice, InvoiceKind, InvoiceSequence, Order, Return
from shop.db import atomic_bounded

ZERO = Decimal("0.00")
PREFIX = {InvoiceKind.INVOICE: "", InvoiceKind.CREDIT_NOTE: "CN-"}


def invoice_number_format(*, kind: str, year: int, sequence: int) -> str:
    return f"{PREFIX[kind]}{year}-{sequence:06d}"


def _sequence_next(kind: str) -> tuple[int, int, datetime]:
    """Take the next number of ``kind``'s series for the current year: (year, sequence, the
    time of issue). Numbers and times of issue rise together.

    Must run inside a transaction; the series stays locked until that transaction ends. The
    number is taken and the row locked by one statement (``UPDATE ... RETURNING``)."""
    table = InvoiceSequence._meta.db_table
    with connection.cursor() as cursor:
        while True:
            year = timezone.localtime().year
            cursor.execute(
                f'UPDATE {table} SET "last" = "last" + 1 WHERE "kind" = %s AND "year" = %s'
                ' RETURNING "last"',
                [kind, year],
            )
            row = cursor.fetchone()
            if row is None:
                # The year's first number: create its row. A concurrent creator makes this wait
                # for its commit and then do nothing (ON CONFLICT DO NOTHING / INSERT OR IGNORE).
                InvoiceSequence.objects.bulk_create(
                    [InvoiceSequence(kind=kind, year=year)], ignore_conflicts=True
                )
                continue
            # Waiting for the lock may have carried us past midnight on New Year's Eve: the
            # number belongs to the year the document is issued in, and this one goes back
            # (the row is still locked by this transaction: nobody took the next).
            issued_at = timezone.now()
            if timezone.localtime(issued_at).year == year:
                return year, row[0], issued_at
            cursor.execute(
                f'UPDATE {table} SET "last" = "last" - 1 WHERE "kind" = %s AND "year" = %s',
                [kind, year],
            )


def _invoice_lines(order: Order) -> list[dict]:
    lines = []
    for line in order.lines.all():
        gross = line.line_total - line.discount
        lines.append(
            {
                "name": line.product_name,
                "sku": line.sku,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "line_total": line.line_total,
                "discount": line.discount,
                "tax_rate": line.tax_rate,
                "tax_amount": line.tax_amount,
                "gross": gross,
                "net": gross - line.tax_amount,
            }
        )
    if order.shipping_method or order.shipping:
        method = f" ({order.shipping_method})" if order.shipping_method else ""
        lines.append(
            {
                "name": f"Shipping{method}",
                "sku": "",
                "quantity": 1,
                "unit_price": order.shipping,
                "line_total": order.shipping,
                "discount": ZERO,
                "tax_rate": order.shipping_tax_rate,
                "tax_amount": order.shipping_tax,
                "gross": order.shipping,
                "net": order.shipping - order.shipping_tax,
            }
        )
    return lines


def _taxes(lines: list[dict]) -> list[dict]:
    """Net, tax and gross per VAT rate, highest rate first."""
    by_rate: dict[Decimal, dict] = {}
    for line in lines:
        rate = Decimal(line["tax_rate"])
        row = by_rate.setdefault(rate, {"net": ZERO, "tax": ZERO, "gross": ZERO})
        row["net"] += line["net"]
        row["tax"] += line["tax_amount"]
        row["gross"] += line["gross"]
    return [{"rate": rate, **by_rate[rate]} for rate in sorted(by_rate, reverse=True)]


def _as_strings(rows: list[dict]) -> list[dict]:
    return [
        {key: str(value) if isinstance(value, Decimal) else value for key, value in row.items()}
        for row in rows
    ]


def _negated(rows: list[dict], amounts: tuple[str, ...]) -> list[dict]:
    return [
        {key: str(ZERO - Decimal(value)) if key in amounts else value for key, value in row.items()}
        for row in rows
    ]


def _seller() -> dict:
    return {
        "name": settings.SHOP_NAME,
        "address": list(settings.SHOP_SELLER_ADDRESS),
        "vat_id": settings.SHOP_VAT_ID,
    }


def _issue(*, order: Order, kind: str, fields: dict) -> Invoice:
    year, sequence, issued_at = _sequence_next(kind)
    document = Invoice(
        kind=kind,
        number=invoice_number_format(kind=kind, year=year, sequence=sequence),
        year=year,
        sequence=sequence,
        order=order,
        issued_at=issued_at,
        currency=order.currency,
        **fields,
    )
    # The database holds the constraints (one per order and kind, numbers used once) and the
    # foreign keys (the order is locked by the caller).
    document.full_clean(
        exclude=["order", "credits", "return_request"],
        validate_unique=False,
        validate_constraints=False,
    )
    document.save()
    return document


def invoice_issue(*, order_id: int, locked: Order | None = None, new: bool = False) -> Invoice:
    """Issue the invoice of a paid order (in the transaction that paid it, last). Idempotent:
    an order that has an invoice keeps it.

    ``locked``: the order, locked by the caller's transaction (the one that paid it), which
    then is this one too (no savepoint, no second lock). ``new``: that transaction paid it, so
    it has no invoice yet (both are written in one transaction) and none is looked for; the
    unique constraint would refuse a second."""
    if locked is not None:
        return _invoice_issue(locked, new=new)
    with atomic_bounded():
        return _invoice_issue(Order.objects.select_for_update().get(pk=order_id))


def _invoice_issue(order: Order, *, new: bool = False) -> Invoice:
    if not new:
        existing = Invoice.objects.filter(order=order, kind=InvoiceKind.INVOICE).first()
        if existing is not None:
            return existing
    if order.paid_at is None:
        raise ValueError(f"Order {order.number} is not paid: it has no invoice yet.")
    lines = _invoice_lines(order)
    taxes = _taxes(lines)
    tax = sum((row["tax"] for row in taxes), ZERO)
    return _issue(
        order=order,
        kind=InvoiceKind.INVOICE,
        fields={
            "seller": _seller(),
            "buyer": order.shipping_address,
            "lines": _as_strings(lines),
            "taxes": _as_strings(taxes),
            "discount": order.discount,
            "gross": order.total,
            "tax": tax,
            "net": order.total - tax,
        },
    )


LINE_AMOUNTS = ("unit_price", "line_total", "discount", "tax_amount", "gross", "net")
TAX_AMOUNTS = ("net", "tax", "gross")


def credit_note_issue(*, order_id: int) -> Invoice | None:
    """Issue the credit note that cancels a paid order's invoice (in the cancel's transaction):
    its lines, taxes per rate and totals are the invoice's, negated. Idempotent; None for an
    order that has no invoice (never paid)."""
    with atomic_bounded():
        order = Order.objects.select_for_update().get(pk=order_id)
        invoice = Invoice.objects.filter(order=order, kind=InvoiceKind.INVOICE).first()
        if invoice is None:
            return None
        existing = Invoice.objects.filter(
            order=order, kind=InvoiceKind.CREDIT_NOTE, return_request__isnull=True
        ).first()
        if existing is not None:
            return existing
        return _issue(
            order=order,
            kind=InvoiceKind.CREDIT_NOTE,
            fields={
                "credits": invoice,
                "seller": invoice.seller,
                "buyer": invoice.buyer,
                "lines": _negated(invoice.lines, LINE_AMOUNTS),
                "taxes": _negated(invoice.taxes, TAX_AMOUNTS),
                "discount": ZERO - invoice.discount,
                "gross": ZERO - invoice.gross,
                "tax": ZERO - invoice.tax,
                "net": ZERO - invoice.net,
            },
        )


def credit_note_issue_for_return(*, return_id: int) -> Invoice | None:
    """Issue the credit note of a received return (in the transaction that receives it, last):
    the returned units of each line with what they give back and its VAT, negated, and the VAT
    per rate. Idempotent; None when the order has no invoice or the return gives back nothing."""
    with atomic_bounded():
        returned = Return.objects.select_for_update().get(pk=return_id)
        existing = Invoice.objects.filter(return_request=returned).first()
        if existing is not None:
            return existing
        order = returned.order
        invoice = Invoice.objects.filter(
            order_id=returned.order_id, kind=InvoiceKind.INVOICE
        ).first()
        if invoice is None or returned.refund_amount <= 0:
            return None
        lines = []
        for row in returned.lines.select_related("order_line"):
            line = row.order_line
            line_total = line.unit_price * row.quantity
            lines.append(
                {
                    "name": line.product_name,
                    "sku": line.sku,
                    "quantity": row.quantity,
                    "unit_price": line.unit_price,
                    "line_total": line_total,
                    "discount": line_total - row.refund_amount,
                    "tax_rate": line.tax_rate,
                    "tax_amount": row.tax_amount,
                    "gross": row.refund_amount,
                    "net": row.refund_amount - row.tax_amount,
                }
            )
        taxes = _taxes(lines)
        gross = sum((line["gross"] for line in lines), ZERO)
        tax = sum((row["tax"] for row in taxes), ZERO)
        discount = sum((line["discount"] for line in lines), ZERO)
        return _issue(
            order=order,
            kind=InvoiceKind.CREDIT_NOTE,
            fields={
                "credits": invoice,
                "return_request": returned,
                "seller": invoice.seller,
                "buyer": invoice.buyer,
                "lines": _negated(_as_strings(lines), LINE_AMOUNTS),
                "taxes": _negated(_as_strings(taxes), TAX_AMOUNTS),
                "discount": ZERO - discount,
                "gross": ZERO - gross,
                "tax": ZERO - tax,
                "net": ZERO - (gross - tax),
            },
        )
