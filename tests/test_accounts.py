"""Registering, logging in and out in the storefront."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REGISTER = reverse("register")
LOGIN = reverse("login")
LOGOUT = reverse("logout")
PASSWORD = "correct-horse-battery"


def register_data(**changes):
    return {
        "username": "dana",
        "email": "dana@example.com",
        "password": "a-long-passphrase-42",
        "password_confirm": "a-long-passphrase-42",
        **changes,
    }


def test_register_creates_the_account_logs_in_and_follows_next(client):
    response = client.post(REGISTER, register_data(next="/products/?search=tea"))

    assert response.status_code == 302
    assert response["Location"] == "/products/?search=tea"
    user = get_user_model().objects.get(username="dana")
    assert user.check_password("a-long-passphrase-42")
    assert int(client.session["_auth_user_id"]) == user.id
    assert "Welcome, dana!" in client.get("/").content.decode()


@pytest.mark.parametrize("evil", ["https://evil.example/", "//evil.example/x", "javascript:x"])
def test_register_ignores_a_next_that_leaves_the_site(client, evil):
    response = client.post(REGISTER, register_data(next=evil))

    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"password": "123", "password_confirm": "123"}, "password", "too short"),
        ({"password_confirm": "something-else-1"}, "password_confirm", "do not match"),
        ({"username": "bad name!"}, "username", "Enter a valid username"),
        ({"username": ""}, "username", "This field is required."),
    ],
)
def test_register_explains_what_is_wrong_and_keeps_the_typed_values(
    client, changes, field, message
):
    data = register_data(**changes)

    response = client.post(REGISTER, data)

    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors[field])
    assert message in errors
    html = response.content.decode()
    assert message in html
    if data["email"]:
        assert f'value="{data["email"]}"' in html
    assert not get_user_model().objects.filter(email=data["email"]).exists()


def test_register_refuses_a_taken_username_whatever_its_case(client):
    UserFactory(username="Dana")

    response = client.post(REGISTER, register_data())

    assert "A user with that username already exists." in response.content.decode()
    assert get_user_model().objects.filter(username__iexact="dana").count() == 1


def test_register_answers_the_same_whether_or_not_the_email_has_an_account(client):
    UserFactory(username="someone", email="dana@example.com")

    response = client.post(REGISTER, register_data(email="Dana@Example.com"))

    assert response.status_code == 302
    assert response["Location"] == "/"
    dana = get_user_model().objects.get(username="dana")
    assert int(client.session["_auth_user_id"]) == dana.id
    assert "already" not in client.get("/").content.decode()


def test_login_with_next_then_logout(client):
    user = UserFactory()

    page = client.get(LOGIN, {"next": "/products/"})
    assert 'name="next" value="/products/"' in page.content.decode()

    response = client.post(
        LOGIN, {"username": user.username, "password": PASSWORD, "next": "/products/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/products/"
    assert f"Hi, {user.username}" in client.get("/").content.decode()

    response = client.post(LOGOUT)
    assert response.status_code == 302
    home = client.get("/").content.decode()
    assert "You have been logged out" in home
    assert "Hi," not in home


def test_login_ignores_an_offsite_next(client):
    user = UserFactory()

    response = client.post(
        LOGIN, {"username": user.username, "password": PASSWORD, "next": "https://evil.example/"}
    )

    assert response["Location"] == "/"


def test_wrong_password_shows_a_message_and_keeps_the_username(client):
    user = UserFactory()

    response = client.post(LOGIN, {"username": user.username, "password": "wrong"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Please enter a correct username and password" in html
    assert f'value="{user.username}"' in html
    assert "_auth_user_id" not in client.session


def test_logout_is_post_only(client):
    client.force_login(UserFactory())

    assert client.get(LOGOUT).status_code == 405
    assert "_auth_user_id" in client.session


def test_signed_in_visitors_are_sent_on_from_the_login_and_register_pages(client):
    client.force_login(UserFactory())

    assert client.get(LOGIN)["Location"] == "/"
    assert client.get(REGISTER, {"next": "/products/"})["Location"] == "/products/"
