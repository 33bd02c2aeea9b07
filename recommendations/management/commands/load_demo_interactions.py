"""Believable synthetic interactions so the demo shop's recommendations have something to learn.

Each synthetic shopper has a taste for two or three categories; they view many products of
those (popular ones more often), put some in the cart, buy a few and rate some. The demo
customers (alice, bob, carol) get the same treatment. Nothing here touches orders or stock.
"""

import numpy as np
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from catalog.models import Product
from recommendations import services, training
from recommendations.models import Interaction

DEMO_CUSTOMERS = ("alice", "bob", "carol")


class Command(BaseCommand):
    help = "Generate synthetic shoppers and interactions for the demo (idempotent per seed)."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=300)
        parser.add_argument("--per-user", type=int, default=25)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--train", action="store_true", help="train the models afterwards")

    @transaction.atomic
    def _generate(self, options) -> int:
        rng = np.random.default_rng(options["seed"])
        products = list(Product.objects.filter(is_active=True).values_list("id", "category_id"))
        if not products:
            return 0
        ids = np.array([p for p, _ in products])
        categories = np.array([c for _, c in products])
        kinds = np.unique(categories)
        # Item appeal: a long tail, as in any shop.
        appeal = rng.pareto(1.2, size=len(ids)) + 0.05
        users = list(get_user_model().objects.filter(username__in=DEMO_CUSTOMERS))
        users += services.demo_users(options["users"])
        Interaction.objects.filter(user__in=users, source__startswith="demo:").delete()
        now = timezone.now()
        rows = []
        for user in users:
            liked = rng.choice(kinds, size=min(len(kinds), int(rng.integers(2, 4))), replace=False)
            weights = appeal * np.where(np.isin(categories, liked), 8.0, 0.3)
            weights /= weights.sum()
            count = min(len(ids), max(3, int(rng.poisson(options["per_user"]))))
            chosen = rng.choice(len(ids), size=count, replace=False, p=weights)
            for index in chosen:
                product_id = int(ids[index])
                at = now - timezone.timedelta(days=float(rng.uniform(0, 60)))
                depth = rng.random()
                events = [("view", 1.0)]
                if depth > 0.55:
                    events.append(("cart", 1.0))
                if depth > 0.8:
                    events.append(("purchase", 1.0))
                if depth > 0.9:
                    events.append(("rating", float(rng.choice([3, 4, 4, 5, 5]))))
                for n, (kind, value) in enumerate(events):
                    rows.append(
                        Interaction(
                            user=user,
                            product_id=product_id,
                            kind=kind,
                            value=value,
                            at=at + timezone.timedelta(minutes=5 * n),
                            source=f"demo:{user.pk}:{kind}",
                        )
                    )
        Interaction.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
        return len(rows)

    def handle(self, *args, **options):
        created = self._generate(options)
        services.popularity_refresh()
        self.stdout.write(f"{created} demo interactions")
        if options["train"]:
            for version in training.training_run():
                self.stdout.write(f"{version.algorithm}: {version.status}")
