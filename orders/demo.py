"""The demo shop's order history: days of orders by shoppers with tastes, placed, paid,
shipped, delivered and cancelled through the order services, then dated back.

Every order goes through ``order_place`` and ``order_process`` (the test gateway authorizes
and captures, stock is reserved and committed, a paid order gets its invoice), then
``order_ship`` / ``order_deliver`` / ``order_cancel`` as its age says, so totals, invoices,
payments and the stock ledger hold the same invariants as any order's. Only the times are
changed afterwards: the rows each order made are moved to the moment it was placed (shipping
and delivery days later), in the order the orders were placed, so invoice numbers still run
with their dates. The demo shoppers' order mails are dropped: their addresses are not real.
"""

import random
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone

from catalog import demo_data
from catalog.models import Product
from inventory.models import Reservation, StockItem, StockMovement
from orders.models import Invoice, Order, OrderEmail, OrderEvent, OrderStatus
from orders.services.checkout import order_place
from orders.services.lifecycle import order_cancel, order_deliver, order_process, order_ship
from payments.models import Payment, PaymentEvent, Refund, TestGatewayCharge

Actor = OrderEvent.Actor
ADDRESSES = [
    {"line1": "Torstraße 12", "city": "Berlin", "postal_code": "10119", "country": "DE"},
    {"line1": "Schanzenstraße 5", "city": "Hamburg", "postal_code": "20357", "country": "DE"},
    {"line1": "Leopoldstraße 40", "city": "München", "postal_code": "80802", "country": "DE"},
    {"line1": "12 rue Oberkampf", "city": "Paris", "postal_code": "75011", "country": "FR"},
    {"line1": "8 quai Saint-Vincent", "city": "Lyon", "postal_code": "69001", "country": "FR"},
]
DECLINED_SHARE = 0.05  # orders whose card is declined (cancelled by the payment)
CUSTOMER_CANCEL_SHARE = 0.04  # paid orders the customer cancels before they ship
SHIP_AFTER = timedelta(days=1, hours=6)  # older paid orders have shipped...
DELIVER_AFTER = timedelta(days=4)  # ... and older ones still have arrived
# Rows that an order's services make, moved with the order to its moment.
DATED = [
    (OrderEvent, ["at"]),
    (Payment, ["created_at", "updated_at"]),
    (PaymentEvent, ["at"]),
    (Refund, ["at", "settled_at"]),
    (TestGatewayCharge, ["created_at"]),
    (StockMovement, ["at"]),
    (Reservation, ["created_at", "updated_at", "expires_at"]),
]


class _Catalog:
    """The sellable active products (standalone and variants) by leaf category, with the units
    each can still sell."""

    def __init__(self):
        self.by_leaf: dict[str, list[tuple[int, str, str, float]]] = defaultdict(list)
        # What is sold: standalone products and variants (a variant's brand is its parent's),
        # never a parent, which has no stock of its own.
        sellable = Product.objects.filter(is_active=True).exclude(
            structure=Product.Structure.PARENT
        )
        for pk, name, leaf, attributes, parent_attributes, popularity in sellable.values_list(
            "id", "name", "category__slug", "attributes", "parent__attributes", "popularity"
        ):
            brand = (attributes or {}).get("brand") or (parent_attributes or {}).get("brand", "")
            self.by_leaf[leaf].append((pk, name, brand, 1.0 + popularity))
        self.available = {
            pk: quantity - reserved
            for pk, quantity, reserved in StockItem.objects.values_list(
                "product_id", "quantity", "reserved"
            )
        }

    def pick(self, rng, leaf: str, *, word: str = "", brands=(), exclude=()) -> int | None:
        candidates = [
            (pk, weight * (demo_data.BRAND_PREFERENCE if brand in brands else 1.0))
            for pk, name, brand, weight in self.by_leaf.get(leaf, [])
            if word in name and pk not in exclude and self.available.get(pk, 0) > 0
        ]
        if not candidates:
            return None
        ids, weights = zip(*candidates, strict=True)
        return rng.choices(ids, weights=weights)[0]


