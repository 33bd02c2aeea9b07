"""Returns: asked for within 30 days of delivery, approved, received (restocked, refunded with
a credit note) or rejected; never more units than bought, never more money than paid."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import StockItem, StockMovement
from orders import services
from orders.models import Invoice, OrderEmail, OrderEvent, Return
from payments.models import Payment, Refund, TestGatewayCharge
from payments.services import payment_refund
from tests.factories import UserFactory
from tests.faults import GATEWAY, Faults

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(delivered):
    return delivered()


@pytest.fixture
def mails(django_capture_on_commit_callbacks):
    """Run what is enqueued on commit (the mails) while ``call`` runs; returns the subjects."""

    def run(call):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            result = call()
        return result, [message.subject for message in mail.outbox]

    return run


def lines_of(order):
    book, lamp = order.lines.order_by("product_id")
    return book, lamp


def ask(client, order, *rows, reason="does not fit"):
    body = {"lines": [{"line": line.pk, "quantity": n} for line, n in rows], "reason": reason}
    return client.post(f"/api/orders/{order.pk}/returns/", body, format="json")


def payment_of(order):
    return Payment.objects.filter(order=order).get()


def stock(product_id):
    return StockItem.objects.get(pk=product_id).quantity


# --- asking ---------------------------------------------------------------------------------
def test_a_customer_asks_to_return_units_of_a_delivered_order(user_client, order, mails):
    book, lamp = lines_of(order)

    response, subjects = mails(lambda: ask(user_client, order, (book, 1), (lamp, 1)))

    assert response.status_code == 201, response.json()
    body = response.json()
    quote = services.order_refund_quote(order=order, lines=[(book, 1), (lamp, 1)])
    assert body["status"] == "requested" and body["order"] == order.pk
    assert body["refund_amount"] == str(quote.gross)
    assert [(row["line"], row["quantity"]) for row in body["lines"]] == [(book.pk, 1), (lamp.pk, 1)]
    assert subjects == [f"We received your return request for order {order.number}"]
    assert "return " in OrderEvent.objects.filter(order=order).last().reason


def test_the_return_mail_has_a_text_and_an_html_part_listing_the_lines(user_client, order, mails):
    book, _ = lines_of(order)

    mails(lambda: ask(user_client, order, (book, 2)))

    message = mail.outbox[0]
    assert "2 x Cookbook" in message.body
    assert message.alternatives and "Cookbook" in message.alternatives[0][0]


def test_an_order_not_yet_delivered_cannot_be_returned(user_client, placed):
    paid, _ = placed()
    services.order_process(order_id=paid.pk)

    response = ask(user_client, paid, (paid.lines.get(), 1))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "return_not_allowed"
    assert not Return.objects.exists()


def test_the_return_window_closes_30_days_after_delivery(user_client, order):
    book, _ = lines_of(order)
    delivered_at = services.order_delivered_at(order)
    OrderEvent.objects.filter(order=order, to_status="delivered").update(
        at=delivered_at - timedelta(days=30, minutes=1)
    )

    response = ask(user_client, order, (book, 1))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "return_not_allowed"
    assert "could be returned until" in response.json()["error"]["message"]


def test_on_the_last_day_of_the_window_a_return_is_still_taken(order):
    book, _ = lines_of(order)
    last_day = services.order_delivered_at(order) + timedelta(days=30)

    returned = services.return_request(
        order_id=order.pk, lines=[(book.pk, 1)], reason="late", now=last_day
    )

    assert returned.status == "requested"


def test_more_units_than_bought_is_invalid(user_client, order):
    book, _ = lines_of(order)

    response = ask(user_client, order, (book, 3))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert not Return.objects.exists()


def test_units_already_in_a_return_cannot_be_asked_back_again(user_client, order):
    book, _ = lines_of(order)
    assert ask(user_client, order, (book, 1)).status_code == 201

    refused = ask(user_client, order, (book, 2))
    taken = ask(user_client, order, (book, 1))

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "return_not_allowed"
    assert refused.json()["error"]["details"]["left"] == 1
    assert taken.status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"lines": [], "reason": "x"},
        {"lines": [{"line": 1, "quantity": 0}], "reason": "x"},
        {"lines": [{"line": 1, "quantity": 1}]},
        {"reason": "x"},
    ],
)
def test_a_malformed_return_is_invalid(user_client, order, body):
    response = user_client.post(f"/api/orders/{order.pk}/returns/", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_a_line_of_another_order_is_invalid(user_client, order, delivered):
    other = delivered()

    response = ask(user_client, order, (other.lines.first(), 1))

    assert response.status_code == 400
    assert not Return.objects.exists()


def test_another_customers_order_and_return_are_not_found(order, user_client):
    book, _ = lines_of(order)
    mine = ask(user_client, order, (book, 1)).json()
    stranger = APIClient()
    stranger.force_authenticate(UserFactory())

    asked = ask(stranger, order, (book, 1))
    seen = stranger.get(f"/api/returns/{mine['id']}/")
    listed = stranger.get("/api/returns/").json()

    assert asked.status_code == 404 and seen.status_code == 404
    assert listed["count"] == 0
    assert user_client.get(f"/api/returns/{mine['id']}/").status_code == 200


def test_customers_cannot_approve_receive_or_reject(user_client, order):
    book, _ = lines_of(order)
    returned = ask(user_client, order, (book, 1)).json()

    for verb in ("approve", "receive", "reject"):
        response = user_client.post(
            f"/api/returns/{returned['id']}/{verb}/", {"reason": "x"}, format="json"
        )
        assert response.status_code == 403
    assert Return.objects.get().status == "requested"


# --- staff decide ---------------------------------------------------------------------------
def test_staff_approve_and_the_customer_is_told(staff_client, user_client, order, mails):
    book, _ = lines_of(order)
    returned = ask(user_client, order, (book, 1)).json()

    response, subjects = mails(
        lambda: staff_client.post(f"/api/returns/{returned['id']}/approve/", {}, format="json")
    )

    assert response.status_code == 200 and response.json()["status"] == "approved"
    assert subjects == [f"Your return for order {order.number} is approved"]


def test_staff_reject_with_a_reason_and_the_units_can_be_asked_back_again(
    staff_client, user_client, order, mails
):
    book, _ = lines_of(order)
    returned = ask(user_client, order, (book, 2)).json()

    response, subjects = mails(
        lambda: staff_client.post(
            f"/api/returns/{returned['id']}/reject/", {"reason": "worn"}, format="json"
        )
    )

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["staff_note"]) == ("rejected", "worn")
    assert subjects == [f"Your return for order {order.number} was not accepted"]
    assert "worn" in mail.outbox[0].body
    assert ask(user_client, order, (book, 2)).status_code == 201
    assert payment_of(order).refunded_amount == D("0.00")


def test_receiving_restocks_refunds_the_share_and_issues_a_credit_note(
    staff_client, user_client, order, mails
):
    book, lamp = lines_of(order)
    returned = ask(user_client, order, (book, 1), (lamp, 1)).json()
    staff_client.post(f"/api/returns/{returned['id']}/approve/", {}, format="json")
    stock_before = (stock(book.product_id), stock(lamp.product_id))
    quote = services.order_refund_quote(order=order, lines=[(book, 1), (lamp, 1)])

    response, subjects = mails(
        lambda: staff_client.post(f"/api/returns/{returned['id']}/receive/", format="json")
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "refunded" and body["refund_amount"] == str(quote.gross)
    assert (stock(book.product_id), stock(lamp.product_id)) == (
        stock_before[0] + 1,
        stock_before[1] + 1,
    )
    restocks = StockMovement.objects.filter(kind="restock", reference=order.number)
    assert sorted(restocks.values_list("product_id", "delta")) == [
        (book.product_id, 1),
        (lamp.product_id, 1),
    ]
    payment = payment_of(order)
    assert payment.refunded_amount == quote.gross and payment.status == "completed"
    assert Refund.objects.get().status == "succeeded"
    note = Invoice.objects.get(kind="credit_note")
    assert note.return_request_id == returned["id"] and note.credits == order.invoices.get(
        kind="invoice"
    )
    assert (note.gross, note.tax) == (-quote.gross, -quote.tax)
    assert [(t["rate"], t["tax"]) for t in note.taxes] == [
        (str(t["rate"]), str(-t["tax"])) for t in quote.taxes
    ]
    assert subjects == [f"Your return for order {order.number} is refunded"]


def test_staff_may_receive_a_return_nobody_approved_yet(staff, order):
    book, _ = lines_of(order)
    returned = services.return_request(order_id=order.pk, lines=[(book.pk, 1)], reason="x")

    services.return_receive(return_id=returned.pk, user=staff)

    assert Return.objects.get().status == "refunded"


def test_receiving_twice_refunds_once(staff_client, user_client, order):
    book, _ = lines_of(order)
    returned = ask(user_client, order, (book, 2)).json()
    url = f"/api/returns/{returned['id']}/receive/"

    first = staff_client.post(url, format="json")
    second = staff_client.post(url, format="json")

    assert first.status_code == 200 and second.status_code == 409
    assert second.json()["error"]["code"] == "invalid_transition"
    assert Refund.objects.count() == 1
    assert StockMovement.objects.filter(kind="restock", reference=order.number).count() == 1


def test_a_rejected_return_cannot_be_received(staff, order):
    book, _ = lines_of(order)
    returned = services.return_request(order_id=order.pk, lines=[(book.pk, 1)], reason="x")
    services.return_reject(return_id=returned.pk, reason="no", user=staff)

    with pytest.raises(Exception) as refused:
        services.return_receive(return_id=returned.pk, user=staff)

    assert refused.value.code == "invalid_transition"
    assert not Refund.objects.exists()


def test_returning_a_line_in_several_goes_gives_back_exactly_what_it_cost(staff, delivered):
    order = delivered(books=3, lamps=1)
    book, _ = lines_of(order)
    for _ in range(3):
        returned = services.return_request(order_id=order.pk, lines=[(book.pk, 1)], reason="x")
        services.return_receive(return_id=returned.pk, user=staff)

    refunded = sum(Return.objects.values_list("refund_amount", flat=True), D("0"))
    assert refunded == book.line_total - book.discount
    assert payment_of(order).refunded_amount == refunded


def test_a_return_never_refunds_more_than_is_left_on_the_payment(staff, order):
    book, _ = lines_of(order)
    returned = services.return_request(order_id=order.pk, lines=[(book.pk, 2)], reason="x")
    payment = payment_of(order)
    payment_refund(payment_id=payment.pk, amount=payment.captured_amount - D("1.00"))
    before = stock(book.product_id)

    with pytest.raises(Exception) as refused:
        services.return_receive(return_id=returned.pk, user=staff)

    assert refused.value.code == "refund_exceeds_capture"
    assert Return.objects.get().status == "requested"
    assert stock(book.product_id) == before
    assert not Invoice.objects.filter(kind="credit_note").exists()


def test_a_lost_refund_answer_leaves_the_return_received_until_the_sweeper(
    staff, order, mails, settings, monkeypatch, tmp_path
):
    book, _ = lines_of(order)
    returned = services.return_request(order_id=order.pk, lines=[(book.pk, 1)], reason="x")
    faults = Faults(tmp_path / "faults.json")
    faults.set(lose_first=["refund"])  # the gateway refunds, its answer never arrives
    for name, value in faults.env().items():
        monkeypatch.setenv(name, value)
    settings.PAYMENT_GATEWAY = GATEWAY

    services.return_receive(return_id=returned.pk, user=staff)
    assert Return.objects.get().status == "received"
    assert Refund.objects.get().status == "pending"

    settled, subjects = mails(services.returns_settle_pending)

    assert settled == 1 and Return.objects.get().status == "refunded"
    refund = Refund.objects.get()
    assert refund.status == "succeeded"
    assert payment_of(order).refunded_amount == refund.amount == Return.objects.get().refund_amount
    charges = TestGatewayCharge.objects.filter(
        operation="refund", parent_reference=payment_of(order).gateway_reference
    )
    assert charges.count() == 1  # asked twice under one key, refunded once
    assert subjects == [f"Your return for order {order.number} is refunded"]


def test_each_return_gets_its_own_mails(staff, order, mails):
    book, lamp = lines_of(order)

    def two_returns():
        services.return_request(order_id=order.pk, lines=[(book.pk, 1)], reason="x")
        services.return_request(order_id=order.pk, lines=[(lamp.pk, 1)], reason="y")

    _, subjects = mails(two_returns)

    assert len(subjects) == 2
    assert OrderEmail.objects.filter(kind="return_requested").count() == 2


def test_staff_list_returns_and_filter_by_state(staff_client, staff, user_client, order):
    book, lamp = lines_of(order)
    first = ask(user_client, order, (book, 1)).json()
    ask(user_client, order, (lamp, 1))
    services.return_approve(return_id=first["id"], user=staff)

    everything = staff_client.get("/api/returns/").json()
    approved = staff_client.get("/api/returns/?status=approved").json()
    wrong = staff_client.get("/api/returns/?status=lost")

    assert everything["count"] == 2
    assert [row["id"] for row in approved["results"]] == [first["id"]]
    assert wrong.status_code == 400


def test_receiving_the_return_leaves_the_money_reconciled(staff, order):
    book, _ = lines_of(order)
    returned = services.return_request(order_id=order.pk, lines=[(book.pk, 1)], reason="x")
    services.return_receive(return_id=returned.pk, user=staff)

    assert services.money_differences() == []


def test_a_return_on_the_deadline_day_is_measured_from_the_delivery(order):
    ends = services.return_window_ends(order)

    assert ends - services.order_delivered_at(order) == timedelta(days=30)
    assert ends > timezone.now()
