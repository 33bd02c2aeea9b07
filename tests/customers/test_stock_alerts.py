"""Back in stock: a customer asks about a sold-out product and gets one mail, once, when it is
back, however many restocks or task runs there are."""

from smtplib import SMTPException
from unittest import mock

import pytest
from django.core import mail

from customers import alerts
from customers.models import StockAlert
from inventory import services as inventory
from tests.factories import ProductFactory, StockItemFactory, UserFactory
from tests.utils import requires_postgres, run_together


def sold_out(**product):
    # No reorder point: the staff's reorder mails stay out of the customer's outbox.
    item = StockItemFactory(
        product=ProductFactory(**product), quantity=0, reorder_point=0, reorder_quantity=0
    )
    return item.product


def alert_mails(product):
    return [m for m in mail.outbox if product.name in m.subject]


def notify_me(client, product):
    return client.post(f"/api/products/{product.pk}/notify-me/")


@pytest.mark.django_db
class TestAsking:
    def test_a_sold_out_product_takes_an_alert(self, user_client, user):
        product = sold_out()

        response = notify_me(user_client, product)

        assert response.status_code == 201
        assert response.json()["status"] == "waiting"
        assert StockAlert.objects.get().owner == user

    def test_asking_twice_keeps_one_waiting_alert(self, user_client, user):
        product = sold_out()
        notify_me(user_client, product)

        response = notify_me(user_client, product)

        assert response.status_code == 200
        assert StockAlert.objects.count() == 1

    def test_a_product_in_stock_needs_no_alert(self, user_client, stocked):
        response = notify_me(user_client, stocked(quantity=3))

        assert response.status_code == 409
        assert response.json()["error"]["code"] == "product_in_stock"
        assert not StockAlert.objects.exists()

    def test_an_unknown_product_is_a_404(self, user_client):
        assert user_client.post("/api/products/999999/notify-me/").status_code == 404

    def test_an_anonymous_visitor_is_refused(self, api_client):
        assert notify_me(api_client, sold_out()).status_code == 401

    def test_the_sold_out_product_page_offers_the_alert(self, client, user):
        product = sold_out()
        client.force_login(user)

        assert b"E-mail me when it is back" in client.get(product.get_absolute_url()).content
        client.post(f"/accounts/stock-alerts/{product.pk}/", {"next": product.get_absolute_url()})

        page = client.get(product.get_absolute_url()).content
        assert b"We will e-mail you once when it is back" in page
        assert StockAlert.objects.filter(owner=user, product=product).exists()


