"""The address book: one default at most, always one when there are addresses, kept encrypted."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from customers import services
from customers.exceptions import AddressBookFull
from customers.models import Address
from customers.selectors import customer_default_address
from tests.customers.factories import ADDRESS, make_address
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def defaults_of(user) -> list[int]:
    return list(Address.objects.filter(owner=user, is_default=True).values_list("pk", flat=True))


def test_the_first_address_becomes_the_default_and_the_next_does_not(user):
    first = make_address(user)
    second = make_address(user, city="Hamburg")

    assert defaults_of(user) == [first.pk]
    assert not second.is_default


def test_making_another_address_the_default_leaves_exactly_one(user):
    make_address(user)
    second = make_address(user, city="Hamburg")

    services.address_set_default(address=second)

    assert defaults_of(user) == [second.pk]
    assert customer_default_address(user) == second


def test_a_new_address_can_be_added_as_the_default(user):
    make_address(user)

    added = make_address(user, city="Munich", make_default=True)

    assert defaults_of(user) == [added.pk]


def test_deleting_the_default_hands_it_to_the_oldest_remaining_address(user):
    first = make_address(user)
    second = make_address(user, city="Hamburg")
    make_address(user, city="Munich")

    services.address_delete(address=first)

    assert defaults_of(user) == [second.pk]


def test_deleting_the_last_address_leaves_no_default(user):
    services.address_delete(address=make_address(user))

    assert customer_default_address(user) is None


def test_defaults_of_two_customers_do_not_touch(user):
    other = UserFactory()
    mine = make_address(user)
    theirs = make_address(other)

    services.address_set_default(address=make_address(user, city="Hamburg"))

    assert defaults_of(other) == [theirs.pk]
    assert mine.pk not in defaults_of(user)


def test_the_database_refuses_a_second_default(user):
    make_address(user)

    with pytest.raises(IntegrityError), transaction.atomic():
        Address.objects.create(owner=user, is_default=True, **ADDRESS)


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"country": "Germany"}, "country"), ({"city": ""}, "city"), ({"name": "x" * 121}, "name")],
)
def test_invalid_values_are_refused_with_the_field_named(user, changes, field):
    with pytest.raises(ValidationError) as caught:
        make_address(user, **changes)

    assert field in caught.value.message_dict
    assert not Address.objects.exists()


def test_the_country_code_is_stored_upper_case(user):
    assert make_address(user, country="fr").country == "FR"


def test_update_changes_the_given_fields_only(user):
    address = make_address(user)

    services.address_update(address=address, city="Potsdam")

    address.refresh_from_db()
    assert (address.city, address.line1) == ("Potsdam", ADDRESS["line1"])


def test_the_address_book_has_a_limit(user):
    for _ in range(services.MAX_ADDRESSES):
        make_address(user)

    with pytest.raises(AddressBookFull):
        make_address(user)


def test_personal_data_is_encrypted_at_rest(user):
    address = make_address(user)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, line1, city, postal_code, phone FROM customers_address WHERE id = %s",
            [address.pk],
        )
        raw = " ".join(cursor.fetchone())
    for field in ("name", "line1", "city", "postal_code", "phone"):
        assert ADDRESS[field] not in raw
    assert Address.objects.get(pk=address.pk).as_shipping_address() == ADDRESS
