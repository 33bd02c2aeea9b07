"""load_demo's users: the demo superuser, whose password is published, only with debug on."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from catalog.models import Product

pytestmark = pytest.mark.django_db
User = get_user_model()


def load_demo() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("load_demo", products=5, families=0, no_progress=True, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_with_debug_off_the_demo_superuser_is_refused_with_a_notice(settings):
    settings.DEBUG = False

    _, err = load_demo()

    assert not User.objects.filter(username="admin").exists()
    assert not User.objects.filter(is_superuser=True).exists()
    assert "Not creating the demo superuser 'admin'" in err
    assert "createsuperuser" in err


def test_with_debug_off_the_catalog_and_the_customers_still_load(settings):
    settings.DEBUG = False

    load_demo()

    assert Product.objects.count() == 5
    assert set(User.objects.values_list("username", flat=True)) == {"alice", "bob", "carol"}
    assert not User.objects.filter(is_staff=True).exists()


def test_with_debug_on_the_demo_superuser_is_created(settings):
    settings.DEBUG = True

    _, err = load_demo()

    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password("admin-demo-2026")
    assert err == ""


def test_demo_books_and_food_carry_the_reduced_rate_and_every_product_a_weight():
    load_demo()
    call_command("load_demo", products=48, no_progress=True, stdout=StringIO())

    classes = dict(Product.objects.values_list("category__slug", "tax_class").distinct())
    assert classes["fiction"] == classes["coffee-tea"] == "reduced"
    assert classes["phones"] == classes["furniture"] == "standard"
    assert not Product.objects.filter(weight=0).exists()
