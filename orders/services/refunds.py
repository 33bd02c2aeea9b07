"""What giving back some of an order's units returns to the customer, VAT included.

A unit of a line is refunded at its share of what the line cost after its discounts (never the
catalog price: a discounted line gives back what was paid), and the VAT in that share is the
same share of the line's VAT, at the line's rate. Shares are counted cumulatively, so refunding
a line's units in several goes adds up, to the cent, to what the line cost: units a+1 .. a+q of
a line of n units give back ``share(a + q) - share(a)``, where ``share(k)`` is k/n of the line,
rounded half-up. Shipping is not given back with goods. The amounts and the VAT per rate are
what a credit note for the returned units would show.
"""

from dataclasses import dataclass
from decimal import Decimal

from orders.exceptions import RefundLinesInvalid
from orders.models import Order, OrderLine
from pricing.services import money

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class RefundLine:
    line: OrderLine
    quantity: int
    gross: Decimal
    tax_rate: Decimal
    tax: Decimal

    @property
    def net(self) -> Decimal:
        return self.gross - self.tax


@dataclass(frozen=True)
class RefundQuote:
    currency: str
    lines: list[RefundLine]
    taxes: list[dict]  # [{"rate", "net", "tax", "gross"}], highest rate first
    gross: Decimal
    tax: Decimal

    @property
    def net(self) -> Decimal:
        return self.gross - self.tax


def _share(amount: Decimal, units: int, of: int) -> Decimal:
    return money(amount * units / of)


def order_refund_quote(
    *,
    order: Order,
    lines: list[tuple[OrderLine | int, int]],
    returned: dict[int, int] | None = None,
) -> RefundQuote:
    """What refunding ``lines`` [(order line or its id, quantity)] of ``order`` gives back.

    ``returned`` maps a line id to the units of it already given back (whose shares are
    taken). Reads only. RefundLinesInvalid for a line of another order, a quantity below 1 or
    more units than are left."""
    returned = returned or {}
    own = {line.pk: line for line in order.lines.all()}
    wanted: dict[int, int] = {}
    for line, quantity in lines:
        line_id = line.pk if isinstance(line, OrderLine) else line
        if line_id not in own:
            raise RefundLinesInvalid(
                "This line is not part of the order.", details={"line": line_id}
            )
        if quantity < 1:
            raise RefundLinesInvalid(
                "Give back at least one unit.", details={"line": line_id, "quantity": quantity}
            )
        wanted[line_id] = wanted.get(line_id, 0) + quantity

    refunds = []
    by_rate: dict[Decimal, dict] = {}
    for line_id, quantity in sorted(wanted.items()):
        line = own[line_id]
        before = returned.get(line_id, 0)
        if before + quantity > line.quantity:
            raise RefundLinesInvalid(
                f"Only {line.quantity - before} of {line.product_name} can be given back.",
                details={"line": line_id, "quantity": quantity, "left": line.quantity - before},
            )
        paid = line.line_total - line.discount
        gross = _share(paid, before + quantity, line.quantity) - _share(paid, before, line.quantity)
        tax = _share(line.tax_amount, before + quantity, line.quantity) - _share(
            line.tax_amount, before, line.quantity
        )
        refund = RefundLine(
            line=line, quantity=quantity, gross=gross, tax_rate=line.tax_rate, tax=tax
        )
        refunds.append(refund)
        row = by_rate.setdefault(line.tax_rate, {"net": ZERO, "tax": ZERO, "gross": ZERO})
        row["net"] += refund.net
        row["tax"] += tax
        row["gross"] += gross
    taxes = [{"rate": rate, **by_rate[rate]} for rate in sorted(by_rate, reverse=True)]
    return RefundQuote(
        currency=order.currency,
        lines=refunds,
        taxes=taxes,
        gross=sum((r.gross for r in refunds), ZERO),
        tax=sum((r.tax for r in refunds), ZERO),
    )
