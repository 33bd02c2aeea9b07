"""Cart, checkout and order pages, through the Django test client."""

import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from catalog.models import Product
from orders.models import Cart, Order
from orders.services import cart_add_item, cart_get_or_create
from pricing.models import Voucher
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def shown_total(client) -> str:
    """The total the checkout page shows, which its form sends back as ``expected_total``."""
    page = client.get("/checkout/").content.decode()
    return re.search(r'name="expected_total" id="expected-total" value="([^"]*)"', page)[1]


def visible_text(response) -> str:
    """The page's text without tags, each run of white space made one space."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


class _TextOf(HTMLParser):
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "wbr"}

    def __init__(self, element_id: str):
        super().__init__()
        self.element_id, self.depth, self.found, self.parts = element_id, 0, False, []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        if self.depth:
            self.depth += 1
        elif dict(attrs).get("id") == self.element_id:
            self.depth, self.found = 1, True

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if self.depth and tag not in self.VOID:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)


def text_of(response, element_id: str) -> str:
    """The text inside the element with this id, one space between the texts of its parts."""
    parser = _TextOf(element_id)
    parser.feed(response.content.decode())
    assert parser.found, f"no element with id {element_id!r} in the page"
    return " ".join(" ".join(parser.parts).split())


def checkout_form(token="tok_visa", key="key-1", **changes):
    return {
        "name": "Ada Lovelace",
        "line1": "12 Main St",
        "line2": "",
        "city": "Berlin",
        "postal_code": "10115",
        "country": "de",
        "phone": "",
        "payment_token": token,
        "idempotency_key": key,
        **changes,
    }


@pytest.fixture
def shopper(client):
    user = UserFactory()
    client.force_login(user)
    return user


def test_a_visitor_adds_to_the_cart_and_sees_totals(client, stocked):
    product = stocked(quantity=5, price=Decimal("12.50"), name="Green tea")

    response = client.post("/cart/add/", {"product": product.id, "quantity": 2}, follow=True)

    assert response.status_code == 200
    assert b"Added 2 \xc3\x97 Green tea to your cart." in response.content
    assert b"25.00" in response.content
    assert response.context["cart_count"] == 2


def test_asking_for_more_than_the_stock_shows_a_message_and_adds_nothing(client, stocked):
    product = stocked(quantity=2, name="Moka pot")
    response = client.post("/cart/add/", {"product": product.id, "quantity": 3}, follow=True)
    assert b"Only 2 of Moka pot left in stock." in response.content
    assert response.context["cart_count"] == 0


def test_a_product_in_another_currency_shows_a_message_and_adds_nothing(client, stocked):
    client.post("/cart/add/", {"product": stocked(currency="EUR").id, "quantity": 1})
    dollars = stocked(currency="USD", name="Diner mug")

    response = client.post("/cart/add/", {"product": dollars.id, "quantity": 1}, follow=True)

    assert "Diner mug is priced in USD" in response.content.decode()
    assert response.context["cart_count"] == 1


def test_the_anonymous_cart_joins_the_customer_cart_at_login(client, stocked):
    product = stocked(quantity=5)
    client.post("/cart/add/", {"product": product.id, "quantity": 2})
    user = UserFactory()

    client.post(
        "/accounts/login/", {"username": user.username, "password": "correct-horse-battery"}
    )

    assert Cart.objects.get(user=user).items.get().quantity == 2
    assert not Cart.objects.filter(user__isnull=True).exists()


def test_at_login_lines_in_another_currency_than_the_customers_cart_are_left_out(client, stocked):
    euros, dollars = stocked(currency="EUR"), stocked(currency="USD")
    user = UserFactory()
    cart_add_item(cart=cart_get_or_create(user=user), product_id=euros.id, quantity=1)
    client.post("/cart/add/", {"product": dollars.id, "quantity": 2})

    client.post(
        "/accounts/login/", {"username": user.username, "password": "correct-horse-battery"}
    )

    assert [i.product_id for i in Cart.objects.get(user=user).items.all()] == [euros.id]


def test_update_and_remove_lines(client, shopper, stocked):
    product = stocked(quantity=5)
    client.post("/cart/add/", {"product": product.id, "quantity": 1})
    client.post("/cart/update/", {"product": product.id, "quantity": 4})
    assert Cart.objects.get(user=shopper).items.get().quantity == 4
    response = client.post("/cart/update/", {"product": product.id, "quantity": 9}, follow=True)
    assert b"Only 5 of" in response.content
    client.post("/cart/remove/", {"product": product.id})
    assert not Cart.objects.get(user=shopper).items.exists()


def test_a_visitor_with_an_empty_cart_is_sent_to_the_cart_not_to_the_login(client):
    response = client.get("/checkout/")
    assert response.status_code == 302 and response.url == "/cart/"


def test_checkout_places_the_order_and_shows_it(
    client, shopper, stocked, django_capture_on_commit_callbacks
):
    product = stocked(quantity=5)
    client.post("/cart/add/", {"product": product.id, "quantity": 2})
    form = client.get("/checkout/").context["form"]
    assert form.initial["idempotency_key"]

    with django_capture_on_commit_callbacks(execute=True):
        placed = client.post("/checkout/", checkout_form(expected_total=shown_total(client)))
    order = Order.objects.get(user=shopper)
    assert placed.url == f"/orders/{order.number}/"

    response = client.get(placed.url)
    assert order.shipping_address["country"] == "DE"
    assert b"Thank you! Your payment was received" in response.content
    assert response.context["cart_count"] == 0


def test_a_double_submitted_checkout_places_one_order(client, shopper, stocked):
    client.post("/cart/add/", {"product": stocked(quantity=5).id, "quantity": 1})
    form = checkout_form(key="double", expected_total=shown_total(client))
    first = client.post("/checkout/", form)
    client.post("/cart/add/", {"product": stocked(quantity=5).id, "quantity": 1})
    second = client.post("/checkout/", form)
    assert first.url == second.url
    assert Order.objects.filter(user=shopper).count() == 1


def test_a_declined_card_explains_why_and_keeps_the_cart(
    client, shopper, stocked, django_capture_on_commit_callbacks
):
    product = stocked(quantity=5)
    client.post("/cart/add/", {"product": product.id, "quantity": 2})

    with django_capture_on_commit_callbacks(execute=True):
        placed = client.post(
            "/checkout/",
            checkout_form(token="tok_chargeDeclined", expected_total=shown_total(client)),
        )
    response = client.get(placed.url)

    assert b"Your payment did not go through" in response.content
    assert Cart.objects.get(user=shopper).items.get().quantity == 2


def test_bad_checkout_input_keeps_what_was_typed(client, shopper, stocked):
    client.post("/cart/add/", {"product": stocked().id, "quantity": 1})
    response = client.post("/checkout/", checkout_form(country="Germany", payment_token=""))
    assert response.status_code == 200
    assert b"Use a two-letter country code" in response.content
    assert b"Enter your card details." in response.content
    assert b'value="12 Main St"' in response.content
    assert not Order.objects.exists()


def test_order_pages_show_only_the_customers_own_orders(client, shopper, stocked):
    client.post("/cart/add/", {"product": stocked().id, "quantity": 1})
    client.post("/checkout/", checkout_form(expected_total=shown_total(client)))
    order = Order.objects.get()
    assert order.number.encode() in client.get("/orders/").content

    client.force_login(UserFactory())
    assert client.get(f"/orders/{order.number}/").status_code == 404
    assert client.post(f"/orders/{order.number}/cancel/").status_code == 404


def test_customer_cancels_from_the_order_page(client, shopper, stocked):
    client.post("/cart/add/", {"product": stocked().id, "quantity": 1})
    client.post("/checkout/", checkout_form(expected_total=shown_total(client)))
    order = Order.objects.get()
    response = client.post(f"/orders/{order.number}/cancel/", follow=True)
    assert b"was cancelled" in response.content
    order.refresh_from_db()
    assert order.status == "cancelled"


# --- the priced checkout --------------------------------------------------------------------
D = Decimal


def add(client, product, quantity):
    client.post("/cart/add/", {"product": product.id, "quantity": quantity})


def reprice(client, action="update", **changes):
    """A submit of the checkout form that only re-prices it (no card, no name yet)."""
    return client.post("/checkout/", checkout_form(token="", name="", action=action, **changes))


@pytest.fixture
def mugs(client, shopper, stocked):
    """Five enamel mugs at 8.00 (standard VAT) in the customer's cart: goods of 40.00."""
    mug = stocked(quantity=20, price=D("8.00"), name="Enamel mug")
    add(client, mug, 5)
    return mug


