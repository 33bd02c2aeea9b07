"""Invoices and credit notes: gap-free numbers, the PDF, who may fetch it, and refund shares."""

import io
from datetime import datetime
from decimal import Decimal as D
from unittest import mock

import pytest
from django.db import OperationalError
from django.utils import timezone
from pypdf import PdfReader
from rest_framework.test import APIClient

from orders import services
from orders.exceptions import RefundLinesInvalid
from orders.invoice_pdf import invoice_pdf
from orders.models import Invoice, InvoiceSequence, Order
from orders.services import lifecycle
from pricing.models import Voucher
from shop.templatetags.shop_tags import money
from tests.factories import StaffFactory, UserFactory
from tests.orders.conftest import ADDRESS, order_payload
from tests.utils import requires_postgres, run_together

pytestmark = pytest.mark.django_db
DE = {**ADDRESS, "country": "DE"}
INVOICE, CREDIT_NOTE = Invoice.Kind.INVOICE, Invoice.Kind.CREDIT_NOTE


def at(*args) -> datetime:
    return timezone.make_aware(datetime(*args), timezone.get_current_timezone())


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def numbers(kind=INVOICE) -> list[str]:
    return list(
        Invoice.objects.filter(kind=kind).order_by("sequence").values_list("number", flat=True)
    )


@pytest.fixture
def place(django_capture_on_commit_callbacks):
    """Place an order for DE through the API and let its processing run, as a worker would."""

    def run(*lines, user=None, token="tok_visa", **extra):
        client = APIClient()
        client.force_authenticate(user or UserFactory())
        payload = order_payload(*lines, token=token, **extra)
        payload["shipping_address"] = DE
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/api/orders/", payload, format="json")
        assert response.status_code == 201, response.content
        return Order.objects.get(pk=response.json()["id"])

    return run


@pytest.fixture
def book_and_lamp(stocked):
    """A book (reduced VAT) and a lamp (standard VAT)."""
    book = stocked(price=D("12.50"), tax_class="reduced", name="Pasta cookbook", sku="BOOK-1")
    lamp = stocked(price=D("30.00"), name="Desk lamp", sku="LAMP-1")
    return book, lamp


@pytest.fixture
def discounted_order(place, book_and_lamp, user):
    """Paid: two books at 7 % and a lamp at 19 %, 10 % off with a voucher, standard shipping."""
    Voucher.objects.create(code="TENOFF", kind="percentage", value=D("10"))
    book, lamp = book_and_lamp
    order = place((book, 2), (lamp, 1), user=user, voucher="TENOFF")
    assert order.paid_at is not None and order.discount == D("5.50")
    return order


def cancel(order, user=None):
    return services.order_cancel(
        order_id=order.pk, actor="customer", user=user, reason="changed my mind"
    )


# --- numbering ------------------------------------------------------------------------------
def test_a_paid_order_gets_the_next_number_of_the_years_series(place, stocked):
    product = stocked(quantity=10)
    year = timezone.localtime().year

    first, second = place((product, 1)), place((product, 1))

    assert numbers() == [f"{year}-000001", f"{year}-000002"]
    assert first.invoices.get().number == f"{year}-000001"
    assert second.invoices.get().sequence == 2
    assert InvoiceSequence.objects.get(kind=INVOICE, year=year).last == 2


def test_an_unpaid_or_declined_order_gets_no_invoice(place, stocked):
    product = stocked(quantity=10)

    declined = place((product, 1), token="tok_chargeDeclined")

    assert declined.status == "cancelled" and not declined.invoices.exists()
    assert not Invoice.objects.exists()


def test_paying_twice_issues_one_invoice(place, stocked):
    order = place((stocked(quantity=10), 1))

    services.order_process(order_id=order.pk)
    again = services.invoice_issue(order_id=order.pk)

    assert Invoice.objects.count() == 1 and again == order.invoices.get()


def test_a_new_year_starts_a_new_series(place, stocked):
    product = stocked(quantity=10)
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 12, 31, 23, 59, 59)):
        place((product, 1))
    with mock.patch("django.utils.timezone.now", return_value=at(2027, 1, 1, 0, 0, 1)):
        place((product, 1))
        place((product, 1))

    assert numbers() == ["2026-000001", "2027-000001", "2027-000002"]
    assert [i.issued_at.year for i in Invoice.objects.order_by("issued_at")] == [2026, 2027, 2027]


