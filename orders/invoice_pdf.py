"""Invoices and credit notes as PDF (fpdf2), drawn from the document's snapshot only.

The text uses the PDF's built-in Helvetica in the Windows-1252 encoding (Western European
letters and the euro sign), so no font file is shipped; a character outside it is written
without its accent where it has one, else as "?". The document's own time of issue is its
creation date, so the same invoice renders to the same text every time.

Imported only when a document is drawn (``orders.documents``): fpdf2 loads numpy.
"""

import unicodedata
from decimal import Decimal

from django.utils import timezone
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from orders.models import Invoice, InvoiceKind
from shop.templatetags.shop_tags import money

ENCODING = "windows-1252"
# Letters whose accent is not a separate mark (NFKD keeps them whole).
PLAIN = str.maketrans({"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i"})
COLUMNS = (
    ("Description", 62, "LEFT"),
    ("Qty", 12, "RIGHT"),
    ("Unit price", 24, "RIGHT"),
    ("Total", 24, "RIGHT"),
    ("Discount", 22, "RIGHT"),
    ("VAT", 16, "RIGHT"),
    ("Amount", 30, "RIGHT"),
)


def _text(value) -> str:
    """``value`` as text the built-in font can write."""
    text = unicodedata.normalize("NFKC", str(value)).translate(PLAIN)
    out = []
    for char in text:
        try:
            char.encode(ENCODING)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", char)[:1]
            char = base if base.isascii() and base.isprintable() else "?"
        out.append(char)
    return "".join(out)


def rate_label(rate) -> str:
    """Decimal("0.0550") -> "5.5%"."""
    return f"{format((Decimal(rate) * 100).normalize(), 'f')}%"


def _address(buyer: dict | None) -> list[str]:
    if not buyer:
        return ["(address removed)"]
    city = " ".join(part for part in (buyer.get("postal_code"), buyer.get("city")) if part)
    lines = [buyer.get("name"), buyer.get("line1"), buyer.get("line2"), city, buyer.get("country")]
    return [line for line in lines if line]


class _Document(FPDF):
    def __init__(self, footer: str):
        super().__init__(format="A4", unit="mm")
        self.core_fonts_encoding = ENCODING
        self._footer_text = footer

    def footer(self):
        self.set_y(-15)
        self.set_font("helvetica", size=8)
        self.cell(0, 5, _text(f"{self._footer_text} · page {self.page_no()}/{{nb}}"), align="C")


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice or credit note as a PDF document."""
    credit = invoice.kind == InvoiceKind.CREDIT_NOTE
    title = "Credit note" if credit else "Invoice"
    seller = invoice.seller
    currency = invoice.currency
    issued = timezone.localtime(invoice.issued_at)

    pdf = _Document(footer=f"{seller['name']} · VAT ID {seller['vat_id']}")
    pdf.set_title(_text(f"{title} {invoice.number}"))
    pdf.set_author(_text(seller["name"]))
    pdf.set_creation_date(issued)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()

    pdf.set_font("helvetica", "B", 18)
    pdf.cell(0, 10, _text(f"{title} {invoice.number}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)

    # Seller on the left, buyer on the right.
    top = pdf.get_y()
    pdf.set_font("helvetica", "B", 10)
    pdf.cell(95, 5, "From", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", size=10)
    for line in [seller["name"], *seller.get("address", []), f"VAT ID {seller['vat_id']}"]:
        pdf.cell(95, 5, _text(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    bottom = pdf.get_y()
    pdf.set_xy(110, top)
    pdf.set_font("helvetica", "B", 10)
    pdf.cell(90, 5, "Bill to", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font("helvetica", size=10)
    for line in _address(invoice.buyer):
        pdf.cell(90, 5, _text(line), new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_xy(pdf.l_margin, max(bottom, pdf.get_y()) + 4)

    facts = [
        (f"{title} number", invoice.number),
        ("Date", issued.strftime("%d %B %Y").lstrip("0")),
        ("Order number", invoice.order.number),
        ("Currency", currency),
    ]
    if credit and invoice.credits_id:
        facts.append(("Cancels invoice", invoice.credits.number))
    for label, value in facts:
        pdf.set_font("helvetica", "B", 10)
        pdf.cell(40, 5, _text(label))
        pdf.set_font("helvetica", size=10)
        pdf.cell(0, 5, _text(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)

    pdf.set_font("helvetica", size=9)
    with pdf.table(
        col_widths=tuple(width for _, width, _ in COLUMNS),
        text_align=tuple(align for _, _, align in COLUMNS),
        line_height=5,
        padding=1,
    ) as table:
        heading = table.row()
        for label, _, _ in COLUMNS:
            heading.cell(label)
        for line in invoice.lines:
            description = line["name"] + (f"\n{line['sku']}" if line["sku"] else "")
            row = table.row()
            row.cell(_text(description))
            row.cell(str(line["quantity"]))
            row.cell(_text(money(line["unit_price"], currency)))
            row.cell(_text(money(line["line_total"], currency)))
            discount = Decimal(line["discount"])
            row.cell(_text(money(-discount, currency)) if discount else "")
            row.cell(rate_label(line["tax_rate"]))
            row.cell(_text(money(line["gross"], currency)))
    pdf.ln(4)

    def total(label: str, amount, *, bold: bool = False):
        pdf.set_font("helvetica", "B" if bold else "", 10)
        pdf.set_x(pdf.w - pdf.r_margin - 110)
        pdf.cell(80, 6, _text(label))
        pdf.cell(30, 6, _text(money(amount, currency)), align="R")
        pdf.ln(6)

    if invoice.discount:
        total("Discounts (included above)", -invoice.discount)
    total("Net", invoice.net)
    for row in invoice.taxes:
        total(f"VAT {rate_label(row['rate'])} on {money(row['net'], currency)}", row["tax"])
    total("Total", invoice.gross, bold=True)
    pdf.ln(4)
    pdf.set_font("helvetica", size=9)
    note = (
        f"This credit note cancels invoice {invoice.credits.number}; the amounts are refunded."
        if credit and invoice.credits_id
        else "Prices include VAT. Paid by card."
    )
    pdf.multi_cell(0, 5, _text(note), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
