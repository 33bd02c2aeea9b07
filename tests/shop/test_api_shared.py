"""Serializers shared by every request of a process (shop.api.shared): the same answers as a
serializer of the request's own, without building one."""

from decimal import Decimal
from unittest import mock

import pytest
from rest_framework import serializers

from orders import selectors, services
from orders.api import OrderDetailSerializer, PlaceOrderSerializer
from shop.api.shared import represent, shared, validated
from tests.orders.conftest import ADDRESS, order_payload

pytestmark = pytest.mark.django_db


def own_errors(serializer_class, data):
    serializer = serializer_class(data=data)
    assert not serializer.is_valid()
    return serializer.errors


@pytest.fixture
def just_placed(user, stocked):
    """An order as the API answers it right after placing it: the objects just written."""
    phone = stocked(quantity=5, price=Decimal("199.99"))
    case = stocked(quantity=5, price=Decimal("15.00"))
    return services.order_place(
        user=user,
        shipping_address=ADDRESS,
        payment_token="tok_visa",
        lines=[(phone.id, 2), (case.id, 1)],
        detail=True,
    )


def test_an_order_is_represented_as_its_own_serializer_represents_it(just_placed):
    assert represent(OrderDetailSerializer, just_placed) == OrderDetailSerializer(just_placed).data


def test_an_order_read_back_is_represented_as_its_own_serializer_represents_it(just_placed):
    order = selectors.order_detail_queryset().get(pk=just_placed.pk)

    body = represent(OrderDetailSerializer, order)

    assert body == OrderDetailSerializer(order).data
    assert body == represent(OrderDetailSerializer, just_placed)


def test_a_shared_serializer_builds_its_fields_once(just_placed):
    represent(OrderDetailSerializer, just_placed)

    with mock.patch.object(
        serializers.ModelSerializer, "get_fields", side_effect=AssertionError("built again")
    ):
        body = represent(OrderDetailSerializer, just_placed)

    assert body["id"] == just_placed.pk
    assert shared(OrderDetailSerializer) is shared(OrderDetailSerializer)


def test_a_valid_body_is_validated_as_its_own_serializer_validates_it(stocked):
    product = stocked()
    body = order_payload((product, 2), voucher="SPRING")
    own = PlaceOrderSerializer(data=body)
    own.is_valid(raise_exception=True)

    assert validated(PlaceOrderSerializer, body) == own.validated_data


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {},
        {"items": [{"product": 1, "quantity": 1}]},
        {"from_cart": True, "items": [{"product": 1, "quantity": 1}], "shipping_address": ADDRESS},
        {
            "items": [{"product": 0, "quantity": 0}, {"product": "x"}],
            "shipping_address": {**ADDRESS, "country": "GBR", "phone": "call me"},
            "payment": {"method": "cash"},
            "expected_total": "abc",
        },
    ],
    ids=["null", "list", "empty", "no-address", "cart-and-items", "every-field-wrong"],
)
def test_an_invalid_body_gets_the_errors_of_its_own_serializer(body):
    with pytest.raises(serializers.ValidationError) as refused:
        validated(PlaceOrderSerializer, body)

    assert refused.value.detail == own_errors(PlaceOrderSerializer, body)


def test_validation_keeps_nothing_of_one_body_for_the_next(stocked):
    first, second = stocked(), stocked()
    with pytest.raises(serializers.ValidationError):
        validated(PlaceOrderSerializer, {"items": [{"product": first.id, "quantity": 0}]})

    one = validated(PlaceOrderSerializer, order_payload((first, 1)))
    other = validated(
        PlaceOrderSerializer,
        order_payload((second, 3), shipping_address={**ADDRESS, "country": "de"}),
    )

    assert [dict(item) for item in one["items"]] == [{"product": first.id, "quantity": 1}]
    assert [dict(item) for item in other["items"]] == [{"product": second.id, "quantity": 3}]
    assert (one["shipping_address"]["country"], other["shipping_address"]["country"]) == (
        "GB",
        "DE",
    )
