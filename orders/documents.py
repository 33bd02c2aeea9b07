"""Invoices and credit notes as PDF downloads.

The drawing (``orders.invoice_pdf``, fpdf2) is imported when a document is asked for, not when
the URL configuration loads: fpdf2 imports numpy, which web processes otherwise never need."""

from django.http import HttpResponse
from django.utils.http import content_disposition_header

from orders.models import Invoice


def invoice_response(invoice: Invoice) -> HttpResponse:
    """The document as a PDF download, named after its number."""
    from orders.invoice_pdf import invoice_pdf

    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=invoice.filename
    )
    return response
