"""The address book at checkout: the default preselected, another chosen with one click, and a
new one saved on request."""

import pytest

from customers.models import Address
from orders.models import Order
from tests.customers.factories import ADDRESS, make_address
from tests.factories import UserFactory
from tests.orders.test_storefront import checkout_form, shown_total

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(client, stocked):
    user = UserFactory()
    client.force_login(user)
    client.post("/cart/add/", {"product": stocked(quantity=5).id, "quantity": 1})
    return user


def test_the_default_address_is_filled_in(client, customer):
    make_address(customer, name="Other Person", city="Hamburg")
    make_address(customer, make_default=True)

    form = client.get("/checkout/").context["form"]

    assert form["line1"].value() == ADDRESS["line1"]
    assert form["city"].value() == "Berlin"


def test_another_saved_address_is_chosen_with_one_click(client, customer):
    make_address(customer)
    paris = make_address(customer, name="Dana in Paris", city="Paris", country="FR")

    response = client.post("/checkout/", {"use_address": paris.pk, "idempotency_key": "k"})

    form = response.context["form"]
    assert form["city"].value() == "Paris" and form["country"].value() == "FR"
    assert response.context["quote"].currency == "EUR"  # re-priced for France
    selected = [e["saved"].id for e in response.context["saved_addresses"] if e["selected"]]
    assert selected == [paris.pk]
    assert not Order.objects.exists()


def test_another_customers_address_cannot_be_chosen(client, customer):
    stranger = make_address(UserFactory(), name="Not Yours", city="Munich")
    response = client.post("/checkout/", {"use_address": stranger.pk, "idempotency_key": "k"})
    assert b"Not Yours" not in response.content and b"Munich" not in response.content


def test_save_this_address_keeps_a_new_address_in_the_book(client, customer):
    client.post(
        "/checkout/",
        checkout_form(save_address="on", expected_total=shown_total(client)),
    )
    order = Order.objects.get()
    saved = Address.objects.get(owner=customer)
    assert saved.line1 == order.shipping_address["line1"] and saved.is_default


def test_saving_an_address_already_in_the_book_adds_no_copy(client, customer):
    make_address(customer)
    client.post(
        "/checkout/",
        checkout_form(
            save_address="on",
            expected_total=shown_total(client),
            **{**ADDRESS, "country": "de"},
        ),
    )
    assert Order.objects.count() == 1
    assert Address.objects.filter(owner=customer).count() == 1


def test_without_the_box_ticked_nothing_is_saved(client, customer):
    client.post("/checkout/", checkout_form(expected_total=shown_total(client)))
    assert Order.objects.count() == 1 and not Address.objects.exists()


def test_a_guest_is_offered_no_address_book(client, stocked):
    client.post("/cart/add/", {"product": stocked(quantity=5).id, "quantity": 1})
    response = client.get("/checkout/")
    assert response.context["saved_addresses"] == []
    assert "save_address" not in response.context["form"].fields