def test_a_payment_rolled_back_after_numbering_gives_its_number_back(
    stocked, django_capture_on_commit_callbacks
):
    product = stocked(quantity=10)
    real_issue = lifecycle.invoice_issue

    def issue_then_fail(**kwargs):
        real_issue(**kwargs)
        raise OperationalError("the database went away before the commit")

    user = UserFactory()
    with mock.patch("orders.services.checkout.enqueue_on_commit"):  # processed by hand below
        first, second = (
            services.order_place(
                user=user, shipping_address=DE, payment_token="tok_visa", lines=[(product.pk, 1)]
            )
            for _ in range(2)
        )
    with (
        mock.patch.object(lifecycle, "invoice_issue", issue_then_fail),
        pytest.raises(OperationalError),
    ):
        services.order_process(order_id=first.pk)
    first.refresh_from_db()
    assert first.paid_at is None and not Invoice.objects.exists()

    services.order_process(order_id=second.pk)
    services.order_process(order_id=first.pk)  # the task's retry

    year = timezone.localtime().year
    assert second.invoices.get().number == f"{year}-000001"
    assert first.invoices.get().number == f"{year}-000002"


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_payments_get_fifty_numbers_without_gap_or_duplicate(stocked):
    """Each order is paid by ``order_process`` (authorize, commit stock, capture, number) in one
    of 25 threads, two each, all released at once; 25 threads, not 50, because each also opens
    the test gateway's own connection and the server allows 100."""
    product = stocked(quantity=100)
    with mock.patch("orders.services.checkout.enqueue_on_commit"):  # paid in the threads
        orders = [
            services.order_place(
                user=UserFactory(),
                shipping_address=DE,
                payment_token="tok_visa",
                lines=[(product.pk, 1)],
            )
            for _ in range(50)
        ]
    ids = [order.pk for order in orders]

    def pay(i):
        return [services.order_process(order_id=order_id).paid_at for order_id in ids[i::25]]

    outcomes = run_together(25, pay)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert Order.objects.filter(pk__in=ids, paid_at__isnull=False).count() == 50
    invoices = list(Invoice.objects.filter(kind=INVOICE).order_by("sequence"))
    year = timezone.localtime().year
    assert [i.sequence for i in invoices] == list(range(1, 51))
    assert len({i.number for i in invoices}) == 50 and {i.order_id for i in invoices} == set(ids)
    assert [i.number for i in invoices] == [f"{year}-{n:06d}" for n in range(1, 51)]
    assert [i.issued_at for i in invoices] == sorted(i.issued_at for i in invoices)
    assert InvoiceSequence.objects.get(kind=INVOICE, year=year).last == 50


# --- what the invoice says ------------------------------------------------------------------
def test_the_invoice_is_a_snapshot_of_the_paid_order(discounted_order, settings):
    invoice = discounted_order.invoices.get()

    assert invoice.gross == discounted_order.total == invoice.net + invoice.tax
    assert invoice.tax == discounted_order.tax_total
    assert invoice.discount == D("5.50") and invoice.currency == "EUR"
    assert [(t["rate"], t["tax"]) for t in invoice.taxes] == [
        (t["rate"], t["amount"]) for t in discounted_order.tax_breakdown
    ]
    assert [line["name"] for line in invoice.lines] == [
        "Pasta cookbook",
        "Desk lamp",
        "Shipping (standard)",
    ]
    assert sum(D(line["gross"]) for line in invoice.lines) == invoice.gross
    assert invoice.buyer == discounted_order.shipping_address
    assert invoice.buyer["name"] == DE["name"] and invoice.buyer["country"] == "DE"
    assert invoice.seller == {
        "name": settings.SHOP_NAME,
        "address": settings.SHOP_SELLER_ADDRESS,
        "vat_id": settings.SHOP_VAT_ID,
    }


def test_the_buyers_address_is_encrypted_at_rest(discounted_order):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT buyer FROM orders_invoice")
        (stored,) = cursor.fetchone()

    assert ADDRESS["line1"] not in stored and ADDRESS["name"] not in stored


