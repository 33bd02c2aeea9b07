"""The demo's pictures: drawn with Pillow, one per product, each different from the others."""

import hashlib
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image

from catalog import demo_data, demo_images
from catalog.models import Product, ProductImage
from catalog.renditions import rendition_names

pytestmark = pytest.mark.django_db


def test_load_demo_draws_one_picture_per_product_and_no_more_when_run_again():
    call_command(
        "load_demo", products=20, pictures=16, families=0, no_progress=True, stdout=StringIO()
    )
    call_command(
        "load_demo", products=20, pictures=16, families=0, no_progress=True, stdout=StringIO()
    )

    pictures = list(ProductImage.objects.select_related("product").order_by("product__sku"))
    assert [p.product.sku for p in pictures] == [f"DEMO-{i:06d}" for i in range(16)]
    first = pictures[0]
    with first.image.open() as handle:
        image = Image.open(handle)
        assert image.format == "JPEG" and image.size == (first.width, first.height)
    assert first.alt.startswith(first.product.name)
    # Every file differs: no two products share a picture.
    digests = set()
    for picture in pictures:
        with picture.image.open() as handle:
            digests.add(hashlib.sha1(handle.read()).hexdigest())
    assert len(digests) == 16


def test_demo_pictures_and_family_pictures_come_with_their_renditions(
    django_capture_on_commit_callbacks,
):
    """They are stored with bulk_create, which imagekit never hears of: the command itself
    queues their renditions (made here, where Celery is eager)."""
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "load_demo", products=3, pictures=3, families=1, no_progress=True, stdout=StringIO()
        )

    pictures = list(ProductImage.objects.all())
    assert len(pictures) > 3  # the demo products' and the family's
    missing = [
        (picture.pk, name)
        for picture in pictures
        for name in rendition_names()
        if not default_storage.exists(getattr(picture, name).name)
    ]
    assert missing == []


def test_products_past_the_picture_limit_keep_the_placeholder():
    call_command(
        "load_demo", products=5, pictures=2, families=0, no_progress=True, stdout=StringIO()
    )

    assert ProductImage.objects.count() == 2
    assert Product.objects.filter(images__isnull=True).count() == 3


def test_a_picture_shows_the_products_colour():
    spec = demo_data.product_spec(0)  # a phone
    red = demo_images.draw_product(name=spec["name"], brand="B", category="phones", colour="red")
    blue = demo_images.draw_product(name=spec["name"], brand="B", category="phones", colour="blue")

    assert red.getpixel((224, 200)) == demo_images.COLOURS["red"]
    assert blue.getpixel((224, 200)) == demo_images.COLOURS["blue"]


def test_every_demo_kind_has_a_drawing_of_its_own():
    kinds = {
        kind
        for leaf, (_, kinds, _, _) in demo_data.TEMPLATES.items()
        if leaf not in demo_images.BOOK_CATEGORIES
        for kind in kinds
    }
    generic = [
        kind for kind in kinds if not any(key in kind.lower() for key, _ in demo_images.SHAPES)
    ]
    assert generic == []


def test_families_get_a_picture_per_parent_and_variant_in_its_colour():
    call_command("load_demo", products=0, families=1, no_progress=True, stdout=StringIO())
    call_command("load_demo", products=0, families=1, no_progress=True, stdout=StringIO())

    parent = Product.objects.get(sku="DEMO-FAM-01")
    variants = list(parent.variants.all())
    assert ProductImage.objects.filter(product=parent).count() == 1
    assert ProductImage.objects.filter(product__parent=parent).count() == len(variants) > 0
    assert ProductImage.objects.get(product=parent).alt == f"{parent.name}, White"

    def digest(product):
        with product.images.get().image.open() as handle:
            return hashlib.sha1(handle.read()).hexdigest()

    by_options = {(v.options["size"], v.options["colour"]): v for v in variants}
    # Colours differ, and so do sizes (the size is in the corner).
    assert digest(by_options[("S", "White")]) != digest(by_options[("S", "Black")])
    assert digest(by_options[("S", "White")]) != digest(by_options[("M", "White")])
