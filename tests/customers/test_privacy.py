"""Privacy: a customer gets a copy of everything the shop holds about them, and erasing the
account leaves no e-mail, name, address or phone anywhere in the database."""

import uuid
from unittest import mock

import pytest
from axes.models import AccessAttempt
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from customers import alerts, wishlist
from customers.models import Address, EmailAddress, StockAlert, WishlistItem
from customers.privacy import customer_export
from orders import services as orders
from orders.models import Cart, IdempotencyRecord, Invoice, Order
from orders.services.returns import return_request
from recommendations import services as reco
from recommendations.models import Interaction, Review, UserRecommendation
from shop.fields import EncryptedJSONField, EncryptedTextField
from tests.customers.factories import make_address
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
# Values that cannot turn up by chance (in a Fernet token, a hash, a number).
PERSON = {
    "username": "zelda_quokka",
    "email": "zelda.quokka@example.org",
    "first_name": "Zeldarine",
    "last_name": "Quokkaberg",
}
ADDRESS = {
    "name": "Zeldarine Quokkaberg",
    "line1": "Wombatweg 77",
    "line2": "Hinterhaus, 3. Stock",
    "city": "Quokkastadt an der Ilm",
    "postal_code": "QX 98765",
    "country": "DE",
    "phone": "+49 555 0199 77",
}
NEEDLES = [
    PERSON["email"],
    PERSON["username"],
    PERSON["first_name"],
    PERSON["last_name"],
    ADDRESS["line1"],
    ADDRESS["line2"],
    ADDRESS["city"],
    ADDRESS["postal_code"],
    ADDRESS["phone"],
]


def personal_data_found() -> list[str]:
    """Every place in the database that holds one of NEEDLES: each text column of each table
    (read as text, so JSON and every other type too), every encrypted field decrypted, and every
    session decoded."""
    needles = [needle.lower() for needle in NEEDLES]
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            columns = connection.introspection.get_table_description(cursor, table)
            quoted_table = connection.ops.quote_name(table)
            for column in columns:
                name = connection.ops.quote_name(column.name)
                cursor.execute(f"SELECT CAST({name} AS TEXT) FROM {quoted_table}")
                for (value,) in cursor.fetchall():
                    if value and any(needle in value.lower() for needle in needles):
                        found.append(f"{table}.{column.name}: {value[:80]}")
    for model in apps.get_models():
        encrypted = [
            field.name
            for field in model._meta.concrete_fields
            if isinstance(field, EncryptedTextField | EncryptedJSONField)
        ]
        for field in encrypted:
            for value in model.objects.values_list(field, flat=True):
                text = str(value).lower()
                if any(needle in text for needle in needles):
                    found.append(f"{model._meta.label}.{field} (decrypted): {text[:80]}")
    for session in Session.objects.all():
        text = str(session.get_decoded()).lower()
        if any(needle in text for needle in needles):
            found.append(f"session {session.pk}")
    return found


@pytest.fixture
def customer(db):
    return UserFactory(**PERSON)


@pytest.fixture
def customer_client(customer):
    client = APIClient()
    client.force_authenticate(customer)
    return client