def _basket(rng, persona, catalog: _Catalog) -> list[tuple[int, int]]:
    """What a shopper of this persona buys: one or two things they like, and what goes with
    them (a phone with a case and a charger)."""
    _name, likes, brands = persona
    leaves = [leaf for leaf in likes if catalog.by_leaf.get(leaf)]
    if not leaves:
        return []
    chosen: list[int] = []
    for _ in range(1 if rng.random() < 0.75 else 2):
        leaf = rng.choices(leaves, weights=[likes[leaf] for leaf in leaves])[0]
        product = catalog.pick(rng, leaf, brands=brands, exclude=chosen)
        if product is None:
            continue
        chosen.append(product)
        name = next(n for pk, n, _b, _w in catalog.by_leaf[leaf] if pk == product)
        for (key_leaf, word), companions in demo_data.BOUGHT_WITH.items():
            if key_leaf != leaf or word not in name:
                continue
            for companion_leaf, companion_word in companions:
                if rng.random() < demo_data.BOUGHT_WITH_CHANCE:
                    companion = catalog.pick(
                        rng, companion_leaf, word=companion_word, brands=brands, exclude=chosen
                    )
                    if companion is not None:
                        chosen.append(companion)
    lines = []
    for product in chosen:
        quantity = 2 if rng.random() < 0.1 and catalog.available[product] >= 2 else 1
        lines.append((product, quantity))
    return lines


def _last_ids() -> dict:
    return {
        model: model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        for model, _fields in DATED
    }


def _date_back(order_id: int, since: dict, when: datetime, shipped, delivered) -> None:
    """Move the rows this order made (ids above ``since``) to ``when``; its shipping and
    delivery events to their own days."""
    shift = when - timezone.now()
    for model, fields in DATED:
        rows = model.objects.filter(pk__gt=since[model])
        rows.update(**{name: F(name) + shift for name in fields})
    events = OrderEvent.objects.filter(order_id=order_id)
    if shipped is not None:
        events.filter(to_status=OrderStatus.SHIPPED).update(at=shipped)
    if delivered is not None:
        events.filter(to_status=OrderStatus.DELIVERED).update(at=delivered)
    order = Order.objects.get(pk=order_id)
    last = events.order_by("-at").values_list("at", flat=True).first() or when
    Order.objects.filter(pk=order_id).update(
        created_at=F("created_at") + shift,
        updated_at=last,
        paid_at=None if order.paid_at is None else order.paid_at + shift,
    )
    # An invoice is dated when the order was paid, but never before the year of its number.
    start_of_year = timezone.now().replace(month=1, day=1, hour=0, minute=0, second=0)
    for invoice in Invoice.objects.filter(order_id=order_id):
        issued = max(invoice.issued_at + shift, start_of_year)
        Invoice.objects.filter(pk=invoice.pk).update(issued_at=issued)
    OrderEmail.objects.filter(order_id=order_id).delete()


def demo_orders_create(
    *, shoppers: list, count: int, days: int = 90, seed: int = 7
) -> tuple[Counter, list[int]]:
    """``count`` orders over the last ``days`` days by ``shoppers`` (shopper number n follows
    ``demo_data.persona_of(n)``). Returns the orders per status and the paid orders' ids."""
    rng = random.Random(seed)
    catalog = _Catalog()
    now = timezone.now()
    moments = sorted(now - timedelta(days=rng.uniform(0, days)) for _ in range(count))
    statuses: Counter = Counter()
    paid: list[int] = []
    for when in moments:
        index = rng.randrange(len(shoppers))
        shopper = shoppers[index]
        lines = _basket(rng, demo_data.persona_of(index), catalog)
        if not lines:
            continue
        address = {"name": shopper.get_full_name() or shopper.username, **rng.choice(ADDRESSES)}
        token = "tok_chargeDeclined" if rng.random() < DECLINED_SHARE else "tok_visa"
        since = _last_ids()
        order = order_place(
            user=shopper, shipping_address=address, payment_token=token, lines=lines
        )
        order = order_process(order_id=order.id)  # idempotent: a worker may have run it too
        shipped = delivered = None
        age = now - when
        if order.status == OrderStatus.PROCESSING and order.paid_at is not None:
            if rng.random() < CUSTOMER_CANCEL_SHARE:
                order = order_cancel(
                    order_id=order.id,
                    actor=Actor.CUSTOMER,
                    user=shopper,
                    reason="cancelled at the customer's request",
                )
            elif age > SHIP_AFTER:
                shipped = when + timedelta(hours=rng.uniform(18, 30))
                order = order_ship(order_id=order.id, actor=Actor.STAFF, reason="handed to DHL")
                if age > DELIVER_AFTER:
                    delivered = shipped + timedelta(days=rng.uniform(1, 3))
                    order = order_deliver(order_id=order.id, actor=Actor.SYSTEM)
        _date_back(order.id, since, when, shipped, delivered)
        if order.paid_at is not None and order.status != OrderStatus.CANCELLED:
            paid.append(order.id)
        if order.status != OrderStatus.CANCELLED:
            for product_id, quantity in lines:
                catalog.available[product_id] -= quantity
        statuses[order.status] += 1
    return statuses, paid
