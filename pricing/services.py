"""The one pricing path: the checkout quote and the placed order both come from ``basket_price``.

Catalog prices are gross. For a basket and a destination it computes, in this order:

1. each line's gross ``line_total`` (unit price x quantity) and the ``subtotal``;
2. discounts: the best automatic promotion of each line's category, then the voucher, spread
   pro rata over the goods lines (to the cent, the remainder cents going to the largest
   fractions), never onto shipping;
3. shipping: the method's flat or weight-band price, free once the goods after discounts reach
   its threshold (or with a free-shipping voucher);
4. VAT extracted per line from what the line costs after its discount, at the rate of its tax
   class in the destination country: ``gross - gross / (1 + rate)``, half-up to the cent; the
   shipping is taxed at the destination's standard rate;
5. the total: goods after discounts plus shipping.

Voucher uses are counted at placement (``voucher_use_claim``) with a conditional update, as
stock is, and given back when an unpaid order is cancelled (``voucher_use_release``).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import Category, Product
from pricing.exceptions import (
    ShippingMethodUnavailable,
    UnsupportedCountry,
    VoucherExhausted,
    VoucherInvalid,
)
from pricing.models import Promotion, ShippingMethod, ShippingZone, TaxRate, Voucher, VoucherUse
from shop.cache import cached

CONFIG_AREA = "pricing"

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DEFAULT_METHOD = "standard"
TaxClass = Product.TaxClass


def money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def tax_in(gross: Decimal, rate: Decimal) -> Decimal:
    """The VAT contained in a gross amount at ``rate``, half-up to the cent."""
    return money(gross - gross / (1 + rate))


@dataclass
class PricedLine:
    product: Product
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    discount: Decimal = ZERO
    tax_rate: Decimal = ZERO
    tax_amount: Decimal = ZERO

    @property
    def net_of_discount(self) -> Decimal:
        """What the line costs the customer: its gross total less its share of discounts."""
        return self.line_total - self.discount


@dataclass
class ShippingOption:
    code: str
    name: str
    price: Decimal


@dataclass
class Quote:
    currency: str
    country: str
    lines: list[PricedLine]
    subtotal: Decimal
    discount: Decimal
    shipping: Decimal
    shipping_method: str
    shipping_tax_rate: Decimal
    shipping_tax: Decimal
    tax: list[dict]  # [{"rate", "amount"}], by rate
    tax_total: Decimal
    total: Decimal
    voucher: Voucher | None = None
    shipping_methods: list[ShippingOption] = field(default_factory=list)


# --- the pieces -----------------------------------------------------------------------------
@dataclass(frozen=True)
class PricingConfig:
    """What the shop's prices are made of besides the products: VAT rates, shipping zones and
    their active methods (with weight bands), and the active promotions. Read once per change,
    not once per basket: it is cached in the ``pricing`` area of ``shop.cache`` and made stale
    by every save or delete of these models (pricing.receivers)."""

    rates: dict[str, dict[str, Decimal]]  # country -> tax class -> rate
    zones: list[tuple[ShippingZone, list[ShippingMethod]]]  # methods with bands prefetched
    promotions: list[Promotion]  # active ones; their periods are checked per basket


def _config_build() -> PricingConfig:
    rates: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for country, tax_class, rate in TaxRate.objects.values_list("country", "tax_class", "rate"):
        rates[country][tax_class] = rate
    methods = defaultdict(list)
    for method in ShippingMethod.objects.filter(is_active=True).prefetch_related("bands"):
        methods[method.zone_id].append(method)
    return PricingConfig(
        rates=dict(rates),
        zones=[(zone, methods[zone.pk]) for zone in ShippingZone.objects.all()],
        promotions=list(Promotion.objects.filter(is_active=True)),
    )


def pricing_config() -> PricingConfig:
    """The current pricing configuration (cached; see PricingConfig)."""
    return cached(CONFIG_AREA, "config", _config_build)


def _rates(config: PricingConfig, country: str) -> dict[str, Decimal]:
    rates = config.rates.get(country, {})
    if TaxClass.STANDARD not in rates:
        raise UnsupportedCountry(
            f"The shop does not deliver to {country}.", details={"country": country}
        )
    return rates


def _zone(config: PricingConfig, country: str) -> tuple[ShippingZone, list[ShippingMethod]]:
    for zone, methods in config.zones:
        if country in zone.countries:
            return zone, methods
    raise UnsupportedCountry(f"No shipping method serves {country}.", details={"country": country})


def _method_price(method: ShippingMethod, weight: Decimal) -> Decimal | None:
    """The method's price for this weight; None if the basket is too heavy for it."""
    bands = list(method.bands.all())
    if not bands:
        return method.price
    for band in sorted(bands, key=lambda b: b.max_weight):
        if weight <= band.max_weight:
            return band.price
    return None


def _category_ancestors(category_ids: set[int]) -> dict[int, set[int]]:
    """For each category, itself and every ancestor (a promotion on a parent covers it)."""
    parents = dict(Category.objects.values_list("id", "parent_id"))
    found = {}
    for cid in category_ids:
        chain, seen = set(), cid
        while seen is not None and seen not in chain:
            chain.add(seen)
            seen = parents.get(seen)
        found[cid] = chain
    return found


