"""The address book over the API: a customer sees and changes only their own addresses."""

import pytest

from customers.models import Address
from tests.customers.factories import ADDRESS, make_address
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ADDRESSES = "/api/account/addresses/"


def detail(address) -> str:
    return f"{ADDRESSES}{address.pk}/"


def test_an_anonymous_visitor_is_refused(api_client):
    assert api_client.get(ADDRESSES).status_code == 401


def test_the_first_address_added_is_the_default(user_client, user):
    response = user_client.post(ADDRESSES, {**ADDRESS, "country": "de"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["is_default"] is True
    assert body["country"] == "DE"
    assert Address.objects.get(pk=body["id"]).owner == user


def test_the_list_holds_only_the_customers_own_addresses_default_first(user_client, user):
    make_address(UserFactory())
    first = make_address(user)
    second = make_address(user, city="Hamburg", make_default=True)

    response = user_client.get(ADDRESSES)

    assert response.status_code == 200
    assert [a["id"] for a in response.json()] == [second.pk, first.pk]
    assert response.json()[0]["city"] == "Hamburg"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"country": "DEU"}, "country"),
        ({"country": "1A"}, "country"),
        ({"postal_code": ""}, "postal_code"),
        ({"phone": "call me"}, "phone"),
    ],
)
def test_bad_input_is_a_400_in_the_api_error_format(user_client, changes, field):
    response = user_client.post(ADDRESSES, {**ADDRESS, **changes}, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"]
    assert not Address.objects.exists()


def test_patch_changes_an_address_and_can_make_it_the_default(user_client, user):
    first = make_address(user)
    second = make_address(user)

    response = user_client.patch(
        detail(second), {"city": "Bremen", "is_default": True}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["city"] == "Bremen"
    assert response.json()["is_default"] is True
    first.refresh_from_db()
    assert not first.is_default


def test_the_default_is_not_given_up_without_choosing_another(user_client, user):
    address = make_address(user)

    response = user_client.patch(detail(address), {"is_default": False}, format="json")

    assert response.status_code == 400
    assert "is_default" in response.json()["error"]["details"]
    address.refresh_from_db()
    assert address.is_default


def test_delete_removes_the_address_and_moves_the_default(user_client, user):
    first = make_address(user)
    second = make_address(user)

    assert user_client.delete(detail(first)).status_code == 204

    second.refresh_from_db()
    assert second.is_default
    assert not Address.objects.filter(pk=first.pk).exists()


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_another_customers_address_is_a_404_and_stays_as_it_was(user_client, method):
    theirs = make_address(UserFactory())

    response = getattr(user_client, method)(detail(theirs), {"city": "Nowhere"}, format="json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.city == ADDRESS["city"]


def test_an_id_past_every_database_integer_is_a_404(user_client):
    assert user_client.delete(f"{ADDRESSES}{2**64}/").status_code == 404


def test_a_full_address_book_is_a_409(user_client, user, monkeypatch):
    monkeypatch.setattr("customers.services.MAX_ADDRESSES", 1)
    make_address(user)

    response = user_client.post(ADDRESSES, ADDRESS, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "address_book_full"
