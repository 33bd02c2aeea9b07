"""Priced baskets checked against totals computed by hand (see each case's comment).

The demo configuration (migration pricing.0002): DE 19% / 7% / 0%, FR 20% / 5.5% / 0%;
standard shipping 4.90, free when the goods after discounts come to 50.00 or more; express
9.90. Tax in a line: gross - gross / (1 + rate), half-up to the cent per line."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from pricing.exceptions import (
    ShippingMethodUnavailable,
    UnsupportedCountry,
    VoucherExhausted,
    VoucherInvalid,
)
from pricing.models import Promotion, ShippingMethod, Voucher, WeightBand
from pricing.services import basket_price
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def product(price, tax_class="standard", **fields):
    return ProductFactory(price=D(price), tax_class=tax_class, **fields)


def voucher(code, kind, value="0", **fields):
    return Voucher.objects.create(code=code, kind=kind, value=D(value), **fields)


def summary(quote) -> dict:
    return {
        "subtotal": quote.subtotal,
        "discount": quote.discount,
        "shipping": quote.shipping,
        "tax": {str(t["rate"]): t["amount"] for t in quote.tax},
        "total": quote.total,
    }


# (case, lines [(price, tax class, quantity)], country, method, voucher, expected)
BASKETS = [
    (
        # 19.99 - 19.99/1.19 = 3.1917 -> 3.19; shipping 4.90 - 4.90/1.19 = 0.7824 -> 0.78
        "one standard line in DE pays shipping",
        [("19.99", "standard", 1)],
        "DE",
        "standard",
        None,
        {
            "subtotal": "19.99",
            "discount": "0",
            "shipping": "4.90",
            "tax": {"0.1900": "3.97"},
            "total": "24.89",
        },
    ),
    (
        # books 25.00: 25 - 25/1.07 = 1.6355 -> 1.64; 30.00: 30 - 30/1.19 = 4.7899 -> 4.79;
        # 55.00 >= 50: standard shipping is free
        "mixed classes in DE, free shipping above the threshold",
        [("12.50", "reduced", 2), ("30.00", "standard", 1)],
        "DE",
        "standard",
        None,
        {
            "subtotal": "55.00",
            "discount": "0",
            "shipping": "0",
            "tax": {"0.1900": "4.79", "0.0700": "1.64"},
            "total": "55.00",
        },
    ),
    (
        # books 25 - 25/1.055 = 1.3033 -> 1.30; 30 - 30/1.2 = 5.00; express 9.90 - 8.25 = 1.65
        "the same basket to FR by express, never free",
        [("12.50", "reduced", 2), ("30.00", "standard", 1)],
        "FR",
        "express",
        None,
        {
            "subtotal": "55.00",
            "discount": "0",
            "shipping": "9.90",
            "tax": {"0.2000": "6.65", "0.0550": "1.30"},
            "total": "64.90",
        },
    ),
    (
        # 50.00 exactly reaches the threshold; 50 - 50/1.19 = 7.9832 -> 7.98
        "the threshold exactly reached",
        [("50.00", "standard", 1)],
        "DE",
        "standard",
        None,
        {
            "subtotal": "50.00",
            "discount": "0",
            "shipping": "0",
            "tax": {"0.1900": "7.98"},
            "total": "50.00",
        },
    ),
    (
        # 49.99 - 49.99/1.19 = 7.9816 -> 7.98, plus 0.78 of shipping
        "the threshold missed by a cent",
        [("49.99", "standard", 1)],
        "DE",
        "standard",
        None,
        {
            "subtotal": "49.99",
            "discount": "0",
            "shipping": "4.90",
            "tax": {"0.1900": "8.76"},
            "total": "54.89",
        },
    ),
    (
        # 10% of 55.00 = 5.50, spread 2.50 / 3.00; goods 49.50 < 50: shipping 4.90 again;
        # books 22.50 - 22.50/1.07 = 1.4720 -> 1.47; 27.00 - 27/1.19 = 4.3109 -> 4.31; + 0.78
        "a percentage voucher spread pro rata, the threshold on goods after discount",
        [("12.50", "reduced", 2), ("30.00", "standard", 1)],
        "DE",
        "standard",
        ("TENOFF", "percentage", "10"),
        {
            "subtotal": "55.00",
            "discount": "5.50",
            "shipping": "4.90",
            "tax": {"0.1900": "5.09", "0.0700": "1.47"},
            "total": "54.40",
        },
    ),
    (
        # 29.97 - 10.00 = 19.97: 19.97 - 19.97/1.19 = 3.1885 -> 3.19, plus 0.78
        "a fixed voucher lowers the goods, never the shipping",
        [("9.99", "standard", 3)],
        "DE",
        "standard",
        ("TENEUR", "fixed", "10.00"),
        {
            "subtotal": "29.97",
            "discount": "10.00",
            "shipping": "4.90",
            "tax": {"0.1900": "3.97"},
            "total": "24.87",
        },
    ),
    (
        "a free-shipping voucher",
        [("19.99", "standard", 1)],
        "DE",
        "express",
        ("SHIPFREE", "free_shipping", "0"),
        {
            "subtotal": "19.99",
            "discount": "0",
            "shipping": "0",
            "tax": {"0.1900": "3.19"},
            "total": "19.99",
        },
    ),
    (
        # FR 20%: 0.15 - 0.15/1.2 = 0.025 -> half-up 0.03 (half-even would give 0.02);
        # shipping 4.90 - 4.90/1.2 = 0.8167 -> 0.82
        "half-up rounding of a line's tax",
        [("0.15", "standard", 1)],
        "FR",
        "standard",
        None,
        {
            "subtotal": "0.15",
            "discount": "0",
            "shipping": "4.90",
            "tax": {"0.2000": "0.85"},
            "total": "5.05",
        },
    ),
    (
        # zero-rated goods carry no tax; shipping is still taxed at the standard rate
        "zero-rated goods",
        [("20.00", "zero", 1)],
        "DE",
        "standard",
        None,
        {
            "subtotal": "20.00",
            "discount": "0",
            "shipping": "4.90",
            "tax": {"0.1900": "0.78", "0.0000": "0.00"},
            "total": "24.90",
        },
    ),
]


def expected(values: dict) -> dict:
    return {
        "subtotal": D(values["subtotal"]),
        "discount": D(values["discount"]),
        "shipping": D(values["shipping"]),
        "tax": {rate: D(amount) for rate, amount in values["tax"].items()},
        "total": D(values["total"]),
    }


@pytest.mark.parametrize(
    ("lines", "country", "method", "code", "want"),
    [case[1:] for case in BASKETS],
    ids=[case[0] for case in BASKETS],
)
def test_a_basket_costs_what_was_computed_by_hand(lines, country, method, code, want):
    basket = [(product(price, tax_class), quantity) for price, tax_class, quantity in lines]
    if code:
        voucher(*code)

    quote = basket_price(
        lines=basket, country=country, shipping_method=method, voucher_code=code and code[0]
    )

    assert summary(quote) == expected(want)
    assert quote.total == quote.subtotal - quote.discount + quote.shipping
    assert quote.tax_total == sum(t["amount"] for t in quote.tax)


def test_a_fixed_discount_is_spread_exactly_to_the_cent():
    # 10.00 over three lines of 10.00: 3.34 + 3.33 + 3.33 (the remainder cent to the first)
    basket = [(product("10.00"), 1) for _ in range(3)]
    voucher("THIRDS", "fixed", "10.00")

    quote = basket_price(lines=basket, country="DE", voucher_code="thirds")

    assert [line.discount for line in quote.lines] == [D("3.34"), D("3.33"), D("3.33")]
    assert quote.discount == D("10.00")


def test_a_category_promotion_covers_its_sub_categories():
    books = CategoryFactory(slug="books-x")
    fiction = CategoryFactory(slug="fiction-x", parent=books)
    now = timezone.now()
    Promotion.objects.create(
        name="Book week",
        category=books,
        percentage=D("20"),
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=1),
    )
    novel = product("20.00", "reduced", category=fiction)
    lamp = product("20.00")

    quote = basket_price(lines=[(novel, 1), (lamp, 1)], country="DE")

    # novel 16.00: 16 - 16/1.07 = 1.0467 -> 1.05; lamp 20 - 20/1.19 = 3.1933 -> 3.19 (+0.78)
    assert [line.discount for line in quote.lines] == [D("4.00"), D("0")]
    assert quote.total == D("40.90") and quote.shipping == D("4.90")
    assert summary(quote)["tax"] == {"0.1900": D("3.97"), "0.0700": D("1.05")}


def test_a_promotion_outside_its_period_does_not_apply():
    category = CategoryFactory()
    now = timezone.now()
    Promotion.objects.create(
        name="Over",
        category=category,
        percentage=D("50"),
        starts_at=now - timedelta(days=3),
        ends_at=now - timedelta(days=1),
    )

    quote = basket_price(lines=[(product("20.00", category=category), 1)], country="DE")

    assert quote.discount == 0


def test_a_weight_band_prices_shipping_and_a_basket_too_heavy_for_it_cannot_use_it():
    standard = ShippingMethod.objects.get(code="standard")
    WeightBand.objects.create(method=standard, max_weight=D("2"), price=D("4.90"))
    WeightBand.objects.create(method=standard, max_weight=D("10"), price=D("7.90"))
    parcel = product("30.00", weight=D("3.000"))
    crate = product("30.00", weight=D("12.000"))

    assert basket_price(lines=[(parcel, 1)], country="DE").shipping == D("7.90")
    heavy = basket_price(lines=[(crate, 1)], country="DE", shipping_method="express")
    assert [m.code for m in heavy.shipping_methods] == ["express"]
    with pytest.raises(ShippingMethodUnavailable):
        basket_price(lines=[(crate, 1)], country="DE", shipping_method="standard")


def test_a_country_nobody_serves_is_unsupported():
    with pytest.raises(UnsupportedCountry) as caught:
        basket_price(lines=[(product("10.00"), 1)], country="US")
    assert caught.value.code == "unsupported_country" and caught.value.status_code == 400


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"starts_at": timezone.now() + timedelta(days=1)}, "not_yet_valid"),
        ({"ends_at": timezone.now() - timedelta(seconds=1)}, "expired"),
        ({"min_subtotal": D("100.00")}, "minimum_not_met"),
    ],
)
def test_a_voucher_outside_its_rules_is_invalid(fields, reason):
    voucher("RULES", "percentage", "10", **fields)

    with pytest.raises(VoucherInvalid) as caught:
        basket_price(lines=[(product("20.00"), 1)], country="DE", voucher_code="RULES")

    assert caught.value.code == "voucher_invalid" and caught.value.details["reason"] == reason


def test_an_unknown_or_inactive_voucher_is_invalid():
    voucher("OFF", "percentage", "10", is_active=False)
    for code in ("NOPE", "off"):
        with pytest.raises(VoucherInvalid):
            basket_price(lines=[(product("20.00"), 1)], country="DE", voucher_code=code)


def test_a_used_up_voucher_is_exhausted():
    code = voucher("ONCE", "percentage", "10", usage_limit=1)
    Voucher.objects.filter(pk=code.pk).update(times_used=1)

    with pytest.raises(VoucherExhausted) as caught:
        basket_price(lines=[(product("20.00"), 1)], country="DE", voucher_code="ONCE")
    assert caught.value.status_code == 409