def _apply_promotions(lines: list[PricedLine], config: PricingConfig, now: datetime) -> None:
    promotions = [p for p in config.promotions if p.starts_at <= now < p.ends_at]
    if not promotions:
        return
    ancestry = _category_ancestors({line.product.category_id for line in lines})
    for line in lines:
        best = max(
            (
                p.percentage
                for p in promotions
                if p.category_id in ancestry[line.product.category_id]
            ),
            default=None,
        )
        if best is not None:
            line.discount = money(line.line_total * best / 100)


def _spread(lines: list[PricedLine], amount: Decimal) -> None:
    """Add ``amount`` of discount over the lines pro rata to what each still costs, exactly to
    the cent (largest remainder)."""
    bases = [line.net_of_discount for line in lines]
    base_total = sum(bases, ZERO)
    if amount <= 0 or base_total <= 0:
        return
    cents = int((amount / CENT).to_integral_value())
    exact = [Decimal(cents) * b / base_total for b in bases]
    shares = [int(e) for e in exact]  # floor: every share is non-negative
    left = cents - sum(shares)
    by_fraction = sorted(range(len(lines)), key=lambda i: (exact[i] - shares[i], -i), reverse=True)
    for i in by_fraction[:left]:
        shares[i] += 1
    for line, share in zip(lines, shares, strict=True):
        line.discount += share * CENT


def voucher_find(code: str) -> Voucher:
    voucher = Voucher.objects.filter(code=(code or "").strip().upper()).first()
    if voucher is None or not voucher.is_active:
        raise VoucherInvalid("There is no such voucher.", details={"voucher": code})
    return voucher


def _voucher_check(voucher: Voucher, *, goods: Decimal, currency: str, user, now) -> None:
    def refuse(message: str, reason: str):
        raise VoucherInvalid(message, details={"voucher": voucher.code, "reason": reason})

    if voucher.starts_at and now < voucher.starts_at:
        refuse("This voucher is not valid yet.", "not_yet_valid")
    if voucher.ends_at and now >= voucher.ends_at:
        refuse("This voucher has expired.", "expired")
    if voucher.kind == Voucher.Kind.FIXED and voucher.currency != currency:
        refuse("This voucher is for another currency.", "currency")
    if goods < voucher.min_subtotal:
        refuse(
            f"This voucher needs goods of at least {voucher.min_subtotal} {voucher.currency}.",
            "minimum_not_met",
        )
    if voucher.per_customer_limit is not None and not getattr(user, "is_authenticated", False):
        # A guest has no history to count uses against: such a voucher needs an account.
        refuse("Sign in to use this voucher.", "account_required")
    if voucher.per_customer_limit is not None and user is not None and user.is_authenticated:
        used = VoucherUse.objects.filter(
            voucher=voucher, user=user, released_at__isnull=True
        ).count()
        if used >= voucher.per_customer_limit:
            refuse("You have already used this voucher.", "per_customer_limit")
    if voucher.usage_limit is not None and voucher.times_used >= voucher.usage_limit:
        raise VoucherExhausted(details={"voucher": voucher.code})


# --- the quote ------------------------------------------------------------------------------
def basket_price(
    *,
    lines: list[tuple[Product, int]],
    country: str,
    shipping_method: str | None = None,
    voucher_code: str | None = None,
    user=None,
    now: datetime | None = None,
) -> Quote:
    """Price ``lines`` [(product, quantity)] for delivery to ``country``. Reads only.

    Raises UnsupportedCountry, ShippingMethodUnavailable, VoucherInvalid, VoucherExhausted."""
    now = now or timezone.now()
    country = (country or "").upper()
    config = pricing_config()
    rates = _rates(config, country)
    _, zone_methods = _zone(config, country)
    currency = lines[0][0].currency if lines else "EUR"
    priced = [
        PricedLine(
            product=product,
            quantity=quantity,
            unit_price=product.price,
            line_total=money(product.price * quantity),
        )
        for product, quantity in lines
    ]
    subtotal = sum((line.line_total for line in priced), ZERO)

    _apply_promotions(priced, config, now)
    voucher = None
    if voucher_code:
        voucher = voucher_find(voucher_code)
        goods = subtotal - sum((line.discount for line in priced), ZERO)
        _voucher_check(voucher, goods=goods, currency=currency, user=user, now=now)
        if voucher.kind == Voucher.Kind.PERCENTAGE:
            _spread(priced, money(goods * voucher.value / 100))
        elif voucher.kind == Voucher.Kind.FIXED:
            _spread(priced, min(voucher.value, goods))
    discount = sum((line.discount for line in priced), ZERO)
    goods = subtotal - discount

    weight = sum((line.product.weight * line.quantity for line in priced), Decimal("0"))
    options: dict[str, tuple[ShippingMethod, Decimal]] = {}
    for method in (m for m in zone_methods if m.currency == currency):
        price = _method_price(method, weight)
        if price is None:
            continue
        free = (method.free_above is not None and goods >= method.free_above) or (
            voucher is not None and voucher.kind == Voucher.Kind.FREE_SHIPPING
        )
        options[method.code] = (method, ZERO if free else price)
    code = shipping_method or DEFAULT_METHOD
    if code not in options:
        raise ShippingMethodUnavailable(
            f"Shipping method {code!r} is not available for this order.",
            details={"shipping_method": code, "available": sorted(options)},
        )
    shipping = options[code][1]

    by_rate: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for line in priced:
        line.tax_rate = rates.get(line.product.tax_class, rates[TaxClass.STANDARD])
        if line.product.tax_class not in rates:
            raise UnsupportedCountry(
                f"No {line.product.tax_class} VAT rate is set for {country}.",
                details={"country": country, "tax_class": line.product.tax_class},
            )
        line.tax_amount = tax_in(line.net_of_discount, line.tax_rate)
        by_rate[line.tax_rate] += line.tax_amount
    shipping_rate = rates[TaxClass.STANDARD]
    shipping_tax = tax_in(shipping, shipping_rate)
    if shipping:
        by_rate[shipping_rate] += shipping_tax
    tax = [{"rate": rate, "amount": by_rate[rate]} for rate in sorted(by_rate, reverse=True)]
    return Quote(
        currency=currency,
        country=country,
        lines=priced,
        subtotal=subtotal,
        discount=discount,
        shipping=shipping,
        shipping_method=code,
        shipping_tax_rate=shipping_rate,
        shipping_tax=shipping_tax,
        tax=tax,
        tax_total=sum((t["amount"] for t in tax), ZERO),
        total=goods + shipping,
        voucher=voucher,
        shipping_methods=[
            ShippingOption(code=m.code, name=m.name, price=price)
            for m, price in sorted(options.values(), key=lambda o: (o[0].position, o[1]))
        ],
    )


