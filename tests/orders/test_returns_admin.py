"""Staff handle returns in the admin: approve, receive (restock, refund) and reject, through the
return services; a view-only staff member is offered none of it."""

import pytest

from orders import services
from orders.models import Return
from payments.models import Payment
from tests.factories import staff_with_permissions

pytestmark = pytest.mark.django_db
URL = "/admin/orders/return/"


@pytest.fixture
def requested(delivered):
    order = delivered()
    book = order.lines.order_by("product_id").first()
    return services.return_request(order_id=order.pk, lines=[(book.pk, 1)], reason="broken")


def test_the_return_screens_render(admin_client, requested):
    listing = admin_client.get(URL)
    detail = admin_client.get(f"{URL}{requested.pk}/change/")

    assert listing.status_code == 200 and detail.status_code == 200
    assert "broken" in detail.content.decode()


def test_staff_approve_then_receive_and_the_return_is_refunded(admin_client, requested):
    selected = {"_selected_action": [requested.pk]}

    admin_client.post(URL, {"action": "approve", **selected})
    assert Return.objects.get().status == "approved"
    admin_client.post(URL, {"action": "receive", **selected})

    returned = Return.objects.get()
    assert returned.status == "refunded"
    assert Payment.objects.get(order=returned.order).refunded_amount == returned.refund_amount


def test_staff_reject_in_the_admin(admin_client, requested):
    admin_client.post(URL, {"action": "reject", "_selected_action": [requested.pk]})

    assert Return.objects.get().status == "rejected"


def test_a_refused_action_is_a_message_not_an_error(admin_client, requested):
    admin_client.post(URL, {"action": "reject", "_selected_action": [requested.pk]})

    response = admin_client.post(
        URL, {"action": "receive", "_selected_action": [requested.pk]}, follow=True
    )

    assert response.status_code == 200
    assert "cannot be received" in response.content.decode()
    assert Return.objects.get().status == "rejected"


def test_a_view_only_staff_member_is_offered_no_return_actions(client, requested):
    client.force_login(staff_with_permissions("orders.view_return"))

    html = client.get(URL).content.decode()
    client.post(URL, {"action": "receive", "_selected_action": [requested.pk]})

    assert 'value="receive"' not in html
    assert Return.objects.get().status == "requested"


def test_the_order_screen_lists_its_returns(admin_client, requested):
    html = admin_client.get(f"/admin/orders/order/{requested.order_id}/change/").content.decode()

    assert "broken" in html and f"/admin/orders/return/{requested.pk}/change/" in html
