"""The demo's order history: placed through the services, so every invariant holds."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from inventory.models import StockItem, StockMovement
from orders.models import Invoice, Order, OrderLine, OrderStatus
from payments.models import Payment
from recommendations.models import Interaction

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def history(django_db_setup, django_db_blocker):
    """The demo catalog and 60 orders by 20 shoppers over 90 days (built once: it is slow)."""
    with django_db_blocker.unblock():
        from django.db import connection, transaction

        with transaction.atomic():
            call_command("load_demo", products=320, no_progress=True, stdout=StringIO())
            out = StringIO()
            call_command(
                "load_demo_interactions", users=20, per_user=5, orders=60, days=90, stdout=out
            )
            yield out.getvalue()
            transaction.set_rollback(True)
        connection.close()


def test_the_orders_span_the_days_and_reach_several_states(history):
    now = timezone.now()
    times = list(Order.objects.values_list("created_at", flat=True))

    assert len(times) >= 50
    assert min(times) >= now - timedelta(days=91)
    assert min(times) < now - timedelta(days=45)
    assert max(times) > now - timedelta(days=20)
    statuses = set(Order.objects.values_list("status", flat=True))
    assert {OrderStatus.DELIVERED, OrderStatus.CANCELLED} <= statuses
    assert "orders: " in history


def test_totals_are_the_sum_of_their_lines(history):
    for order in Order.objects.all():
        lines = OrderLine.objects.filter(order=order).aggregate(s=Sum("line_total"))["s"]
        assert order.subtotal == lines
        assert order.total == order.subtotal - order.discount + order.shipping


def test_paid_orders_have_a_captured_payment_and_an_invoice_in_date_order(history):
    paid = Order.objects.filter(paid_at__isnull=False).exclude(status=OrderStatus.CANCELLED)
    assert paid.exists()
    for order in paid:
        assert Payment.objects.get(order=order).status == "completed"
        assert Invoice.objects.filter(order=order, kind="invoice").count() == 1
        assert order.paid_at >= order.created_at
    invoices = list(Invoice.objects.filter(kind="invoice").order_by("issued_at", "pk"))
    numbers = [invoice.number for invoice in invoices]
    assert numbers == sorted(numbers)
    unpaid = Order.objects.filter(paid_at__isnull=True)
    assert not Invoice.objects.filter(order__in=unpaid).exists()


def test_the_stock_ledger_sums_to_the_levels(history):
    for item in StockItem.objects.all():
        moved = StockMovement.objects.filter(product_id=item.product_id).aggregate(
            q=Sum("delta"), r=Sum("reserved_delta")
        )
        assert (moved["q"] or 0, moved["r"] or 0) == (item.quantity, item.reserved)
        assert 0 <= item.reserved <= item.quantity


def test_phones_come_with_their_accessories(history):
    with_phone = Order.objects.filter(lines__product__category__slug="phones").distinct()
    assert with_phone.exists()
    companions = OrderLine.objects.filter(
        order__in=with_phone, product__category__slug="accessories"
    )
    assert (
        companions.filter(product_name__contains="Phone Case").exists()
        or companions.filter(product_name__contains="Charger").exists()
    )


def test_purchases_are_the_paid_orders_lines_at_their_time(history):
    paid = Order.objects.filter(paid_at__isnull=False).exclude(status=OrderStatus.CANCELLED)
    purchases = Interaction.objects.filter(kind="purchase")
    expected = sorted(
        (line.order.user_id, line.product_id, line.order.paid_at)
        for line in OrderLine.objects.filter(order__in=paid).select_related("order")
    )
    assert sorted(purchases.values_list("user_id", "product_id", "at")) == expected


def test_shoppers_buy_and_view_variants_never_parents(history):
    from catalog.models import Product

    parent = Product.Structure.PARENT
    assert not OrderLine.objects.filter(product__structure=parent).exists()
    assert not Interaction.objects.filter(product__structure=parent).exists()
    # The families sold in sizes and colours are part of the demo's life.
    child = Product.Structure.CHILD
    assert Interaction.objects.filter(product__structure=child, source__startswith="demo:").exists()
