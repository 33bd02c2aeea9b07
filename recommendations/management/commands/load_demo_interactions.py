"""The demo shop's shoppers: an order history and believable interactions, from tastes.

Each synthetic shopper (and alice, bob and carol) follows a persona of
``catalog.demo_data.PERSONAS``: the categories and brands it likes. Its orders, over the
last ``--days`` days, are placed, paid, shipped, delivered or cancelled through the order
services (``orders.demo``), with items bought together (a phone with a case and a charger);
its purchases are those orders' lines. Views, carts and ratings follow the same tastes. So
the staff dashboard, the order lists and "customers also bought" show what a merchant would
recognise.
"""

import numpy as np
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from catalog import demo_data
from catalog.models import Product
from orders.demo import demo_orders_create
from orders.models import Order
from recommendations import services, training
from recommendations.models import Interaction

DEMO_CUSTOMERS = ("alice", "bob", "carol")


class Command(BaseCommand):
    help = (
        "Give the demo shop its shoppers: an order history placed through the order services "
        "and views, carts and ratings that follow each shopper's tastes (idempotent per seed: "
        "the orders are made once, the interactions made again)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=300)
        parser.add_argument("--per-user", type=int, default=25)
        parser.add_argument("--orders", type=int, default=240, help="orders to place (once)")
        parser.add_argument("--days", type=int, default=90, help="how far back orders go")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--train", action="store_true", help="train the models afterwards")

    def _shoppers(self, count: int) -> list:
        users = list(get_user_model().objects.filter(username__in=DEMO_CUSTOMERS))
        users.sort(key=lambda u: DEMO_CUSTOMERS.index(u.username))
        return users + services.demo_users(count)

    @transaction.atomic
    def _generate(self, users: list, options) -> int:
        rng = np.random.default_rng(options["seed"])
        # Shoppers view and cart what is sold: standalone products and variants (a variant
        # with its parent's brand), never a parent itself.
        rows = [
            (pk, leaf, attributes or parent_attributes)
            for pk, leaf, attributes, parent_attributes in Product.objects.filter(is_active=True)
            .exclude(structure=Product.Structure.PARENT)
            .values_list("id", "category__slug", "attributes", "parent__attributes")
        ]
        if not rows:
            return 0
        ids = np.array([pk for pk, _leaf, _attrs in rows])
        leaves = np.array([leaf for _pk, leaf, _attrs in rows])
        brands = np.array([(attrs or {}).get("brand", "") for _pk, _leaf, attrs in rows])
        # Item appeal: a long tail, as in any shop.
        appeal = rng.pareto(1.2, size=len(ids)) + 0.05
        Interaction.objects.filter(user__in=users, source__startswith="demo:").delete()
        now = timezone.now()
        bought = set(
            Interaction.objects.filter(
                user__in=users, kind=Interaction.Kind.PURCHASE, source__startswith="order:"
            ).values_list("user_id", "product_id")
        )
        created = []
        for index, user in enumerate(users):
            _name, likes, favourite_brands = demo_data.persona_of(index)
            taste = np.array([likes.get(leaf, 0) for leaf in leaves], dtype=float)
            weights = appeal * np.where(taste > 0, 2.0 * taste, 0.15)
            weights *= np.where(np.isin(brands, favourite_brands), demo_data.BRAND_PREFERENCE, 1)
            weights /= weights.sum()
            count = min(len(ids), max(3, int(rng.poisson(options["per_user"]))))
            chosen = rng.choice(len(ids), size=count, replace=False, p=weights)
            for position in chosen:
                product_id = int(ids[position])
                at = now - timezone.timedelta(days=float(rng.uniform(0, options["days"])))
                events = [("view", 1.0)]
                if rng.random() > 0.6:
                    events.append(("cart", 1.0))
                if (user.pk, product_id) in bought and rng.random() > 0.5:
                    events.append(("rating", float(rng.choice([3, 4, 4, 5, 5]))))
                for n, (kind, value) in enumerate(events):
                    created.append(
                        Interaction(
                            user=user,
                            product_id=product_id,
                            kind=kind,
                            value=value,
                            at=at + timezone.timedelta(minutes=5 * n),
                            source=f"demo:{user.pk}:{kind}",
                        )
                    )
        Interaction.objects.bulk_create(created, batch_size=5000, ignore_conflicts=True)
        return len(created)

    @transaction.atomic  # one commit for the history, not a dozen per order (SQLite's fsyncs)
    def _orders(self, users: list, options) -> str:
        if Order.objects.filter(user__in=users).exists():
            return "orders: already there"
        statuses, paid = demo_orders_create(
            shoppers=users, count=options["orders"], days=options["days"], seed=options["seed"]
        )
        for order_id in paid:  # purchases at the (dated back) time of payment
            Interaction.objects.filter(source=f"order:{order_id}").delete()
            services.interactions_record_order(order_id=order_id)
        return "orders: " + ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))

    def handle(self, *args, **options):
        users = self._shoppers(options["users"])
        self.stdout.write(self._orders(users, options))
        created = self._generate(users, options)
        services.popularity_refresh()
        self.stdout.write(f"{created} demo interactions")
        if options["train"]:
            for version in training.training_run():
                self.stdout.write(f"{version.algorithm}: {version.status}")