@pytest.fixture
def spring10(db):
    return Voucher.objects.create(code="SPRING10", kind="percentage", value=D("10"))


def test_the_checkout_summary_shows_each_line_shipping_vat_per_rate_and_the_total(
    client, shopper, stocked
):
    book = stocked(price=D("12.50"), tax_class="reduced", name="Field guide")
    mug = stocked(price=D("8.00"), name="Enamel mug")
    add(client, book, 2)
    add(client, mug, 1)

    response = client.get("/checkout/")

    summary = text_of(response, "order-summary")
    assert "2 × Field guide €25.00" in summary and "1 × Enamel mug €8.00" in summary
    assert "Subtotal €33.00" in summary
    assert "Shipping · Standard delivery (3-5 days) €4.90" in summary
    assert "Total €37.90" in summary
    # 7% of the book, and 19% of the mug (1.28) and of the shipping (0.78).
    assert "incl. 19% VAT €2.06" in summary and "incl. 7% VAT €1.64" in summary
    assert "Place order · €37.90" in summary
    assert shown_total(client) == "37.90"
    assert "Standard delivery (3-5 days) €4.90" in text_of(response, "delivery")
    assert "Express delivery (next day) €9.90" in text_of(response, "delivery")


def test_standard_delivery_is_shown_free_from_the_threshold(client, shopper, stocked):
    add(client, stocked(price=D("25.00")), 2)

    response = client.get("/checkout/")

    assert "Standard delivery (3-5 days) Free" in text_of(response, "delivery")
    assert "Shipping · Standard delivery (3-5 days) Free" in text_of(response, "order-summary")


