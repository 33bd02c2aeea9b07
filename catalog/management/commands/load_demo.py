"""Build the demo shop: categories, products with attributes and stock, graph edges, users.

Idempotent: it only adds what is missing, so running it twice changes nothing. With debug off
(production) it does not create the demo superuser, whose password is published.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q
from django.utils.text import slugify
from tqdm import tqdm

from catalog import demo_data, demo_images
from catalog import services as catalog_services
from catalog.models import Category, Product, ProductImage, ProductRelation
from catalog.renditions import renditions_queue
from catalog.selectors import CATALOG_CACHE_AREA
from inventory.services import OpeningStock, stock_open
from shop.cache import invalidate

BATCH = 2000
# Pictures are drawn for this many demo products by default (about 15 ms each).
PICTURES = 400
DEMO_USERS = [
    # username, email, password, is_staff
    ("admin", "admin@example.com", "admin-demo-2026", True),
    ("alice", "alice@example.com", "alice-demo-2026", False),
    ("bob", "bob@example.com", "bob-demo-2026", False),
    ("carol", "carol@example.com", "carol-demo-2026", False),
]


class Command(BaseCommand):
    help = (
        "Load the demo catalog, stock and users (idempotent: it only adds what is missing). "
        "The demo users' passwords are published (README), so with DEBUG off (production) "
        "the staff superuser 'admin' is not created: the catalog, stock and the customer "
        "accounts are loaded, and a notice says to create staff with `manage.py "
        "createsuperuser`."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--products",
            type=int,
            default=400,
            help="How many demo products the catalog should hold (default 400).",
        )
        parser.add_argument(
            "--families",
            type=int,
            default=len(demo_data.VARIANT_FAMILIES),
            help="How many apparel and shoe families sold in sizes and colours (a parent with "
            f"its variants) to add besides; default all {len(demo_data.VARIANT_FAMILIES)}, "
            "0 for none.",
        )
        parser.add_argument(
            "--pictures",
            type=int,
            default=PICTURES,
            help=f"Draw a picture for each of the first N demo products (default {PICTURES}); "
            "their renditions are made by tasks once stored (here, where Celery is eager).",
        )
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(
        self, *args, products: int, families: int, pictures: int, no_progress: bool, **options
    ):
        if products < 0 or products > 2_000_000:
            raise CommandError("--products must be between 0 and 2,000,000.")
        if not 0 <= families <= len(demo_data.VARIANT_FAMILIES):
            raise CommandError(
                f"--families must be between 0 and {len(demo_data.VARIANT_FAMILIES)}."
            )
        if pictures < 0:
            raise CommandError("--pictures must not be negative.")
        categories = self._categories()
        created = self._products(products, categories, progress=not no_progress)
        new_families = self._families(families, categories)
        drawn = self._pictures(min(pictures, products), progress=not no_progress)
        if pictures:
            drawn += self._family_pictures(families)
        users = self._users()
        invalidate(CATALOG_CACHE_AREA)  # products were bulk-created, past the services
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo shop ready: {len(categories)} categories, {products} products "
                f"({created} new), {families} families sold in sizes and colours "
                f"({new_families} new), {drawn} new pictures, {users} new users."
            )
        )

    @transaction.atomic
    def _families(self, total: int, categories: dict[str, Category]) -> int:
        """Parents with their variants, made through the catalog services; each variant's
        opening stock goes into the ledger like any demo product's."""
        created = 0
        for index in range(total):
            spec = demo_data.variant_family_spec(index)
            parent = Product.objects.filter(sku=spec["sku"]).first()
            if parent is None:
                parent = catalog_services.product_create(
                    sku=spec["sku"],
                    name=spec["name"],
                    slug=slugify(spec["slug"]),
                    price=spec["price"],
                    category=categories[spec["category"]],
                    description=spec["description"],
                    attributes=spec["attributes"],
                    tax_class=spec["tax_class"],
                    weight=spec["weight"],
                    structure=Product.Structure.PARENT,
                    options=spec["options"],
                )
                created += 1
            existing = dict(Product.objects.filter(parent=parent).values_list("sku", "id"))
            ids = {}
            for variant in spec["variants"]:
                ids[variant["sku"]] = existing.get(variant["sku"]) or (
                    catalog_services.variant_create(
                        parent=parent,
                        sku=variant["sku"],
                        options=variant["options"],
                        price=variant["price"],
                    ).pk
                )
            stock_open(
                lines=[
                    OpeningStock(product_id=ids[v["sku"]], quantity=v["stock"])
                    for v in spec["variants"]
                ],
                reason="demo data",
            )
        return created

    @transaction.atomic
    def _categories(self) -> dict[str, Category]:
        by_slug = {
            c.slug: c
            for c in Category.objects.filter(slug__in=[row[0] for row in demo_data.CATEGORIES])
        }
        for position, (slug, name, parent, featured) in enumerate(demo_data.CATEGORIES):
            if slug not in by_slug:
                category = Category(
                    slug=slug,
                    name=name,
                    parent=by_slug.get(parent),
                    is_featured=featured,
                    position=position,
                )
                category.full_clean()
                category.save()
                by_slug[slug] = category
        return by_slug

    def _products(self, total: int, categories: dict[str, Category], *, progress: bool) -> int:
        created = 0
        bar = tqdm(total=total, desc="products", unit="product", disable=not progress)
        for start in range(0, total, BATCH):
            indices = range(start, min(start + BATCH, total))
            created += self._product_batch(indices, categories)
            bar.update(len(indices))
        bar.close()
        return created

    @transaction.atomic
    def _product_batch(self, indices: range, categories: dict[str, Category]) -> int:
        specs = [demo_data.product_spec(i) for i in indices]
        existing = set(
            Product.objects.filter(sku__in=[s["sku"] for s in specs]).values_list("sku", flat=True)
        )
        new = [s for s in specs if s["sku"] not in existing]
        Product.objects.bulk_create(
            [
                Product(
                    sku=s["sku"],
                    slug=slugify(s["slug"]),
                    name=s["name"],
                    description=s["description"],
                    price=s["price"],
                    tax_class=s["tax_class"],
                    weight=s["weight"],
                    category=categories[s["category"]],
                    attributes=s["attributes"],
                )
                for s in new
            ],
            batch_size=1000,
        )
        ids = dict(
            Product.objects.filter(sku__in=[s["sku"] for s in specs]).values_list("sku", "id")
        )
        # Every demo product without a stock record gets one, and the ledger its opening stock.
        stock_open(
            lines=[
                OpeningStock(
                    product_id=ids[s["sku"]],
                    quantity=s["stock"],
                    reorder_point=s["reorder_point"],
                    reorder_quantity=s["reorder_quantity"],
                )
                for s in specs
            ],
            reason="demo data",
        )
        ProductRelation.objects.bulk_create(
            self._relations(indices, [s["sku"] for s in new]),
            ignore_conflicts=True,
            batch_size=1000,
        )
        return len(new)

    def _relations(self, indices: range, new_skus: list[str]) -> list[ProductRelation]:
        """Edges from each new product: the neighbours in its category, an accessory."""
        step = len(demo_data.LEAVES)
        wanted: list[tuple[int, int, str, str]] = []
        new = set(new_skus)
        for i in indices:
            if f"DEMO-{i:06d}" not in new:
                continue
            leaf = demo_data.LEAVES[i % step]
            for offset, weight in ((step, "0.900"), (-step, "0.800"), (2 * step, "0.600")):
                if i + offset >= 0:
                    wanted.append((i, i + offset, ProductRelation.Kind.RELATED, weight))
            target_leaf = demo_data.ACCESSORY_OF.get(leaf)
            if target_leaf:
                target = demo_data.LEAVES.index(target_leaf)
                j = i - (i % step) + target
                wanted.append((i, j, ProductRelation.Kind.ACCESSORY, "0.700"))
        skus = {f"DEMO-{n:06d}" for edge in wanted for n in edge[:2]}
        ids = dict(Product.objects.filter(sku__in=skus).values_list("sku", "id"))
        edges = []
        for a, b, kind, weight in wanted:
            from_id, to_id = ids.get(f"DEMO-{a:06d}"), ids.get(f"DEMO-{b:06d}")
            if from_id and to_id and from_id != to_id:
                edges.append(
                    ProductRelation(
                        from_product_id=from_id, to_product_id=to_id, kind=kind, weight=weight
                    )
                )
        return edges

    def _pictures(self, total: int, *, progress: bool) -> int:
        """A picture drawn for each of the first ``total`` demo products that has none."""
        skus = [f"DEMO-{i:06d}" for i in range(total)]
        missing = list(
            Product.objects.filter(sku__in=skus, images__isnull=True)
            .order_by("sku")
            .values_list("id", "name", "category__slug", "attributes")
        )
        bar = tqdm(total=len(missing), desc="pictures", unit="picture", disable=not progress)
        for start in range(0, len(missing), BATCH):
            rows = []
            for product_id, name, category, attributes in missing[start : start + BATCH]:
                colour = attributes.get("color")
                data = demo_images.product_picture_bytes(
                    name=name,
                    brand=attributes.get("brand", ""),
                    category=category,
                    colour=colour,
                    badge=demo_images.badge_of(attributes),
                )
                path = default_storage.save(f"products/{product_id}/demo.jpg", ContentFile(data))
                rows.append(
                    ProductImage(
                        product_id=product_id,
                        image=path,
                        width=demo_images.EDGE,
                        height=demo_images.EDGE,
                        alt=f"{name}, {colour}" if colour else name,
                    )
                )
                bar.update(1)
            # bulk_create sends no post_save, so imagekit never hears of these pictures.
            renditions_queue(p.pk for p in ProductImage.objects.bulk_create(rows))
        bar.close()
        return len(missing)

    def _family_pictures(self, total: int) -> int:
        """A picture for each of the first ``total`` families' parents (in its first colour)
        and variants (in their own colour, their size in the corner), where one is missing: the
        product page's picker shows the chosen variant's."""
        skus = [demo_data.variant_family_spec(i)["sku"] for i in range(total)]
        missing = list(
            Product.objects.filter(Q(sku__in=skus) | Q(parent__sku__in=skus), images__isnull=True)
            .order_by("sku")
            .values_list("id", "name", "category__slug", "attributes", "options", "parent__options")
        )
        rows = []
        for product_id, name, category, attributes, options, parent_options in missing:
            if parent_options is None:  # a parent: its first colour, no size
                axes = {axis["name"]: axis["values"] for axis in options}
                colour, badge = (axes.get("colour") or [None])[0], ""
            else:
                colour = options.get("colour")
                badge = f"Size {options['size']}" if "size" in options else ""
            data = demo_images.product_picture_bytes(
                name=name,
                brand=attributes.get("brand", ""),
                category=category,
                colour=colour,
                badge=badge,
            )
            path = default_storage.save(f"products/{product_id}/demo.jpg", ContentFile(data))
            rows.append(
                ProductImage(
                    product_id=product_id,
                    image=path,
                    width=demo_images.EDGE,
                    height=demo_images.EDGE,
                    alt=f"{name}, {colour}" if colour and parent_options is None else name,
                )
            )
        renditions_queue(p.pk for p in ProductImage.objects.bulk_create(rows))
        return len(rows)

    @transaction.atomic
    def _users(self) -> int:
        User = get_user_model()
        created = 0
        for username, email, password, is_staff in DEMO_USERS:
            if User.objects.filter(username=username).exists():
                continue
            if is_staff and not settings.DEBUG:
                self.stderr.write(
                    self.style.WARNING(
                        f"Not creating the demo superuser '{username}': DEBUG is off and its "
                        "password is published. Create staff with `manage.py createsuperuser`."
                    )
                )
                continue
            if is_staff:
                User.objects.create_superuser(username=username, email=email, password=password)
            else:
                User.objects.create_user(username=username, email=email, password=password)
            created += 1
        return created
