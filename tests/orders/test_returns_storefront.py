"""The order page: the customer asks for a return and follows it; the credit note's PDF."""

from datetime import timedelta

import pytest

from orders import services
from orders.models import OrderEvent, Return
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def page(client, order) -> str:
    return client.get(f"/orders/{order.number}/").content.decode()


def test_a_delivered_order_offers_the_return_form(signed_in, delivered):
    order = delivered()

    html = page(signed_in, order)

    assert 'id="return-form"' in html
    for line in order.lines.all():
        assert f'name="qty_{line.pk}"' in html


def test_an_order_past_its_window_offers_no_return(signed_in, delivered):
    order = delivered()
    OrderEvent.objects.filter(order=order, to_status="delivered").update(
        at=services.order_delivered_at(order) - timedelta(days=31)
    )

    assert 'id="return-form"' not in page(signed_in, order)


def test_the_customer_asks_for_a_return_and_sees_it_requested(signed_in, delivered):
    order = delivered()
    book = order.lines.order_by("product_id").first()

    response = signed_in.post(
        f"/orders/{order.number}/returns/",
        {f"qty_{book.pk}": "1", "reason": "too big"},
        follow=True,
    )

    html = response.content.decode()
    assert "Your return request was sent" in html
    assert 'data-return-status="requested"' in html
    returned = Return.objects.get()
    assert [(row.order_line_id, row.quantity) for row in returned.lines.all()] == [(book.pk, 1)]
    assert returned.reason == "too big"


def test_a_return_without_a_reason_or_items_is_refused_with_a_message(signed_in, delivered):
    order = delivered()
    book = order.lines.order_by("product_id").first()

    no_reason = signed_in.post(
        f"/orders/{order.number}/returns/", {f"qty_{book.pk}": "1"}, follow=True
    )
    no_items = signed_in.post(f"/orders/{order.number}/returns/", {"reason": "x"}, follow=True)
    nonsense = signed_in.post(
        f"/orders/{order.number}/returns/", {f"qty_{book.pk}": "lots", "reason": "x"}, follow=True
    )

    assert "Tell us why" in no_reason.content.decode()
    assert "Choose at least one item" in no_items.content.decode()
    assert "Enter how many" in nonsense.content.decode()
    assert not Return.objects.exists()


def test_too_many_units_is_refused_with_a_message(signed_in, delivered):
    order = delivered(books=2)
    book = order.lines.order_by("product_id").first()

    response = signed_in.post(
        f"/orders/{order.number}/returns/", {f"qty_{book.pk}": "3", "reason": "x"}, follow=True
    )

    assert "can be given back" in response.content.decode()
    assert not Return.objects.exists()


def test_another_customers_order_cannot_be_returned(client, delivered):
    order = delivered()
    client.force_login(UserFactory())
    book = order.lines.first()

    response = client.post(
        f"/orders/{order.number}/returns/", {f"qty_{book.pk}": "1", "reason": "x"}
    )

    assert response.status_code == 404
    assert not Return.objects.exists()


def test_a_refunded_return_shows_its_credit_note(signed_in, delivered, staff, client):
    order = delivered()
    book = order.lines.order_by("product_id").first()
    returned = services.return_request(order_id=order.pk, lines=[(book.pk, 1)], reason="x")
    services.return_receive(return_id=returned.pk, user=staff)

    html = page(signed_in, order)
    pdf = signed_in.get(f"/orders/{order.number}/returns/{returned.pk}/credit-note/")

    assert 'data-return-status="refunded"' in html
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    client.force_login(UserFactory())
    assert (
        client.get(f"/orders/{order.number}/returns/{returned.pk}/credit-note/").status_code == 404
    )
