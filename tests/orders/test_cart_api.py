from decimal import Decimal

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_anonymous_has_no_api_cart(api_client):
    response = api_client.get("/api/cart/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_add_change_and_remove_items_with_current_prices(user_client, stocked):
    phone = stocked(price=Decimal("100.00"))
    case = stocked(price=Decimal("9.50"))

    user_client.post("/api/cart/items/", {"product": phone.id, "quantity": 1}, format="json")
    user_client.post("/api/cart/items/", {"product": phone.id, "quantity": 1}, format="json")
    body = user_client.post(
        "/api/cart/items/", {"product": case.id, "quantity": 3}, format="json"
    ).json()
    assert [(i["product"], i["quantity"], i["line_total"]) for i in body["items"]] == [
        (phone.id, 2, "200.00"),
        (case.id, 3, "28.50"),
    ]
    assert body["total"] == "228.50" and body["currency"] == "EUR"

    body = user_client.patch(f"/api/cart/items/{case.id}/", {"quantity": 1}, format="json").json()
    assert body["total"] == "209.50"

    phone.price = Decimal("90.00")
    phone.save()
    assert user_client.get("/api/cart/").json()["total"] == "189.50"  # prices are current

    body = user_client.delete(f"/api/cart/items/{phone.id}/").json()
    assert [i["product"] for i in body["items"]] == [case.id]


def test_more_than_the_stock_is_refused_with_a_clear_message(user_client, stocked):
    product = stocked(quantity=3, name="Moka pot")
    response = user_client.post(
        "/api/cart/items/", {"product": product.id, "quantity": 4}, format="json"
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "insufficient_stock"
    assert error["message"] == "Only 3 of Moka pot left in stock."
    assert error["details"]["available"] == 3
    assert user_client.get("/api/cart/").json()["items"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"product": 1, "quantity": 0},
        {"product": "x"},
        {"quantity": 1},
        {"product": 1, "quantity": 1000},
    ],
)
def test_bad_cart_input_is_a_400(user_client, body):
    response = user_client.post("/api/cart/items/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_unknown_or_hidden_products_cannot_be_added(user_client, stocked):
    hidden = stocked(is_active=False)
    for product_id in (hidden.id, 999999):
        response = user_client.post("/api/cart/items/", {"product": product_id}, format="json")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "product_unavailable"


def test_changing_a_line_not_in_the_cart_is_a_404(user_client, stocked):
    product = stocked()
    assert (
        user_client.patch(
            f"/api/cart/items/{product.id}/", {"quantity": 2}, format="json"
        ).status_code
        == 404
    )
    assert user_client.delete(f"/api/cart/items/{product.id}/").status_code == 404


def test_each_customer_sees_only_their_own_cart(user_client, api_client, stocked):
    user_client.post("/api/cart/items/", {"product": stocked().id}, format="json")
    api_client.force_authenticate(UserFactory())
    assert api_client.get("/api/cart/").json()["items"] == []


def test_unknown_product_never_crashes(user_client):
    response = user_client.post("/api/cart/items/", {"product": 10**12}, format="json")
    assert response.status_code in (400, 409)


def test_a_product_in_another_currency_is_refused_and_the_cart_keeps_one_currency(
    user_client, stocked
):
    kettle = stocked(price=Decimal("30.00"), currency="EUR")
    toaster = stocked(price=Decimal("40.00"), currency="USD")
    user_client.post("/api/cart/items/", {"product": kettle.id, "quantity": 1}, format="json")

    response = user_client.post(
        "/api/cart/items/", {"product": toaster.id, "quantity": 1}, format="json"
    )

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "currency_mismatch"
    assert error["details"] == {"product_id": toaster.id, "currency": "USD", "cart_currency": "EUR"}
    cart = user_client.get("/api/cart/").json()
    assert [i["product"] for i in cart["items"]] == [kettle.id]
    assert (cart["total"], cart["currency"]) == ("30.00", "EUR")


def test_a_cart_emptied_of_one_currency_takes_another(user_client, stocked):
    kettle = stocked(currency="EUR")
    toaster = stocked(currency="USD")
    user_client.post("/api/cart/items/", {"product": kettle.id, "quantity": 1}, format="json")
    user_client.delete(f"/api/cart/items/{kettle.id}/")

    response = user_client.post(
        "/api/cart/items/", {"product": toaster.id, "quantity": 1}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["currency"] == "USD"


def test_adding_to_a_line_past_the_cap_is_refused_and_keeps_the_line(user_client, stocked):
    product = stocked(quantity=500)
    user_client.post("/api/cart/items/", {"product": product.id, "quantity": 60}, format="json")

    response = user_client.post(
        "/api/cart/items/", {"product": product.id, "quantity": 60}, format="json"
    )

    assert response.status_code == 409
    assert "between 1 and 99" in response.json()["error"]["message"]
    assert user_client.get("/api/cart/").json()["items"][0]["quantity"] == 60


def test_the_cart_documents_its_currency_error(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    answer = schema["paths"]["/api/v1/cart/items/"]["post"]["responses"]["409"]

    assert "currency_mismatch" in answer["description"]