# --- counting voucher uses ------------------------------------------------------------------
def voucher_use_claim(*, voucher: Voucher, order, user) -> VoucherUse:
    """Count one use of ``voucher`` by ``order`` (in the order's transaction).

    The conditional update never lets ``times_used`` pass ``usage_limit``, however many orders
    race for the last use (VoucherExhausted). It also locks the voucher's row until the order
    commits, so a customer's concurrent orders are counted one after the other."""
    changed = (
        Voucher.objects.filter(pk=voucher.pk)
        .filter(Q(usage_limit__isnull=True) | Q(times_used__lt=F("usage_limit")))
        .update(times_used=F("times_used") + 1)
    )
    if not changed:
        raise VoucherExhausted(details={"voucher": voucher.code})
    if voucher.per_customer_limit is not None and user is None:
        raise VoucherInvalid(
            "Sign in to use this voucher.",
            details={"voucher": voucher.code, "reason": "account_required"},
        )
    if voucher.per_customer_limit is not None and user is not None:
        used = VoucherUse.objects.filter(
            voucher=voucher, user=user, released_at__isnull=True
        ).count()
        if used >= voucher.per_customer_limit:
            raise VoucherInvalid(
                "You have already used this voucher.",
                details={"voucher": voucher.code, "reason": "per_customer_limit"},
            )
    return VoucherUse.objects.create(voucher=voucher, order=order, user=user)


def voucher_use_release(*, order) -> bool:
    """Give the use back (the order was cancelled before payment). Idempotent."""
    use = VoucherUse.objects.select_for_update().filter(order=order, released_at=None).first()
    if use is None:
        return False
    use.released_at = timezone.now()
    use.save(update_fields=["released_at"])
    Voucher.objects.filter(pk=use.voucher_id, times_used__gt=0).update(
        times_used=F("times_used") - 1
    )
    return True


# --- staff: vouchers ------------------------------------------------------------------------
VOUCHER_FIELDS = (
    "code",
    "kind",
    "value",
    "currency",
    "min_subtotal",
    "starts_at",
    "ends_at",
    "usage_limit",
    "per_customer_limit",
    "is_active",
)


def voucher_save(*, voucher: Voucher | None = None, **fields) -> Voucher:
    """Create a voucher, or change one (``times_used`` is never set by hand)."""
    voucher = voucher or Voucher()
    for name, value in fields.items():
        if name not in VOUCHER_FIELDS:
            raise ValueError(f"{name} is not a voucher field.")
        setattr(voucher, name, value)
    voucher.code = (voucher.code or "").strip().upper()
    if voucher.kind == Voucher.Kind.PERCENTAGE and voucher.value > 100:
        raise ValidationError({"value": "A percentage is at most 100."})
    if voucher.starts_at and voucher.ends_at and voucher.ends_at <= voucher.starts_at:
        raise ValidationError({"ends_at": "The end must come after the start."})
    if voucher.usage_limit is not None and voucher.pk and voucher.usage_limit < voucher.times_used:
        raise ValidationError({"usage_limit": f"It was already used {voucher.times_used} times."})
    voucher.full_clean(exclude=["times_used"])
    try:
        with transaction.atomic():
            voucher.save()
    except IntegrityError as exc:  # a concurrent save of the same code
        raise ValidationError({"code": "A voucher with this code exists."}) from exc
    return voucher