def test_choosing_express_reprices_the_page_without_asking_for_the_rest_yet(client, mugs):
    response = reprice(client, shipping_method="express")

    assert response.status_code == 200
    assert 'id="shipping-express" value="express" checked' in response.content.decode()
    summary = text_of(response, "order-summary")
    assert "Shipping · Express delivery (next day) €9.90" in summary
    assert "Total €49.90" in summary
    assert "This field is required" not in response.content.decode()  # the name is still empty
    assert not Order.objects.exists()


def test_express_chosen_on_the_page_is_what_the_order_costs(
    client, mugs, django_capture_on_commit_callbacks
):
    reprice(client, shipping_method="express")

    client.post("/checkout/", checkout_form(shipping_method="express", expected_total="49.90"))

    order = Order.objects.get()
    assert (order.shipping_method, order.shipping, order.total) == (
        "express",
        D("9.90"),
        D("49.90"),
    )


def test_an_unavailable_shipping_method_is_explained_and_standard_is_priced(client, mugs):
    response = reprice(client, shipping_method="drone")

    assert "Shipping method 'drone' is not available" in text_of(response, "delivery")
    assert 'id="shipping-standard" value="standard" checked' in response.content.decode()
    assert "Total €44.90" in text_of(response, "order-summary")


def test_a_valid_voucher_lowers_each_line_and_the_total(client, mugs, spring10):
    response = reprice(client, action="apply", voucher="spring10")

    summary = text_of(response, "order-summary")
    assert "5 × Enamel mug €40.00 Discount −€4.00" in summary
    assert "Voucher SPRING10 applied." in summary
    assert "Discount (SPRING10) −€4.00" in summary
    assert "Total €40.90" in summary
    assert 'name="voucher" id="id_voucher" form="checkout-form" value="SPRING10"' in (
        response.content.decode()
    )
    assert Voucher.objects.get().times_used == 0  # counted when the order is placed


def test_the_order_carries_the_voucher_applied_on_the_page(client, mugs, spring10):
    reprice(client, action="apply", voucher="SPRING10")

    placed = client.post("/checkout/", checkout_form(voucher="SPRING10", expected_total="40.90"))

    order = Order.objects.get()
    assert placed.url == f"/orders/{order.number}/"
    assert (order.voucher, order.discount, order.total) == ("SPRING10", D("4.00"), D("40.90"))
    assert Voucher.objects.get().times_used == 1


def test_a_voucher_can_be_removed_again(client, mugs, spring10):
    response = reprice(client, action="remove_voucher", voucher="SPRING10")

    assert "Discount" not in text_of(response, "order-summary")
    assert "Total €44.90" in text_of(response, "order-summary")
    assert 'form="checkout-form" value=""' in response.content.decode()


def test_an_unknown_voucher_is_explained_next_to_the_voucher_field(client, mugs):
    response = reprice(client, action="apply", voucher="NOPE")

    assert response.status_code == 200
    assert text_of(response, "voucher-errors") == "There is no such voucher."
    assert 'value="NOPE" maxlength="40"' in response.content.decode()  # kept, to correct it
    assert "Total €44.90" in text_of(response, "order-summary")  # priced without it


def test_a_used_up_voucher_is_explained_next_to_the_voucher_field(client, mugs):
    Voucher.objects.create(code="LAST", kind="fixed", value=D("5"), usage_limit=1, times_used=1)

    response = reprice(client, action="apply", voucher="LAST")

    assert text_of(response, "voucher-errors") == (
        "This voucher has been used as often as it may be."
    )
    assert "Total €44.90" in text_of(response, "order-summary")


