"""The account page's privacy actions: download the data, delete the account."""

import json

import pytest
from django.contrib.auth import get_user_model

from customers.models import Address
from tests.customers.factories import make_address

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def test_the_account_page_offers_the_export_and_the_deletion(signed_in):
    page = signed_in.get("/accounts/").content.decode()

    assert 'href="/accounts/export/"' in page
    assert 'href="/accounts/delete/"' in page


def test_the_export_downloads_a_json_file_of_the_customers_data(signed_in, user):
    make_address(user, line1="Kastanienallee 9")

    response = signed_in.get("/accounts/export/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["profile"]["username"] == user.username
    assert data["addresses"][0]["line1"] == "Kastanienallee 9"


def test_a_visitor_is_sent_to_log_in_first(client):
    for path in ("/accounts/export/", "/accounts/delete/", "/accounts/wishlist/"):
        response = client.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_wrong_password_keeps_the_account_and_says_so(signed_in, user):
    make_address(user)

    response = signed_in.post("/accounts/delete/", {"password": "not-it"})

    assert response.status_code == 200
    assert "not the account&#x27;s password" in response.content.decode()
    assert Address.objects.filter(owner=user).exists()
    assert get_user_model().objects.get(pk=user.pk).is_active


def test_the_right_password_erases_the_account_and_signs_out(signed_in, user):
    make_address(user)

    response = signed_in.post("/accounts/delete/", {"password": PASSWORD}, follow=True)

    assert response.redirect_chain[-1][0] == "/"
    assert "Your account was deleted" in response.content.decode()
    assert not response.context["user"].is_authenticated
    erased = get_user_model().objects.get(pk=user.pk)
    assert (erased.email, erased.is_active) == ("", False)
    assert not Address.objects.filter(owner=user).exists()


def test_the_admin_lists_wishlists_and_alerts(admin_client, user):
    from customers import alerts, wishlist
    from tests.factories import ProductFactory, StockItemFactory

    product = StockItemFactory(product=ProductFactory(), quantity=0).product
    wishlist.wishlist_add(owner=user, product=product)
    alerts.stock_alert_subscribe(owner=user, product=product)

    for path in ("/admin/customers/wishlistitem/", "/admin/customers/stockalert/"):
        response = admin_client.get(path)
        assert response.status_code == 200
        assert user.username in response.content.decode()
