"""System checks that keep a shop with debug off from approving test cards or signing with a
public key (shop.E002, shop.E003), on every `check`, not only under --deploy."""

import os
import subprocess
import sys
from pathlib import Path

from django.core.checks import Tags, run_checks
from django.test import override_settings

from shop import checks
from shop import settings as shop_settings

BASE_DIR = Path(__file__).resolve().parent.parent.parent
REAL_GATEWAY = "payments.gateways.acme.AcmeGateway"  # a name only: the check never imports it
STRONG_KEY = "k" * 64


def ids(messages) -> list[str]:
    return [message.id for message in messages]


# --- shop.E002: the test gateway --------------------------------------------------------------
@override_settings(
    DEBUG=False, PAYMENT_GATEWAY=checks.TEST_GATEWAY, PAYMENT_ALLOW_TEST_GATEWAY=False
)
def test_the_test_gateway_with_debug_off_is_an_error():
    assert ids(checks.check_test_gateway()) == ["shop.E002"]


@override_settings(
    DEBUG=False, PAYMENT_GATEWAY=checks.TEST_GATEWAY, PAYMENT_ALLOW_TEST_GATEWAY=True
)
def test_the_test_gateway_chosen_on_purpose_passes():
    assert checks.check_test_gateway() == []


@override_settings(
    DEBUG=True, PAYMENT_GATEWAY=checks.TEST_GATEWAY, PAYMENT_ALLOW_TEST_GATEWAY=False
)
def test_the_test_gateway_with_debug_on_passes():
    assert checks.check_test_gateway() == []


@override_settings(DEBUG=False, PAYMENT_GATEWAY=REAL_GATEWAY, PAYMENT_ALLOW_TEST_GATEWAY=False)
def test_another_gateway_with_debug_off_passes():
    assert checks.check_test_gateway() == []


def test_the_default_gateway_is_the_one_the_check_knows():
    assert shop_settings.PAYMENT_GATEWAY == checks.TEST_GATEWAY


# --- shop.E003: the development secret key ----------------------------------------------------
@override_settings(DEBUG=False, SECRET_KEY=shop_settings._INSECURE_DEV_KEY)
def test_the_embedded_development_key_with_debug_off_is_an_error():
    assert ids(checks.check_development_secret_key()) == ["shop.E003"]


@override_settings(DEBUG=False, SECRET_KEY="django-insecure-" + STRONG_KEY)
def test_a_generated_django_development_key_with_debug_off_is_an_error():
    assert ids(checks.check_development_secret_key()) == ["shop.E003"]


@override_settings(DEBUG=True, SECRET_KEY=shop_settings._INSECURE_DEV_KEY)
def test_the_development_key_with_debug_on_passes():
    assert checks.check_development_secret_key() == []


@override_settings(DEBUG=False, SECRET_KEY=STRONG_KEY)
def test_a_real_key_with_debug_off_passes():
    assert checks.check_development_secret_key() == []


# --- registration: every check, not only --deploy ---------------------------------------------
@override_settings(
    DEBUG=False,
    SECRET_KEY=shop_settings._INSECURE_DEV_KEY,
    PAYMENT_GATEWAY=checks.TEST_GATEWAY,
    PAYMENT_ALLOW_TEST_GATEWAY=False,
)
def test_both_errors_are_reported_by_a_plain_check():
    found = ids(run_checks(include_deployment_checks=False, tags=[Tags.security]))

    assert "shop.E002" in found
    assert "shop.E003" in found


def test_the_test_settings_pass_every_check():
    assert ids(run_checks(include_deployment_checks=False)) == []


# --- the real settings, as `make run` and a bare `manage.py` choose them ----------------------
def manage_check(**env: str) -> subprocess.CompletedProcess:
    """`manage.py check` on the embedded default (SQLite, no secret key) plus ``env``."""
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "DJANGO_SETTINGS_MODULE": "shop.settings",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_bare_check_with_debug_off_fails_on_the_key_and_the_gateway():
    result = manage_check()

    assert result.returncode != 0
    assert "shop.E002" in result.stderr
    assert "shop.E003" in result.stderr


def test_make_run_settings_pass_the_check():
    result = manage_check(DJANGO_DEBUG="1")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