def test_placing_with_a_voucher_that_ran_out_meanwhile_places_nothing(client, mugs, spring10):
    reprice(client, action="apply", voucher="SPRING10")
    Voucher.objects.filter(pk=spring10.pk).update(usage_limit=0)

    response = client.post("/checkout/", checkout_form(voucher="SPRING10", expected_total="40.90"))

    assert response.status_code == 200
    assert "used as often as it may be" in text_of(response, "voucher-errors")
    assert not Order.objects.exists()


def test_an_unsupported_country_is_explained_next_to_the_country_field(client, mugs):
    response = reprice(client, country="us")

    assert response.status_code == 200
    assert "The shop does not deliver to US." in text_of(response, "field-country")
    assert 'aria-invalid="true"' in response.content.decode()
    assert "Total" not in text_of(response, "order-summary")
    assert "5 × Enamel mug €40.00" in text_of(response, "order-summary")


def test_placing_to_an_unsupported_country_places_nothing(client, mugs):
    response = client.post("/checkout/", checkout_form(country="US", expected_total="44.90"))

    assert response.status_code == 200
    assert "The shop does not deliver to US." in text_of(response, "field-country")
    assert not Order.objects.exists()


def test_another_country_prices_its_own_vat(client, mugs):
    response = reprice(client, country="fr")

    # 40.00 of mugs (6.67) and 4.90 of shipping (0.82) at the French 20%.
    assert "incl. 20% VAT €7.49" in text_of(response, "order-summary")


def test_a_total_that_changed_since_the_page_was_shown_is_shown_again_and_nothing_is_placed(
    client, shopper, stocked
):
    lamp = stocked(quantity=5, price=D("20.00"), name="Desk lamp")
    add(client, lamp, 1)
    seen = shown_total(client)
    Product.objects.filter(pk=lamp.pk).update(price=D("22.00"))

    response = client.post("/checkout/", checkout_form(expected_total=seen))

    assert response.status_code == 200
    assert text_of(response, "price-changed") == (
        "The total has changed The total changed from €24.90 to €26.90 since you loaded this"
        " page. Please check it and place the order again. Nothing has been charged. Enter your"
        " card number again when you are ready."
    )
    assert "Total €26.90" in text_of(response, "order-summary")
    assert 'id="expected-total" value="26.90"' in response.content.decode()
    assert not Order.objects.exists()
    assert Cart.objects.get(user=shopper).items.get().quantity == 1
    lamp.stock.refresh_from_db()
    assert lamp.stock.reserved == 0


def test_after_a_price_change_placing_again_at_the_new_total_succeeds(client, shopper, stocked):
    lamp = stocked(quantity=5, price=D("20.00"))
    add(client, lamp, 1)
    seen = shown_total(client)
    Product.objects.filter(pk=lamp.pk).update(price=D("22.00"))
    client.post("/checkout/", checkout_form(expected_total=seen))

    placed = client.post("/checkout/", checkout_form(expected_total=shown_total(client)))

    assert placed.status_code == 302
    assert Order.objects.get().total == D("26.90")


def test_placing_from_a_page_that_showed_no_total_asks_to_check_it(client, mugs):
    response = client.post("/checkout/", checkout_form())  # no expected_total

    assert "Please check the total" in text_of(response, "price-changed")
    assert not Order.objects.exists()


def test_the_order_page_shows_the_breakdown_the_order_was_placed_with(client, mugs, spring10):
    client.post(
        "/checkout/",
        checkout_form(voucher="SPRING10", shipping_method="express", expected_total="45.90"),
    )
    order = Order.objects.get()
    Voucher.objects.all().update(is_active=False)  # what the order says no longer depends on it

    response = client.get(f"/orders/{order.number}/")

    table = visible_text(response)
    assert "Subtotal €40.00" in table
    assert "Discount (voucher SPRING10) −€4.00" in table
    assert "Shipping · Express delivery €9.90" in table
    assert "Total €45.90" in table
    # 36.00 of goods (5.75) and 9.90 of shipping (1.58) at 19%.
    assert "incl. 19% VAT €7.33" in table
    assert "€45.90" in text_of(client.get("/orders/"), "main")


def test_the_cart_says_prices_include_vat_and_shipping_comes_at_checkout(client, mugs):
    response = client.get("/cart/")

    assert text_of(response, "cart-note") == (
        "Prices include VAT. Shipping is calculated at checkout."
    )
