"""Security of the deployed shop: production settings, throttles, login lock-out, no tracebacks."""

import json
import logging
import os
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.checks import Error
from django.urls import path
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from shop import checks
from tests.factories import StaffFactory, UserFactory

BASE_DIR = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery"  # what the user factories set
TOKEN_URL = "/api/auth/token/"
LOGIN_URL = "/accounts/login/"


# --- production settings --------------------------------------------------------------------
def production_env(**changes) -> dict:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "shop.settings",
        "DATABASE_URL": "postgres://shop@127.0.0.1:5432/shop",
        "REDIS_URL": "redis://127.0.0.1:6379/4",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        # The shop's only gateway is the test one; shop.E002 is tested in tests/shop/test_checks.py.
        "PAYMENT_ALLOW_TEST_GATEWAY": "1",
    }
    env.update(changes)
    return {k: v for k, v in env.items() if v is not None}


def manage(*args, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy_without_a_warning():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_without_encryption_keys_fails_check_deploy():
    result = manage("check", "--deploy", env=production_env(FIELD_ENCRYPTION_KEYS=None))

    assert result.returncode != 0
    assert "shop.E001" in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", env=production_env(DJANGO_SECRET_KEY=None))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_refuses_a_weak_secret_key():
    result = manage("check", env=production_env(DJANGO_SECRET_KEY="django-insecure-short"))

    assert result.returncode != 0
    assert "too weak" in result.stderr


def test_the_encryption_key_check_only_applies_to_production(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    settings.PRODUCTION = False
    assert checks.check_field_encryption_keys() == []

    settings.PRODUCTION = True
    [error] = checks.check_field_encryption_keys()
    assert isinstance(error, Error) and error.id == "shop.E001"

    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    assert checks.check_field_encryption_keys() == []


# --- throttles ------------------------------------------------------------------------------
@pytest.fixture
def rates(monkeypatch):
    """Replace the throttle rates (DRF reads them once, at import)."""

    def set_rates(**changes):
        monkeypatch.setattr(
            SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, **changes}
        )

    return set_rates


def test_the_default_rates_are_high_enough_for_shoppers_and_strict_for_logins():
    assert SimpleRateThrottle.THROTTLE_RATES == {
        "anon": "300/min",
        "user": "1200/min",
        "login": "10/min",
        "orders": "60/min",
        "guest_checkout": "10/hour",
        "verification": "5/hour",
        "recommendation_events": "60/min",
    }


@pytest.mark.django_db
def test_anonymous_clients_past_their_rate_get_429_throttled(api_client, rates):
    rates(anon="3/min")
    codes = [api_client.get("/api/products/").status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]
    body = api_client.get("/api/products/").json()
    assert body["error"]["code"] == "throttled"
    assert body["error"]["details"]["retry_after_seconds"] > 0


@pytest.mark.django_db
def test_the_token_endpoint_allows_ten_attempts_a_minute_per_address(api_client):
    # A different username each time, so no lock-out interferes: only the rate.
    codes = [
        api_client.post(
            TOKEN_URL, {"username": f"nobody{i}", "password": "x"}, format="json"
        ).status_code
        for i in range(11)
    ]

    assert codes == [400] * 10 + [429]


class PlaceOrderView(APIView):
    throttle_scope = "orders"

    def post(self, request):
        return Response({"ok": True}, status=201)


@pytest.mark.django_db
def test_the_orders_scope_limits_each_user_separately(rates):
    rates(orders="3/min")
    view = PlaceOrderView.as_view()
    factory = APIRequestFactory()
    alice, bob = UserFactory(), UserFactory()

    def place(user):
        request = factory.post("/api/orders/", {}, format="json")
        force_authenticate(request, user)
        return view(request).status_code

    assert [place(alice) for _ in range(4)] == [201, 201, 201, 429]
    assert place(bob) == 201


# --- login lock-out (django-axes, per username and address) --------------------------------
ATTACKER, OWNER = "203.0.113.9", "198.51.100.7"


def token(api_client, username, password, ip="10.0.0.1"):
    return api_client.post(
        TOKEN_URL, {"username": username, "password": password}, format="json", REMOTE_ADDR=ip
    )


def test_the_lock_out_is_django_axes_keyed_on_username_and_address_together(settings):
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


@pytest.mark.django_db
def test_five_wrong_passwords_lock_the_username_out_from_that_address_even_with_the_right_one(
    api_client, caplog
):
    user = UserFactory()
    caplog.set_level(logging.INFO, logger="shop.security")
    codes = [
        token(api_client, user.username, f"wrong-{i}", ip=ATTACKER).status_code for i in range(5)
    ]

    response = token(api_client, user.username, PASSWORD, ip=ATTACKER)

    assert codes == [400] * 4 + [429]  # the fifth failure is the one that locks
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "locked_out"
    assert "Too many failed sign-in attempts" in error["message"]
    assert error["details"]["retry_after_seconds"] == 900
    assert int(response["Retry-After"]) == 900
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any(user.username in r.getMessage() and ATTACKER in r.getMessage() for r in warnings)
    assert not any("wrong-" in r.getMessage() or PASSWORD in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_an_attackers_wrong_passwords_do_not_lock_the_owner_out_from_another_address(api_client):
    owner = UserFactory()
    for i in range(8):
        token(api_client, owner.username, f"guess-{i}", ip=ATTACKER)
    assert token(api_client, owner.username, PASSWORD, ip=ATTACKER).status_code == 429

    response = token(api_client, owner.username, PASSWORD, ip=OWNER)

    assert response.status_code == 200
    assert response.json()["token"]


@pytest.mark.django_db
def test_staff_keep_their_admin_login_while_someone_else_guesses_their_password(client):
    staff = StaffFactory()
    for i in range(8):
        client.post(
            "/admin/login/",
            {"username": staff.username, "password": f"guess-{i}"},
            REMOTE_ADDR=ATTACKER,
        )

    response = client.post(
        "/admin/login/", {"username": staff.username, "password": PASSWORD}, REMOTE_ADDR=OWNER
    )

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(staff.pk)


@pytest.mark.django_db
def test_the_lock_out_ends_after_its_cool_off(api_client, settings):
    from axes.models import AccessAttempt

    user = UserFactory()
    for i in range(5):
        token(api_client, user.username, f"wrong-{i}")
    assert token(api_client, user.username, PASSWORD).status_code == 429

    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )

    assert token(api_client, user.username, PASSWORD).status_code == 200


@pytest.mark.django_db
def test_other_usernames_from_the_same_address_are_not_locked_by_someone_elses_failures(
    api_client,
):
    victim, other = UserFactory(), UserFactory()
    for _ in range(5):
        token(api_client, victim.username, "wrong")

    assert token(api_client, other.username, PASSWORD).status_code == 200


@pytest.mark.django_db
def test_a_successful_login_clears_the_failures_of_its_username_and_address(api_client):
    user = UserFactory()
    for _ in range(4):
        token(api_client, user.username, "wrong")
    assert token(api_client, user.username, PASSWORD).status_code == 200
    for _ in range(4):
        token(api_client, user.username, "wrong")

    assert token(api_client, user.username, PASSWORD).status_code == 200


@pytest.mark.django_db
def test_usernames_are_locked_out_whatever_their_case(api_client):
    user = UserFactory()
    for i in range(5):
        token(api_client, user.username.upper() if i % 2 else user.username, "wrong")

    assert token(api_client, user.username, PASSWORD).status_code == 429


@pytest.mark.django_db
def test_a_forwarded_address_that_is_not_an_ip_is_recorded_as_unknown(api_client, settings):
    from axes.models import AccessAttempt

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    response = api_client.post(
        TOKEN_URL,
        {"username": "nobody", "password": "x"},
        format="json",
        HTTP_X_FORWARDED_FOR="not-an-ip",
    )

    assert response.status_code == 400
    assert AccessAttempt.objects.get(username="nobody").ip_address is None


@pytest.mark.django_db
def test_the_storefront_login_is_locked_out_with_a_clear_message(client):
    user = UserFactory()
    for _ in range(5):
        client.post(LOGIN_URL, {"username": user.username, "password": "wrong"})

    response = client.post(LOGIN_URL, {"username": user.username, "password": PASSWORD})

    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed sign-in attempts" in html
    assert 'name="password"' in html  # the login page itself, with the message
    assert int(response["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_storefront_login_still_works_for_others(client):
    user = UserFactory()

    response = client.post(LOGIN_URL, {"username": user.username, "password": PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.django_db
def test_storefront_login_posts_past_the_rate_get_a_429_page(client):
    codes = [
        client.post(LOGIN_URL, {"username": f"nobody{i}", "password": "x"}).status_code
        for i in range(11)
    ]

    assert codes == [200] * 10 + [429]
    page = client.post(LOGIN_URL, {"username": "x", "password": "y"})
    assert "Too many" in page.content.decode()
    assert client.get(LOGIN_URL).status_code == 200  # reading the page is not limited


@pytest.mark.django_db
def test_the_admin_login_is_locked_out_too(client):
    staff = StaffFactory()
    for _ in range(5):
        client.post("/admin/login/", {"username": staff.username, "password": "wrong"})

    response = client.post("/admin/login/", {"username": staff.username, "password": PASSWORD})

    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


# --- no traceback reaches a client ----------------------------------------------------------
def exploding_view(request):
    raise RuntimeError("secret internals: password=hunter2")


class ExplodingApiView(APIView):
    permission_classes: list = []

    def get(self, request):
        raise RuntimeError("secret internals: password=hunter2")


urlpatterns = [
    path("api/explode/", ExplodingApiView.as_view()),
    path("explode/", exploding_view),
]
handler500 = "shop.views.server_error"


@pytest.mark.django_db
@pytest.mark.urls(__name__)
@pytest.mark.parametrize(("url", "json"), [("/api/explode/", True), ("/explode/", False)])
def test_an_unexpected_error_shows_no_traceback(client, settings, url, json):
    settings.DEBUG = False
    client.raise_request_exception = False

    response = client.get(url)

    body = response.content.decode()
    assert response.status_code == 500
    assert "Traceback" not in body
    assert "hunter2" not in body
    assert "RuntimeError" not in body
    if json:
        error = response.json()["error"]
        assert error["code"] == "server_error"
        # Only the id to quote when reporting the problem, the same as in the logs.
        assert error["details"] == {"request_id": response["X-Request-ID"]}
    else:
        assert "Something went wrong" in body


# --- logs in production ---------------------------------------------------------------------
def test_production_logs_are_json_lines_with_the_request_context():
    code = "\n".join(
        [
            "import django, logging",
            "django.setup()",
            "from shop.logging import bind, log_context",
            "with log_context(request_id='req-42'):",
            "    bind(order_number='SO-42')",
            "    logging.getLogger('shop.orders').warning('payment declined')",
        ]
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    [line] = [json.loads(raw) for raw in result.stderr.splitlines() if raw.startswith("{")]
    assert line["message"] == "payment declined"
    assert line["levelname"] == "WARNING"
    assert (line["request_id"], line["order_number"], line["user_id"]) == ("req-42", "SO-42", None)


@pytest.mark.django_db
def test_order_placement_uses_the_orders_scope_and_reading_orders_does_not(user_client, rates):
    from tests.factories import ProductFactory, StockItemFactory
    from tests.orders.conftest import order_payload

    rates(orders="2/min")
    product = StockItemFactory(product=ProductFactory(), quantity=50).product

    codes = [
        user_client.post("/api/orders/", order_payload((product, 1)), format="json").status_code
        for _ in range(3)
    ]

    assert codes == [201, 201, 429]
    assert [user_client.get("/api/orders/").status_code for _ in range(3)] == [200] * 3


@pytest.mark.django_db
def test_the_login_rate_is_one_budget_across_the_token_endpoint_and_the_login_pages(
    api_client, client
):
    for i in range(5):
        api_client.post(TOKEN_URL, {"username": f"api{i}", "password": "x"}, format="json")
        client.post(LOGIN_URL, {"username": f"page{i}", "password": "x"})

    assert client.post("/admin/login/", {"username": "z", "password": "x"}).status_code == 429
    response = api_client.post(TOKEN_URL, {"username": "z", "password": "x"}, format="json")
    assert response.status_code == 429