def test_the_pdf_shows_number_lines_tax_per_rate_discount_and_total(discounted_order):
    invoice = discounted_order.invoices.get()

    data = invoice_pdf(invoice)

    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    for expected in [
        f"Invoice {invoice.number}",
        discounted_order.number,
        "Pasta cookbook",
        "BOOK-1",
        "Desk lamp",
        "Shipping (standard)",
        "VAT ID DE000000000",
        ADDRESS["name"],
        f"Discounts (included above) {money(-invoice.discount, 'EUR')}",
        f"Total {money(discounted_order.total, 'EUR')}",
    ]:
        assert expected in text, expected
    for row in discounted_order.tax_breakdown:
        rate = {"0.1900": "19%", "0.0700": "7%"}[row["rate"]]
        assert f"VAT {rate} on " in text and money(row["amount"], "EUR") in text


def test_a_name_the_pdf_font_cannot_write_still_renders(discounted_order):
    invoice = discounted_order.invoices.get()
    invoice.buyer = {**DE, "name": "Łukasz Żółw 山田"}

    text = pdf_text(invoice_pdf(invoice))

    assert "Lukasz Zólw ??" in text


# --- credit notes ---------------------------------------------------------------------------
def test_cancelling_a_paid_order_issues_a_credit_note_mirroring_the_invoice(discounted_order):
    invoice = discounted_order.invoices.get(kind=INVOICE)

    cancel(discounted_order)

    note = discounted_order.invoices.get(kind=CREDIT_NOTE)
    year = timezone.localtime().year
    assert note.number == f"CN-{year}-000001" and note.credits == invoice
    assert (note.gross, note.net, note.tax) == (-invoice.gross, -invoice.net, -invoice.tax)
    assert [(t["rate"], D(t["tax"])) for t in note.taxes] == [
        (t["rate"], -D(t["tax"])) for t in invoice.taxes
    ]
    assert [D(line["gross"]) for line in note.lines] == [
        -D(line["gross"]) for line in invoice.lines
    ]
    text = pdf_text(invoice_pdf(note))
    assert f"Credit note {note.number}" in text and f"Cancels invoice {invoice.number}" in text
    assert f"Total {money(-invoice.gross, 'EUR')}" in text


def test_cancelling_twice_issues_one_credit_note(discounted_order):
    cancel(discounted_order)
    cancel(discounted_order)

    assert discounted_order.invoices.filter(kind=CREDIT_NOTE).count() == 1
    assert services.credit_note_issue(
        order_id=discounted_order.pk
    ) == discounted_order.invoices.get(kind=CREDIT_NOTE)


def test_an_order_cancelled_before_payment_gets_neither(stocked, user):
    with mock.patch("orders.services.checkout.enqueue_on_commit"):
        order = services.order_place(
            user=user, shipping_address=DE, payment_token="tok_visa", lines=[(stocked().pk, 1)]
        )

    cancel(order, user)

    assert not Invoice.objects.exists()
    assert not InvoiceSequence.objects.exists()


def test_credit_notes_have_their_own_series(place, stocked):
    product = stocked(quantity=10)
    orders = [place((product, 1)) for _ in range(3)]

    cancel(orders[2])
    cancel(orders[0])

    year = timezone.localtime().year
    assert numbers(CREDIT_NOTE) == [f"CN-{year}-000001", f"CN-{year}-000002"]
    assert orders[2].invoices.get(kind=CREDIT_NOTE).sequence == 1
    assert numbers() == [f"{year}-{n:06d}" for n in (1, 2, 3)]


