"""Staff screens of the inventory: read-only levels and ledger, adjustments, reorder actions."""

import pytest

from inventory.models import ReorderRequest, StockItem, StockMovement
from inventory.services import stock_remove, stock_reserve
from tests.factories import staff_with_permissions

pytestmark = pytest.mark.django_db


def test_every_inventory_screen_renders(admin_client, stocked, order_for):
    product = stocked(6, reorder_point=5)
    stock_reserve(order=order_for((product, 2)), lines=[(product.pk, 2)])
    for path in (
        "/admin/inventory/stockitem/",
        f"/admin/inventory/stockitem/{product.pk}/change/",
        "/admin/inventory/stockmovement/",
        "/admin/inventory/reservation/",
        "/admin/inventory/reorderrequest/",
    ):
        assert admin_client.get(path).status_code == 200, path


def test_an_adjustment_in_the_admin_goes_through_the_service(admin_client, admin_user, stocked):
    product = stocked(6)
    url = f"/admin/inventory/stockitem/{product.pk}/change/"

    response = admin_client.post(
        url,
        {
            "reorder_point": 2,
            "reorder_quantity": 10,
            "adjust_by": -4,
            "adjust_reason": "water damage",
            # A stale form cannot write the levels: they are read-only.
            "quantity": 999,
            "reserved": 999,
        },
    )

    assert response.status_code == 302
    item = StockItem.objects.get(pk=product.pk)
    assert (item.quantity, item.reserved, item.reorder_point) == (2, 0, 2)
    movement = StockMovement.objects.get(kind="adjustment")
    assert (movement.delta, movement.reason, movement.actor) == (-4, "water damage", admin_user)


def test_an_adjustment_without_a_reason_is_refused(admin_client, stocked):
    product = stocked(6)
    response = admin_client.post(
        f"/admin/inventory/stockitem/{product.pk}/change/",
        {"reorder_point": 0, "reorder_quantity": 10, "adjust_by": 3, "adjust_reason": ""},
    )
    assert response.status_code == 200  # the form again, with the error
    assert StockItem.objects.get(pk=product.pk).quantity == 6


def test_reorder_actions_mark_ordered_and_receive(admin_client, stocked):
    product = stocked(6, reorder_point=5, reorder_quantity=30)
    stock_remove(product_id=product.pk, quantity=1, reason="count")
    request = ReorderRequest.objects.get()
    url = "/admin/inventory/reorderrequest/"

    admin_client.post(url, {"action": "mark_ordered", "_selected_action": [request.pk]})
    assert ReorderRequest.objects.get().status == "ordered"
    admin_client.post(url, {"action": "receive", "_selected_action": [request.pk]})

    assert ReorderRequest.objects.get().status == "received"
    assert StockItem.objects.get(pk=product.pk).quantity == 35


@pytest.mark.parametrize("action", ["mark_ordered", "receive"])
def test_a_view_only_staff_member_is_not_offered_the_reorder_actions(client, stocked, action):
    product = stocked(6, reorder_point=5)
    stock_remove(product_id=product.pk, quantity=1, reason="count")
    client.force_login(staff_with_permissions("inventory.view_reorderrequest"))

    response = client.get("/admin/inventory/reorderrequest/")

    assert response.status_code == 200
    assert f'value="{action}"' not in response.content.decode()


def test_a_view_only_staff_member_cannot_receive_a_reorder(client, stocked):
    product = stocked(6, reorder_point=5, reorder_quantity=30)
    stock_remove(product_id=product.pk, quantity=1, reason="count")
    request = ReorderRequest.objects.get()
    client.force_login(staff_with_permissions("inventory.view_reorderrequest"))

    client.post(
        "/admin/inventory/reorderrequest/", {"action": "receive", "_selected_action": [request.pk]}
    )

    assert ReorderRequest.objects.get().status == ReorderRequest.Status.OPEN
    assert StockItem.objects.get(pk=product.pk).quantity == 5


def test_staff_who_may_change_reorders_run_the_actions(client, stocked):
    product = stocked(6, reorder_point=5, reorder_quantity=30)
    stock_remove(product_id=product.pk, quantity=1, reason="count")
    request = ReorderRequest.objects.get()
    client.force_login(
        staff_with_permissions("inventory.view_reorderrequest", "inventory.change_reorderrequest")
    )

    client.post(
        "/admin/inventory/reorderrequest/", {"action": "receive", "_selected_action": [request.pk]}
    )

    assert StockItem.objects.get(pk=product.pk).quantity == 35


def test_stock_records_cannot_be_deleted_in_the_admin(admin_client, stocked):
    product = stocked(6)

    admin_client.post(f"/admin/inventory/stockitem/{product.pk}/delete/", {"post": "yes"})

    assert StockItem.objects.filter(pk=product.pk).exists()
