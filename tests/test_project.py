import pytest

pytestmark = pytest.mark.django_db


def test_home_page_serves_the_storefront(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Shop by category" in response.content


def test_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/does-not-exist/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_unknown_page_is_a_friendly_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"couldn't find that page" in response.content


def test_openapi_schema_is_served(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "/api/v1/products/" in response.json()["paths"]


def test_register_then_get_a_token(api_client):
    created = api_client.post(
        "/api/auth/register/",
        {"username": "dana", "email": "dana@example.com", "password": "a-long-passphrase-1"},
        format="json",
    )
    assert created.status_code == 201, created.content

    token = api_client.post(
        "/api/auth/token/", {"username": "dana", "password": "a-long-passphrase-1"}, format="json"
    )
    assert token.status_code == 200 and token.json()["token"]


def test_register_rejects_a_weak_password_and_a_taken_name(api_client, user):
    response = api_client.post(
        "/api/auth/register/",
        {"username": user.username, "email": "x@example.com", "password": "123"},
        format="json",
    )
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert {"username", "password"} <= details.keys()


def test_register_does_not_tell_whether_an_email_already_has_an_account(api_client, user):
    def register(username, email):
        return api_client.post(
            "/api/auth/register/",
            {"username": username, "email": email, "password": "a-long-passphrase-1"},
            format="json",
        )

    fresh = register("dana", "dana@example.com")
    taken = register("erin", user.email.upper())

    assert (fresh.status_code, taken.status_code) == (201, 201)
    assert fresh.json().keys() == taken.json().keys()
    assert taken.json()["username"] == "erin"


def test_wrong_password_gets_no_token(api_client, user):
    response = api_client.post(
        "/api/auth/token/", {"username": user.username, "password": "no"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