# --- who may fetch it -----------------------------------------------------------------------
def client_of(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_the_owner_downloads_the_invoice_as_a_pdf(discounted_order, user):
    invoice = discounted_order.invoices.get()

    response = client_of(user).get(f"/api/orders/{discounted_order.pk}/invoice/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="invoice-{invoice.number}.pdf"'
    assert invoice.number in pdf_text(response.content)


def test_a_client_that_accepts_only_pdf_gets_it(discounted_order, user):
    response = client_of(user).get(
        f"/api/orders/{discounted_order.pk}/invoice/", HTTP_ACCEPT="application/pdf"
    )

    assert response.status_code == 200 and response.content.startswith(b"%PDF-")


def test_staff_download_any_customers_invoice(discounted_order):
    response = client_of(StaffFactory()).get(f"/api/orders/{discounted_order.pk}/invoice/")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"


def test_another_customers_invoice_is_not_found(discounted_order):
    response = client_of(UserFactory()).get(f"/api/orders/{discounted_order.pk}/invoice/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_an_anonymous_client_must_authenticate(discounted_order):
    response = client_of(None).get(f"/api/orders/{discounted_order.pk}/invoice/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_an_unpaid_order_has_no_invoice_yet(stocked, user):
    with mock.patch("orders.services.checkout.enqueue_on_commit"):
        order = services.order_place(
            user=user, shipping_address=DE, payment_token="tok_visa", lines=[(stocked().pk, 1)]
        )

    response = client_of(user).get(f"/api/orders/{order.pk}/invoice/")

    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": f"Order {order.number} has no invoice yet.",
        "details": {},
    }


def test_the_credit_note_is_there_once_the_paid_order_is_cancelled(discounted_order, user):
    url = f"/api/orders/{discounted_order.pk}/invoice/?kind=credit_note"
    assert client_of(user).get(url).json()["error"]["code"] == "not_found"

    cancel(discounted_order, user)
    response = client_of(user).get(url)

    note = discounted_order.invoices.get(kind=CREDIT_NOTE)
    assert response.status_code == 200
    assert f'filename="credit-note-{note.number}.pdf"' in response["Content-Disposition"]
    assert note.number in pdf_text(response.content)


def test_an_unknown_kind_is_a_validation_error(discounted_order, user):
    response = client_of(user).get(f"/api/orders/{discounted_order.pk}/invoice/?kind=receipt")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_the_schema_documents_a_pdf_answer(api_client):
    schema = api_client.get("/api/schema/?format=json").json()

    operation = schema["paths"]["/api/v1/orders/{id}/invoice/"]["get"]
    assert operation["responses"]["200"]["content"] == {
        "application/pdf": {"schema": {"type": "string", "format": "binary"}}
    }
    assert "404" in operation["responses"] and "401" in operation["responses"]
    assert [p["name"] for p in operation["parameters"] if p["in"] == "query"] == ["kind"]


# --- the storefront and the admin -----------------------------------------------------------
def test_the_order_page_links_the_invoice_once_paid(client, discounted_order, user):
    client.force_login(user)

    page = client.get(f"/orders/{discounted_order.number}/").content.decode()
    response = client.get(f"/orders/{discounted_order.number}/invoice/")

    assert "Download invoice (PDF)" in page
    assert f'href="/orders/{discounted_order.number}/invoice/"' in page
    assert "Download credit note (PDF)" not in page
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "filename=" in response["Content-Disposition"]


def test_the_order_page_of_an_unpaid_order_has_no_invoice_link(client, stocked, user):
    with mock.patch("orders.services.checkout.enqueue_on_commit"):
        order = services.order_place(
            user=user, shipping_address=DE, payment_token="tok_visa", lines=[(stocked().pk, 1)]
        )
    client.force_login(user)

    assert "Download invoice" not in client.get(f"/orders/{order.number}/").content.decode()
    assert client.get(f"/orders/{order.number}/invoice/").status_code == 404


def test_the_storefront_gives_the_credit_note_of_a_cancelled_order(client, discounted_order, user):
    cancel(discounted_order, user)
    client.force_login(user)

    page = client.get(f"/orders/{discounted_order.number}/").content.decode()
    response = client.get(f"/orders/{discounted_order.number}/invoice/?kind=credit_note")

    assert "Download credit note (PDF)" in page
    assert response.status_code == 200
    assert discounted_order.invoices.get(kind=CREDIT_NOTE).number in pdf_text(response.content)


def test_the_storefront_invoice_is_for_its_owner_and_staff_only(client, discounted_order):
    url = f"/orders/{discounted_order.number}/invoice/"

    anonymous = client.get(url)
    client.force_login(UserFactory())
    stranger = client.get(url)
    client.force_login(StaffFactory())
    staff = client.get(url)

    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert stranger.status_code == 404
    assert staff.status_code == 200 and staff["Content-Type"] == "application/pdf"


def test_staff_read_invoices_in_the_admin_and_download_the_pdf(client, discounted_order):
    invoice = discounted_order.invoices.get()
    client.force_login(StaffFactory(is_superuser=True))

    listing = client.get("/admin/orders/invoice/")
    detail = client.get(f"/admin/orders/invoice/{invoice.pk}/change/")
    pdf = client.get(f"/admin/orders/invoice/{invoice.pk}/pdf/")

    assert listing.status_code == 200 and invoice.number in listing.content.decode()
    assert f"/admin/orders/invoice/{invoice.pk}/pdf/" in listing.content.decode()
    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    assert pdf.status_code == 200 and invoice.number in pdf_text(pdf.content)
    assert client.get("/admin/orders/invoice/add/").status_code == 403


def test_staff_without_the_view_permission_get_no_pdf(client, discounted_order):
    invoice = discounted_order.invoices.get()
    client.force_login(StaffFactory())

    assert client.get(f"/admin/orders/invoice/{invoice.pk}/pdf/").status_code == 403


# --- refunding lines ------------------------------------------------------------------------
def test_refunding_lines_gives_back_their_discounted_share_with_tax_per_rate(discounted_order):
    book, lamp = discounted_order.lines.order_by("id")
    # Two books at 7 %: 25.00 - 2.50 discount = 22.50, VAT 1.47; a lamp at 19 %: 30.00 - 3.00
    # = 27.00, VAT 4.31.
    assert (book.tax_rate, book.discount, book.tax_amount) == (D("0.0700"), D("2.50"), D("1.47"))
    assert (lamp.tax_rate, lamp.discount, lamp.tax_amount) == (D("0.1900"), D("3.00"), D("4.31"))

    quote = services.order_refund_quote(order=discounted_order, lines=[(book, 1), (lamp, 1)])

    # One of the two books: half of 22.50 and half of 1.47 (0.735, half-up); the whole lamp.
    assert [(r.line, r.quantity, r.gross, r.tax) for r in quote.lines] == [
        (book, 1, D("11.25"), D("0.74")),
        (lamp, 1, D("27.00"), D("4.31")),
    ]
    assert (quote.gross, quote.tax, quote.net) == (D("38.25"), D("5.05"), D("33.20"))
    assert quote.taxes == [
        {"rate": D("0.1900"), "net": D("22.69"), "tax": D("4.31"), "gross": D("27.00")},
        {"rate": D("0.0700"), "net": D("10.51"), "tax": D("0.74"), "gross": D("11.25")},
    ]

    second_book = services.order_refund_quote(
        order=discounted_order, lines=[(book, 1)], returned={book.pk: 1}
    )
    assert (second_book.gross, second_book.tax) == (D("11.25"), D("0.73"))


def test_refunding_every_line_gives_back_what_was_paid_for_the_goods(discounted_order):
    lines = list(discounted_order.lines.all())

    quote = services.order_refund_quote(
        order=discounted_order, lines=[(line.pk, line.quantity) for line in lines]
    )

    assert quote.gross == discounted_order.total - discounted_order.shipping
    assert quote.tax == discounted_order.tax_total - discounted_order.shipping_tax
    invoice = discounted_order.invoices.get()
    goods = {
        t["rate"]: D(t["tax"]) - (discounted_order.shipping_tax if t["rate"] == "0.1900" else 0)
        for t in invoice.taxes
    }
    assert {str(t["rate"]): t["tax"] for t in quote.taxes} == goods


def test_refunds_in_several_goes_add_up_to_the_line_to_the_cent(stocked, user):
    odd = stocked(price=D("3.33"), quantity=10)
    with mock.patch("orders.services.checkout.enqueue_on_commit"):
        order = services.order_place(
            user=user, shipping_address=DE, payment_token="tok_visa", lines=[(odd.pk, 3)]
        )
    line = order.lines.get()

    parts = [
        services.order_refund_quote(order=order, lines=[(line, 1)], returned={line.pk: before})
        for before in range(3)
    ]

    assert sum(p.gross for p in parts) == line.line_total - line.discount
    assert sum(p.tax for p in parts) == line.tax_amount


@pytest.mark.parametrize("quantity", [0, 3])
def test_refunding_more_than_is_left_or_nothing_is_refused(discounted_order, quantity):
    book = discounted_order.lines.order_by("id").first()

    with pytest.raises(RefundLinesInvalid):
        services.order_refund_quote(
            order=discounted_order, lines=[(book, quantity)], returned={book.pk: 0}
        )


def test_refunding_a_line_of_another_order_is_refused(discounted_order, place, stocked):
    other = place((stocked(), 1)).lines.get()

    with pytest.raises(RefundLinesInvalid):
        services.order_refund_quote(order=discounted_order, lines=[(other, 1)])
