"""The pricing configuration is read from the cache, and every change of it is seen by the
next basket: a saved or deleted rate, method, band or promotion makes the cached copy stale."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pricing.exceptions import ShippingMethodUnavailable, UnsupportedCountry
from pricing.models import Promotion, ShippingMethod, TaxRate, WeightBand
from pricing.services import basket_price
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def quote(product, country="DE", **kwargs):
    return basket_price(lines=[(product, 1)], country=country, **kwargs)


def test_a_second_basket_reads_no_pricing_table():
    book = ProductFactory(price=D("10.00"))
    quote(book)

    with CaptureQueriesContext(connection) as queries:
        again = quote(book)

    assert again.total == D("14.90")
    assert not [q["sql"] for q in queries.captured_queries if "pricing_" in q["sql"]]


def test_a_changed_tax_rate_prices_the_next_basket():
    book = ProductFactory(price=D("11.90"))
    assert quote(book).lines[0].tax_amount == D("1.90")  # 19%

    rate = TaxRate.objects.get(country="DE", tax_class="standard")
    rate.rate = D("0.25")
    rate.save()

    assert quote(book).lines[0].tax_amount == D("2.38")  # 11.90 - 11.90 / 1.25


def test_a_deleted_rate_or_method_is_gone_for_the_next_basket():
    book = ProductFactory(price=D("10.00"))
    quote(book, shipping_method="express")

    ShippingMethod.objects.get(code="express").delete()
    with pytest.raises(ShippingMethodUnavailable):
        quote(book, shipping_method="express")

    for rate in TaxRate.objects.filter(country="DE"):  # one by one, as the admin deletes
        rate.delete()
    with pytest.raises(UnsupportedCountry):
        quote(book)


def test_a_new_weight_band_or_promotion_prices_the_next_basket():
    category = CategoryFactory()
    lamp = ProductFactory(price=D("100.00"), weight=D("5"), category=category)
    assert quote(lamp).shipping == D("0.00")  # free above 50.00
    standard = ShippingMethod.objects.get(code="standard")
    standard.free_above = None
    standard.save()
    assert quote(lamp).shipping == D("4.90")

    WeightBand.objects.create(method=standard, max_weight=D("10"), price=D("7.90"))
    assert quote(lamp).shipping == D("7.90")

    now = timezone.now()
    Promotion.objects.create(
        name="Lamps",
        category=category,
        percentage=D("10"),
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=1),
    )
    assert quote(lamp).discount == D("10.00")


def test_a_promotion_applies_only_within_its_period_though_cached():
    category = CategoryFactory()
    lamp = ProductFactory(price=D("100.00"), category=category)
    now = timezone.now()
    Promotion.objects.create(
        name="Tomorrow",
        category=category,
        percentage=D("10"),
        starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )

    assert quote(lamp, now=now).discount == D("0.00")
    assert quote(lamp, now=now + timedelta(hours=2)).discount == D("10.00")
    assert quote(lamp, now=now + timedelta(days=2)).discount == D("0.00")