@pytest.fixture
def lived_in(customer, customer_client, stocked, staff):
    """A customer who used everything: an address book, a delivered and paid order placed with
    an Idempotency-Key (so an invoice), a review, a wishlist, a back-in-stock alert, a cart, an
    API token, a signed-in session, a failed sign-in, and an entry in the admin's history."""
    make_address(customer, **ADDRESS)
    EmailAddress.objects.create(user=customer, email=customer.email, verified_at=timezone.now())
    product = stocked(quantity=5)
    response = customer_client.post(
        "/api/orders/",
        {
            "items": [{"product": product.pk, "quantity": 1}],
            "shipping_address": ADDRESS,
            "payment": {"method": "card", "token": "tok_visa"},
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["id"])
    orders.order_process(order_id=order.pk)
    orders.order_ship(order_id=order.pk, actor="staff")
    orders.order_deliver(order_id=order.pk, actor="staff")
    return_request(
        order_id=order.pk,
        lines=[(order.lines.get().pk, 1)],
        reason="Too small",
        user=customer,
    )
    reco.review_create(user=customer, product=product, rating=4, title="Good", text="Fine")
    reco.product_view_record(user=customer, product=product)
    sold_out = stocked(quantity=0)
    wishlist.wishlist_add(owner=customer, product=sold_out)
    alerts.stock_alert_subscribe(owner=customer, product=sold_out)
    orders.cart_add_item(
        cart=orders.cart_get_or_create(user=customer), product_id=product.pk, quantity=1
    )
    anonymous = APIClient()
    token = anonymous.post(
        "/api/auth/token/", {"username": customer.username, "password": PASSWORD}, format="json"
    )
    assert token.status_code == 200
    anonymous.post(
        "/api/auth/token/", {"username": customer.username, "password": "wrong"}, format="json"
    )
    Client().force_login(customer)
    LogEntry.objects.create(
        user=staff,
        content_type=ContentType.objects.get_for_model(customer),
        object_id=str(customer.pk),
        object_repr=str(customer),
        action_flag=CHANGE,
        change_message=f"Changed email to {customer.email}",
    )
    customer.refresh_from_db()
    return order


def erase(client, password=PASSWORD):
    return client.delete("/api/account/", {"password": password}, format="json")


# --- export ---------------------------------------------------------------------------------
def test_the_export_holds_everything_about_the_customer_and_no_card_token(
    customer_client, lived_in
):
    response = customer_client.get("/api/account/export/")

    assert response.status_code == 200
    body = response.json()
    assert body["profile"]["email"] == PERSON["email"]
    assert body["addresses"][0]["line1"] == ADDRESS["line1"]
    assert body["email_verification"][0]["email"] == PERSON["email"]
    (order,) = body["orders"]
    assert order["number"] == lived_in.number
    assert order["shipping_address"]["phone"] == ADDRESS["phone"]
    assert order["lines"][0]["quantity"] == 1
    assert order["payments"][0]["card_last4"] == "4242"
    assert order["returns"][0]["reason"] == "Too small"
    assert order["invoices"][0]["number"] == Invoice.objects.get(order=lived_in).number
    assert {i["kind"] for i in body["interactions"]} >= {"view", "rating"}
    assert body["reviews"][0]["rating"] == 4
    assert len(body["wishlist"]) == 1
    assert len(body["stock_alerts"]) == 1
    assert body["cart"]["items"][0]["quantity"] == 1
    assert "tok_visa" not in response.content.decode()


def test_the_export_of_one_customer_holds_nothing_of_another(customer_client, customer, user):
    make_address(user, name="Somebody Else")

    body = customer_client.get("/api/account/export/").json()

    assert body["addresses"] == []
    assert "Somebody Else" not in str(body)


def test_an_anonymous_visitor_gets_no_export(api_client):
    assert api_client.get("/api/account/export/").status_code == 401


# --- erasure --------------------------------------------------------------------------------
def test_the_scan_sees_the_personal_data_of_a_customer_who_used_the_shop(lived_in):
    found = personal_data_found()

    # Plain columns, encrypted fields and sessions: the scan reads all of them.
    assert any(hit.startswith("auth_user.") for hit in found)
    assert any("customers.Address.line1 (decrypted)" in hit for hit in found)
    assert any("customers.EmailAddress.email (decrypted)" in hit for hit in found)
    assert any("orders.Order.shipping_address (decrypted)" in hit for hit in found)
    assert any("orders.Invoice.buyer (decrypted)" in hit for hit in found)
    assert any("orders.IdempotencyRecord.response_body (decrypted)" in hit for hit in found)
    assert any(hit.startswith("axes_accessattempt.") for hit in found)
    assert any(hit.startswith("django_admin_log.") for hit in found)


def test_an_erased_account_leaves_no_email_name_address_or_phone_in_any_table(
    customer_client, customer, lived_in
):
    response = erase(customer_client)

    assert response.status_code == 204
    assert personal_data_found() == []


def test_erasure_keeps_what_accounting_needs(customer_client, customer, lived_in):
    invoice = Invoice.objects.get(order=lived_in)
    lines = list(lived_in.lines.values_list("sku", "quantity", "line_total", "tax_amount"))

    erase(customer_client)

    order = Order.objects.get(pk=lived_in.pk)
    assert (order.number, order.total, order.tax_total) == (
        lived_in.number,
        lived_in.total,
        lived_in.tax_total,
    )
    assert list(order.lines.values_list("sku", "quantity", "line_total", "tax_amount")) == lines
    assert order.email == ""
    assert order.shipping_address["country"] == "DE"
    assert order.shipping_address["name"] == "erased"
    kept = Invoice.objects.get(pk=invoice.pk)
    assert (kept.number, kept.gross, kept.lines) == (invoice.number, invoice.gross, invoice.lines)
    assert kept.buyer["country"] == "DE"
    payment = order.payments.get()
    assert (payment.card_brand, payment.card_last4, payment.token_reference) == (
        "visa",
        "4242",
        "",
    )


def test_erasure_deletes_what_only_served_the_customer(customer_client, customer, lived_in):
    erase(customer_client)

    for model, owner in (
        (Address, "owner"),
        (EmailAddress, "user"),
        (WishlistItem, "owner"),
        (StockAlert, "owner"),
        (Cart, "user"),
        (IdempotencyRecord, "user"),
        (Token, "user"),
        (UserRecommendation, "user"),
    ):
        assert not model.objects.filter(**{owner: customer}).exists(), model
    assert not AccessAttempt.objects.exists()
    assert not Session.objects.exists()


def test_interactions_and_reviews_stay_without_their_author(customer_client, customer, lived_in):
    interactions = Interaction.objects.filter(user=customer).count()

    erase(customer_client)

    assert interactions > 0
    assert Interaction.objects.filter(user__isnull=True).count() == interactions
    review = Review.objects.get()
    assert review.user is None and review.rating == 4
    reviews = APIClient().get(f"/api/products/{review.product_id}/reviews/").json()
    assert reviews["results"][0]["author"] == "A former customer"


def test_the_next_training_does_not_know_an_erased_customer(customer_client, customer, lived_in):
    other = UserFactory()
    product = lived_in.lines.get().product
    reco.interaction_record(user=other, product=product, kind="view")

    erase(customer_client)
    from recommendations.training import training_interactions

    data, user_ids, product_ids, n = training_interactions()

    assert customer.pk not in set(user_ids.tolist())
    assert other.pk in set(user_ids.tolist())


def test_the_erased_account_cannot_sign_in_any_more(customer_client, customer, lived_in):
    erase(customer_client)

    account = get_user_model().objects.get(pk=customer.pk)
    assert (account.username, account.email, account.is_active) == (
        f"erased-{customer.pk}",
        "",
        False,
    )
    assert not account.has_usable_password()
    answer = APIClient().post(
        "/api/auth/token/", {"username": PERSON["username"], "password": PASSWORD}, format="json"
    )
    assert answer.status_code in (400, 401)


def test_a_wrong_password_erases_nothing(customer_client, customer, lived_in):
    response = erase(customer_client, password="not-it")

    assert response.status_code == 400
    assert response.json()["error"]["details"]["password"]
    assert customer_export(user=customer)["profile"]["email"] == PERSON["email"]
    assert Address.objects.filter(owner=customer).exists()


def test_a_missing_password_is_a_validation_error(customer_client):
    response = customer_client.delete("/api/account/", {}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_an_order_on_its_way_keeps_the_account(customer_client, customer, stocked):
    product = stocked(quantity=3)
    orders.order_place(
        user=customer,
        shipping_address=ADDRESS,
        payment_token="tok_visa",
        lines=[(product.pk, 1)],
    )

    response = erase(customer_client)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "open_orders"
    assert get_user_model().objects.get(pk=customer.pk).email == PERSON["email"]


def test_guessing_the_password_is_held_to_the_sign_in_rate(customer_client, customer, settings):
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**SimpleRateThrottle.THROTTLE_RATES, "login": "2/min"}
    with mock.patch.object(SimpleRateThrottle, "THROTTLE_RATES", rates):
        answers = [erase(customer_client, password=f"guess-{n}").status_code for n in range(3)]

    assert answers == [400, 400, 429]


# --- guest orders placed with the account's address ------------------------------------------
def guest_order(stocked, email):
    """An order placed without signing in, with ``email``, processed and delivered."""
    product = stocked(quantity=5)
    order = orders.order_place(
        user=None,
        email=email,
        shipping_address=ADDRESS,
        payment_token="tok_visa",
        lines=[(product.pk, 1)],
    )
    return order


def deliver(order):
    orders.order_process(order_id=order.pk)
    orders.order_ship(order_id=order.pk, actor="staff")
    orders.order_deliver(order_id=order.pk, actor="staff")


def verify(customer):
    EmailAddress.objects.create(user=customer, email=customer.email, verified_at=timezone.now())


def test_the_export_holds_a_guest_order_placed_with_the_verified_address(
    customer_client, customer, stocked
):
    verify(customer)
    guest = guest_order(stocked, PERSON["email"].upper())

    body = customer_client.get("/api/account/export/").json()

    assert [order["number"] for order in body["orders"]] == [guest.number]


def test_a_guest_order_with_an_unverified_address_is_not_exported(
    customer_client, customer, stocked
):
    guest = guest_order(stocked, PERSON["email"])

    body = customer_client.get("/api/account/export/").json()

    assert body["orders"] == []
    assert Order.objects.get(pk=guest.pk).user is None


def test_an_open_guest_order_with_the_verified_address_keeps_the_account(
    customer_client, customer, stocked
):
    verify(customer)
    guest_order(stocked, PERSON["email"])

    response = erase(customer_client)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "open_orders"


def test_erasure_anonymises_a_delivered_guest_order_placed_with_the_verified_address(
    customer_client, customer, stocked
):
    verify(customer)
    guest = guest_order(stocked, PERSON["email"])
    deliver(guest)

    response = erase(customer_client)

    assert response.status_code == 204, response.content
    guest = Order.objects.get(pk=guest.pk)
    assert guest.user_id == customer.pk
    assert guest.email == ""
    assert ADDRESS["line1"] not in str(guest.shipping_address)
