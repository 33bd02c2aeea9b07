"""The staff dashboard: who sees it, what it shows, and its charts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Order, OrderStatus
from payments.models import Payment
from shop import cache as shop_cache
from shop import dashboard
from tests.factories import OrderFactory, PaymentFactory, ProductFactory, StockItemFactory

pytestmark = pytest.mark.django_db
URL = "/admin/dashboard/"


def test_anonymous_visitors_are_sent_to_the_admin_login(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_customers_do_not_see_it(client, user):
    client.force_login(user)

    assert client.get(URL).status_code == 302


def test_the_admin_index_links_to_the_dashboard(client, staff):
    client.force_login(staff)

    assert f'href="{URL}"' in client.get("/admin/").content.decode()


def test_staff_see_orders_revenue_stock_and_cache_figures(client, staff):
    OrderFactory(total=Decimal("30.00"))
    OrderFactory(total=Decimal("12.50"))
    low = ProductFactory(name="Nearly gone teapot")
    StockItemFactory(product=low, quantity=3, reserved=1, reorder_point=5)
    plenty = ProductFactory(name="Plentiful mug")
    StockItemFactory(product=plenty, quantity=50, reorder_point=5)
    shop_cache.cached("catalog", "k", lambda: 1)
    shop_cache.cached("catalog", "k", lambda: 1)
    client.force_login(staff)

    response = client.get(URL)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in html and "Orders per day" in html
    assert "42.50 EUR" in html
    assert "Nearly gone teapot" in html
    assert "Plentiful mug" not in html
    assert "50&nbsp;%" in html  # one hit, one miss in the catalog area
    assert "<script" not in html.split('id="content-main"')[1]  # charts are plain SVG


def test_orders_per_day_cover_30_days_and_leave_cancelled_orders_out_of_revenue():
    today = timezone.localdate()
    OrderFactory(total=Decimal("10.00"))
    cancelled = OrderFactory(total=Decimal("99.00"))
    Order.objects.filter(pk=cancelled.pk).update(status=OrderStatus.CANCELLED)
    old = OrderFactory(total=Decimal("5.00"))
    Order.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))

    days = dashboard.orders_per_day()

    assert len(days) == 30 and days[-1].day == today
    assert days[-1].orders == 2
    assert days[-1].revenue == {"EUR": Decimal("10.00")}
    assert sum(d.orders for d in days) == 2


def test_revenue_is_summed_per_currency_never_across_currencies(client, staff):
    OrderFactory(total=Decimal("30.00"), currency="EUR")
    OrderFactory(total=Decimal("12.50"), currency="EUR")
    OrderFactory(total=Decimal("100.00"), currency="USD")
    client.force_login(staff)

    days = dashboard.orders_per_day()
    html = client.get(URL).content.decode()

    assert days[-1].orders == 3
    assert days[-1].revenue == {"EUR": Decimal("42.50"), "USD": Decimal("100.00")}
    assert "42.50 EUR" in html and "100.00 USD" in html
    assert "142.50" not in html
    assert html.count('aria-label="Revenue per day') == 2  # one chart per currency


def test_chart_labels_are_escaped():
    svg = dashboard.bar_chart([1, 2], ["<b>a</b>", "b"], title="T & <x>")

    assert "<b>" not in svg
    assert "&lt;b&gt;" in svg
    assert svg.count("<rect") == 2


def test_missing_optional_models_leave_their_panels_empty(monkeypatch):
    monkeypatch.setattr(dashboard, "_model", lambda app_label, name: None)

    assert dashboard.payment_failure_rate() is None
    assert dashboard.recommendation_models() is None
    assert dashboard.low_stock() == []


def test_the_payment_failure_rate_counts_failures_among_finished_payments(client, staff):
    Status = Payment.Status
    for status in [
        Status.COMPLETED,
        Status.COMPLETED,
        Status.REFUNDED,
        Status.FAILED,
        Status.PENDING,
    ]:
        PaymentFactory(status=status)
    client.force_login(staff)

    rate = dashboard.payment_failure_rate()
    html = client.get(URL).content.decode()

    assert (rate["failed"], rate["finished"]) == (1, 4)
    assert rate["rate"] == 0.25
    assert '<strong id="payment-failure-rate">25&nbsp;%</strong>' in html


def test_recommendation_model_versions_show_their_offline_metrics(client, staff):
    ModelVersion = dashboard._model("recommendations", "ModelVersion")
    if ModelVersion is None:
        pytest.skip("recommendations.ModelVersion is not built yet")
    ModelVersion.objects.create(
        algorithm="item_cf", status="ready", metrics={"precision_at_10": 0.123456, "note": "x"}
    )
    client.force_login(staff)

    panel = dashboard.recommendation_models()
    html = client.get(URL).content.decode()

    assert "precision_at_10" in panel["columns"]
    assert "note" not in panel["columns"]
    assert "item_cf" in html and "0.123" in html