@pytest.mark.django_db
class TestSending:
    def test_a_restock_sends_one_mail_with_both_parts(
        self, user, django_capture_on_commit_callbacks
    ):
        product = sold_out(name="Brass Kettle")
        alerts.stock_alert_subscribe(owner=user, product=product)

        with django_capture_on_commit_callbacks(execute=True):
            inventory.stock_add(product_id=product.pk, quantity=4, reason="delivery")

        (message,) = alert_mails(product)
        assert message.to == [user.email]
        assert message.alternatives[0][1] == "text/html"
        assert product.get_absolute_url() in message.body
        assert StockAlert.objects.get().sent_at is not None

    def test_a_second_restock_sends_nothing_more(self, user, django_capture_on_commit_callbacks):
        product = sold_out()
        alerts.stock_alert_subscribe(owner=user, product=product)
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                inventory.stock_add(product_id=product.pk, quantity=1, reason="delivery")

        assert len(alert_mails(product)) == 1

    def test_running_the_task_twice_sends_once(self, user):
        product = sold_out()
        alerts.stock_alert_subscribe(owner=user, product=product)
        inventory.stock_add(product_id=product.pk, quantity=1, reason="delivery")

        first = alerts.stock_alerts_send(product_id=product.pk)
        second = alerts.stock_alerts_send(product_id=product.pk)

        assert (first, second) == (1, 0)
        assert len(alert_mails(product)) == 1

    def test_nothing_is_sent_while_the_product_is_still_sold_out(self, user):
        product = sold_out()
        alerts.stock_alert_subscribe(owner=user, product=product)

        assert alerts.stock_alerts_send(product_id=product.pk) == 0
        assert StockAlert.objects.get().sent_at is None

    def test_every_waiting_customer_gets_their_own_mail(self, django_capture_on_commit_callbacks):
        product = sold_out()
        customers = [UserFactory(), UserFactory()]
        for customer in customers:
            alerts.stock_alert_subscribe(owner=customer, product=product)

        with django_capture_on_commit_callbacks(execute=True):
            inventory.stock_add(product_id=product.pk, quantity=1, reason="delivery")

        assert sorted(m.to[0] for m in alert_mails(product)) == sorted(c.email for c in customers)

    def test_a_mail_server_failure_keeps_the_alert_for_the_retry(self, user):
        product = sold_out()
        alerts.stock_alert_subscribe(owner=user, product=product)
        inventory.stock_add(product_id=product.pk, quantity=1, reason="delivery")

        down = mock.patch("customers.alerts.mail_send", side_effect=SMTPException("down"))
        with down, pytest.raises(SMTPException):
            alerts.stock_alerts_send(product_id=product.pk)
        alert = StockAlert.objects.get()
        assert (alert.claimed_at, alert.sent_at) == (None, None)

        assert alerts.stock_alerts_send(product_id=product.pk) == 1

    def test_a_sent_alert_can_be_asked_for_again(self, user):
        product = sold_out()
        alerts.stock_alert_subscribe(owner=user, product=product)
        inventory.stock_add(product_id=product.pk, quantity=1, reason="delivery")
        alerts.stock_alerts_send(product_id=product.pk)
        inventory.stock_remove(product_id=product.pk, quantity=1, reason="damaged")

        alert, created = alerts.stock_alert_subscribe(owner=user, product=product)

        assert created and alert.sent_at is None

    def test_units_a_released_reservation_gives_back_send_the_alert(
        self, placed, django_capture_on_commit_callbacks
    ):
        order, product = placed(stock=1, quantity=1)  # placing reserves the last unit
        customer = UserFactory()
        alerts.stock_alert_subscribe(owner=customer, product=product)

        with django_capture_on_commit_callbacks(execute=True):
            inventory.stock_release(order=order, reason="cancelled")

        assert [m.to for m in alert_mails(product)] == [[customer.email]]


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_restocks_at_once_send_one_mail():
    product = sold_out()
    customer = UserFactory()
    alerts.stock_alert_subscribe(owner=customer, product=product)

    outcomes = run_together(
        2, lambda i: inventory.stock_add(product_id=product.pk, quantity=1, reason=f"delivery {i}")
    )

    assert not [o for o in outcomes if isinstance(o, Exception)]
    assert [m.to for m in alert_mails(product)] == [[customer.email]]
    assert StockAlert.objects.get().sent_at is not None


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_send_each_mail_once():
    product = sold_out()
    customers = [UserFactory() for _ in range(5)]
    for customer in customers:
        alerts.stock_alert_subscribe(owner=customer, product=product)
    inventory.stock_add(product_id=product.pk, quantity=1, reason="delivery")
    mail.outbox.clear()  # the restock itself already sent them (Celery runs eagerly)
    StockAlert.objects.update(sent_at=None, claimed_at=None)

    outcomes = run_together(4, lambda i: alerts.stock_alerts_send(product_id=product.pk))

    assert sum(outcomes) == 5
    assert sorted(m.to[0] for m in alert_mails(product)) == sorted(c.email for c in customers)


def test_the_sending_task_retries_a_mail_server_that_failed():
    from customers.tasks import stock_alerts_send_task

    assert issubclass(SMTPException, tuple(stock_alerts_send_task.autoretry_for))
    assert stock_alerts_send_task.retry_backoff and stock_alerts_send_task.acks_late
