"""factory_boy factories for the whole shop, one section per app."""

import datetime
import io
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import Category, Product, ProductImage, ProductRelation
from catalog.services import product_image_renditions_make
from inventory.models import StockItem


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"customer{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True


def staff_with_permissions(*permissions: str):
    """A staff member (not a superuser) holding only ``permissions``, each "app_label.codename"
    (``"orders.view_order"``)."""
    from django.contrib.auth.models import Permission

    staff = StaffFactory()
    for permission in permissions:
        app_label, codename = permission.split(".")
        staff.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return staff


# --- catalog --------------------------------------------------------------------------------
class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    price = Decimal("10.00")
    category = factory.SubFactory(CategoryFactory)
    attributes = factory.LazyFunction(dict)


def picture_file(
    name="picture.png", *, size=(120, 90), colour=(200, 40, 40), image_format="PNG"
) -> SimpleUploadedFile:
    """An uploaded picture made with Pillow (no file on disk)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=image_format)
    content_type = f"image/{image_format.lower()}"
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=content_type)


class ProductImageFactory(factory.django.DjangoModelFactory):
    """A stored picture with its renditions, as the task queued on saving leaves it (a test's
    transaction never commits, so the task is not sent; ``renditions=False`` for a picture
    whose task has not run yet). Tests of the upload itself go through catalog.services."""

    class Meta:
        model = ProductImage
        skip_postgeneration_save = True

    product = factory.SubFactory(ProductFactory)
    image = factory.LazyFunction(picture_file)
    alt = factory.Sequence(lambda n: f"Picture {n}")
    position = factory.Sequence(lambda n: n)

    @factory.post_generation
    def renditions(picture, create, extracted, **kwargs):
        if create and extracted is not False:
            product_image_renditions_make(picture_ids=[picture.pk])


class ProductRelationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductRelation

    from_product = factory.SubFactory(ProductFactory)
    to_product = factory.SubFactory(ProductFactory)
    kind = ProductRelation.Kind.RELATED


# --- inventory ------------------------------------------------------------------------------
class StockItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockItem
        django_get_or_create = ("product",)

    product = factory.SubFactory(ProductFactory)
    quantity = 10
    reserved = 0


# --- orders ---------------------------------------------------------------------------------
class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "orders.Order"

    number = factory.Sequence(lambda n: f"T{n:08d}")
    user = factory.SubFactory(UserFactory)
    currency = "EUR"
    total = Decimal("10.00")
    subtotal = factory.SelfAttribute("total")


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "orders.OrderLine"

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    product_name = factory.LazyAttribute(lambda line: line.product.name)
    sku = factory.LazyAttribute(lambda line: line.product.sku)
    unit_price = factory.LazyAttribute(lambda line: line.product.price)
    quantity = 1
    line_total = factory.LazyAttribute(lambda line: line.unit_price * line.quantity)


# --- payments -------------------------------------------------------------------------------
class PaymentFactory(factory.django.DjangoModelFactory):
    """A pending card payment for a whole order (process it with payments.services)."""

    class Meta:
        model = "payments.Payment"

    order = factory.SubFactory(OrderFactory)
    amount = factory.LazyAttribute(lambda payment: payment.order.total)
    currency = factory.LazyAttribute(lambda payment: payment.order.currency)
    token_reference = "tok_visa"
    card_brand = "visa"
    card_last4 = "4242"


def bought_line(*, user=None, product=None, order_status=None, payment_status=None, paid=True):
    """An order line of ``product`` for ``user``: by default a purchase that counts (the order
    paid and delivered, its payment completed); change one of them to make it not count."""
    from django.utils import timezone

    from orders.models import OrderStatus
    from payments.models import Payment

    order = OrderFactory(
        user=user or UserFactory(),
        status=order_status or OrderStatus.DELIVERED,
        paid_at=timezone.now() if paid else None,
    )
    line = OrderLineFactory(order=order, product=product or ProductFactory())
    PaymentFactory(order=order, status=payment_status or Payment.Status.COMPLETED)
    return line


# --- recommendations ------------------------------------------------------------------------
class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "recommendations.Interaction"

    user = factory.SubFactory(UserFactory)
    product = factory.SubFactory(ProductFactory)
    kind = "view"
    value = 1.0
    at = factory.Faker("date_time_this_month", tzinfo=datetime.UTC)


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "recommendations.Review"

    user = factory.SubFactory(UserFactory)
    product = factory.SubFactory(ProductFactory)
    rating = 4
    title = "Does the job"
