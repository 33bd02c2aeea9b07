"""Product pictures: the upload (API and admin), renditions, what the API and pages show."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage, storages
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog import services
from catalog.models import ProductImage
from catalog.renditions import rendition_names
from tests.factories import (
    CategoryFactory,
    ProductFactory,
    ProductImageFactory,
    ProductRelationFactory,
    StockItemFactory,
    picture_file,
)

pytestmark = pytest.mark.django_db


def upload_url(product) -> str:
    return f"/api/products/{product.pk}/images/"


def made_renditions(picture) -> list[str]:
    """The renditions of ``picture`` found in the media storage."""
    return [
        name for name in rendition_names() if default_storage.exists(getattr(picture, name).name)
    ]


def open_url(client, url):
    """The bytes behind a media URL, served as `make run` serves them (DEBUG) or from disk."""
    from django.conf import settings
    from django.core.files.storage import default_storage

    assert url.startswith(settings.MEDIA_URL)
    with default_storage.open(url[len(settings.MEDIA_URL) :]) as handle:
        return Image.open(io.BytesIO(handle.read()))


# --- the service ----------------------------------------------------------------------------
def test_pictures_are_added_after_the_others_and_read_in_order():
    product = ProductFactory()
    first = services.product_image_add(product=product, image=picture_file(), alt="Front")
    second = services.product_image_add(product=product, image=picture_file(), alt="Back")
    services.product_image_update(picture=second, position=0)
    services.product_image_update(picture=first, position=1)

    assert list(product.images.values_list("alt", flat=True)) == ["Back", "Front"]
    assert (first.width, first.height) == (120, 90)


@pytest.mark.parametrize(
    "upload",
    [
        SimpleUploadedFile("notes.png", b"not a picture at all", content_type="image/png"),
        SimpleUploadedFile("empty.jpg", b"", content_type="image/jpeg"),
    ],
)
def test_a_file_that_is_not_a_picture_is_refused_and_nothing_is_stored(upload, settings):
    product = ProductFactory()

    with pytest.raises(ValidationError) as error:
        services.product_image_add(product=product, image=upload)

    assert "image" in error.value.message_dict
    assert not ProductImage.objects.exists()
    assert not any(p.is_file() for p in settings.MEDIA_ROOT.rglob("*"))


def test_a_picture_with_too_many_pixels_is_refused(settings):
    settings.PRODUCT_IMAGE_MAX_PIXELS = 100 * 100

    with pytest.raises(ValidationError, match="too many pixels"):
        services.product_image_add(product=ProductFactory(), image=picture_file(size=(101, 100)))


def test_renditions_are_webp_and_jpeg_squares_of_their_size(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        picture = services.product_image_add(
            product=ProductFactory(), image=picture_file(size=(1200, 600))
        )

    made = {
        name: Image.open(getattr(picture, name).file)
        for name in ("thumbnail_webp", "card_jpeg", "detail_webp", "detail_jpeg")
    }

    assert {name: (img.format, img.size) for name, img in made.items()} == {
        "thumbnail_webp": ("WEBP", (160, 160)),
        "card_jpeg": ("JPEG", (400, 400)),
        "detail_webp": ("WEBP", (800, 800)),
        "detail_jpeg": ("JPEG", (800, 800)),
    }
    # Fitted, not cropped: the red original fills the middle band, white pads above and below.
    detail = made["detail_jpeg"].convert("RGB")
    assert detail.getpixel((400, 400))[0] > 150 and detail.getpixel((400, 400))[1] < 90
    assert min(detail.getpixel((400, 10))) > 240


def test_rendition_names_are_the_ones_imagekit_gives_and_differ_per_original():
    """The spec hash kept per (spec, original) names each rendition as imagekit's own spec of
    the same processors, format and options does: files made before stay found."""
    from imagekit.specs import create_spec_class

    from catalog.renditions import _spec_hash

    pictures = [ProductImageFactory(renditions=False) for _ in range(2)]
    _spec_hash.cache_clear()
    for picture in pictures:
        for name in rendition_names():
            spec = getattr(picture, name).generator
            plain = create_spec_class(
                {"processors": spec.processors, "format": spec.format, "options": spec.options}
            )(source=picture.image)
            assert getattr(picture, name).name == plain.cachefile_name
            assert spec.get_hash() == plain.get_hash()  # and again, from the kept value
    names = [getattr(p, n).name for p in pictures for n in rendition_names()]
    assert len(set(names)) == 2 * len(rendition_names())
    assert _spec_hash.cache_info().hits > 0


def test_saving_a_picture_makes_its_six_renditions_once_the_transaction_commits(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks:
        picture = services.product_image_add(product=ProductFactory(), image=picture_file())
        assert made_renditions(picture) == []  # nothing while the row is not committed

    # One task for the picture, not one per rendition.
    sent = [c.task.name for c in callbacks if hasattr(c, "task")]
    assert sent == ["catalog.tasks.product_image_renditions_make_task"]
    for callback in callbacks:
        callback()

    assert made_renditions(picture) == rendition_names()
    assert len(rendition_names()) == 6


def test_pictures_stored_in_bulk_are_queued_a_batch_per_task(django_capture_on_commit_callbacks):
    from catalog.renditions import BATCH, renditions_queue

    ids = [7, 3, *range(100, 100 + 2 * BATCH), 3]

    with django_capture_on_commit_callbacks() as callbacks:
        renditions_queue(iter(ids))

    batches = [c.kwargs["picture_ids"] for c in callbacks]
    assert [len(b) for b in batches] == [BATCH, BATCH, 2]  # 3 and 7, each once
    assert sorted(i for b in batches for i in b) == sorted(set(ids))


def test_making_renditions_twice_makes_each_file_once(monkeypatch):
    picture = ProductImageFactory(renditions=False)
    assert services.product_image_renditions_make(picture_ids=[picture.pk]) == 1
    saved = []
    monkeypatch.setattr(
        type(storages["default"]), "save", lambda self, name, *a, **k: saved.append(name)
    )

    assert services.product_image_renditions_make(picture_ids=[picture.pk]) == 1

    assert saved == []


def test_a_picture_whose_original_is_lost_is_skipped_and_the_others_are_made(caplog):
    lost = ProductImageFactory(renditions=False)
    lost.image.storage.delete(lost.image.name)
    kept = ProductImageFactory(renditions=False)
    gone = ProductImageFactory(renditions=False)
    gone_id = gone.pk
    gone.delete()

    made = services.product_image_renditions_make(picture_ids=[lost.pk, kept.pk, gone_id])

    assert made == 1
    assert made_renditions(kept) == rendition_names() and made_renditions(lost) == []
    assert f"renditions of picture {lost.pk} cannot be made" in caplog.text


def test_the_task_makes_the_renditions_of_the_pictures_it_names():
    from catalog.tasks import product_image_renditions_make_task

    pictures = ProductImageFactory.create_batch(2, renditions=False)

    product_image_renditions_make_task.delay(picture_ids=[p.pk for p in pictures])

    assert [made_renditions(p) for p in pictures] == [rendition_names()] * 2


def test_generateimages_makes_the_renditions_a_picture_misses():
    """What a shop upgrading its media runs (docs/operations.md, "Product pictures")."""
    from django.core.management import call_command

    picture = ProductImageFactory(renditions=False)

    call_command("generateimages", "catalog:productimage", stdout=io.StringIO())

    assert made_renditions(picture) == rendition_names()


def test_deleting_a_picture_removes_its_file_and_renditions(
    settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        picture = services.product_image_add(product=ProductFactory(), image=picture_file())
    assert sum(p.is_file() for p in settings.MEDIA_ROOT.rglob("*")) == 7

    with django_capture_on_commit_callbacks(execute=True):
        services.product_image_delete(picture=picture)

    assert not ProductImage.objects.exists()
    assert not any(p.is_file() for p in settings.MEDIA_ROOT.rglob("*"))


# --- the staff API --------------------------------------------------------------------------
def test_staff_upload_a_picture_as_multipart_form_data(
    staff_client, django_capture_on_commit_callbacks
):
    product = ProductFactory()

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            upload_url(product),
            {"image": picture_file("front.jpg", image_format="JPEG"), "alt": "The front"},
            format="multipart",
        )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["alt"] == "The front" and body["position"] == 0 and body["product"] == product.pk
    assert (body["width"], body["height"]) == (800, 800)
    served = open_url(staff_client, body["url"])
    assert served.format == "JPEG" and served.size == (800, 800)
    assert made_renditions(ProductImage.objects.get()) == rendition_names()


def test_an_upload_that_is_not_a_picture_is_a_validation_error(staff_client):
    product = ProductFactory()
    fake = SimpleUploadedFile("x.png", b"<svg/>", content_type="image/png")

    response = staff_client.post(upload_url(product), {"image": fake}, format="multipart")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and "image" in error["details"]
    assert not ProductImage.objects.exists()


def test_a_json_upload_is_refused_as_the_wrong_media_type(staff_client):
    response = staff_client.post(upload_url(ProductFactory()), {"alt": "x"}, format="json")

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_customers_cannot_upload_pictures(user_client):
    response = user_client.post(
        upload_url(ProductFactory()), {"image": picture_file()}, format="multipart"
    )

    assert response.status_code == 403
    assert not ProductImage.objects.exists()


def test_uploading_to_an_unknown_product_is_not_found(staff_client):
    response = staff_client.post(
        "/api/products/999999/images/", {"image": picture_file()}, format="multipart"
    )
    assert response.status_code == 404


def test_staff_reorder_relabel_and_delete_pictures(staff_client, api_client):
    product = ProductFactory()
    first = ProductImageFactory(product=product, position=0, alt="a")
    second = ProductImageFactory(product=product, position=1, alt="b")
    assert [i["alt"] for i in api_client.get(f"/api/products/{product.pk}/").json()["images"]] == [
        "a",
        "b",
    ]  # cached now

    response = staff_client.patch(
        f"{upload_url(product)}{second.pk}/", {"position": 0, "alt": "Back"}, format="json"
    )
    assert response.status_code == 200, response.content
    staff_client.patch(f"{upload_url(product)}{first.pk}/", {"position": 1}, format="json")
    images = api_client.get(f"/api/products/{product.pk}/").json()["images"]
    assert [i["alt"] for i in images] == ["Back", "a"]

    assert staff_client.delete(f"{upload_url(product)}{second.pk}/").status_code == 204
    images = api_client.get(f"/api/products/{product.pk}/").json()["images"]
    assert [i["id"] for i in images] == [first.pk]


def test_a_picture_of_another_product_is_not_found_under_this_one(staff_client):
    picture = ProductImageFactory()

    response = staff_client.delete(f"{upload_url(ProductFactory())}{picture.pk}/")

    assert response.status_code == 404
    assert ProductImage.objects.filter(pk=picture.pk).exists()


# --- what the public API shows --------------------------------------------------------------
def test_list_and_detail_show_images_and_a_thumbnail(api_client):
    product = ProductFactory()
    ProductImageFactory(product=product, position=1, alt="Side")
    ProductImageFactory(product=product, position=0, alt="Front")

    row = api_client.get("/api/products/").json()["results"][0]
    detail = api_client.get(f"/api/products/{product.pk}/").json()

    assert [i["alt"] for i in row["images"]] == ["Front", "Side"]
    assert row["images"] == detail["images"]
    assert {tuple(sorted(i)) for i in row["images"]} == {("alt", "height", "id", "url", "width")}
    thumbnail = open_url(api_client, row["thumbnail"])
    assert thumbnail.size == (160, 160) and thumbnail.format == "JPEG"
    assert detail["thumbnail"] == row["thumbnail"]


def test_list_with_pictures_costs_a_fixed_number_of_queries(
    api_client, django_assert_max_num_queries
):
    category = CategoryFactory()
    for product in ProductFactory.create_batch(30, category=category):
        StockItemFactory(product=product)
        ProductImageFactory.create_batch(2, product=product)

    with django_assert_max_num_queries(3):
        body = api_client.get("/api/products/", {"page_size": 30}).json()

    assert all(len(row["images"]) == 2 and row["thumbnail"] for row in body["results"])


def test_detail_with_pictures_costs_a_fixed_number_of_queries(
    api_client, django_assert_max_num_queries
):
    product = ProductFactory()
    ProductImageFactory.create_batch(3, product=product)
    for _ in range(10):
        other = ProductFactory()
        ProductImageFactory(product=other)
        ProductRelationFactory(from_product=product, to_product=other)

    with django_assert_max_num_queries(5):
        body = api_client.get(f"/api/products/{product.pk}/").json()

    assert len(body["images"]) == 3
    assert all(r["product"]["thumbnail"] for r in body["related"])


# --- the storefront -------------------------------------------------------------------------
def _card_pictures(html: str) -> list[str]:
    pictures, start = [], 0
    while (start := html.find('<picture class="picture picture-card">', start)) >= 0:
        end = html.index("</picture>", start)
        pictures.append(html[start:end])
        start = end
    return pictures


def test_cards_show_a_responsive_lazy_picture_with_webp_first(client):
    for name in ("A Kettle", "Blue Kettle"):
        product = ProductFactory(name=name)
        ProductImageFactory(product=product, alt=f"The {name.lower()}")

    html = client.get("/products/?ordering=name").content.decode()

    first, picture = _card_pictures(html)
    assert '<source type="image/webp" srcset="' in picture
    assert " 160w, " in picture and " 400w" in picture and " 800w" not in picture
    assert 'sizes="(max-width: 760px) 50vw, 300px"' in picture
    assert 'loading="lazy"' in picture and 'width="400" height="400"' in picture
    assert "fetchpriority" not in picture
    assert 'alt="The blue kettle"' in picture
    assert picture.index("image/webp") < picture.index("<img")


def test_the_list_loads_only_its_first_card_picture_at_once(client):
    """The first card's picture is the list's largest paint on a phone: it does not wait for
    the layout that lazy loading needs, and it is fetched first; the others stay lazy."""
    for index in range(3):
        ProductImageFactory(product=ProductFactory(name=f"Kettle {index}"))

    pictures = _card_pictures(client.get("/products/").content.decode())

    assert len(pictures) == 3
    assert 'loading="eager" fetchpriority="high"' in pictures[0]
    assert all('loading="lazy"' in p and "fetchpriority" not in p for p in pictures[1:])


def test_the_product_page_loads_its_main_picture_at_once_and_lists_the_others(client):
    product = ProductFactory(name="Blue Kettle")
    ProductImageFactory(product=product, position=0, alt="")
    ProductImageFactory(product=product, position=1, alt="The lid")

    html = client.get(product.get_absolute_url()).content.decode()

    main = html[html.index('<picture class="picture picture-detail">') :]
    main = main[: main.index("</picture>")]
    assert 'loading="eager" fetchpriority="high"' in main
    assert 'alt="Blue Kettle"' in main  # no alt text given: the product's name
    assert 'class="gallery"' in html and 'alt="The lid"' in html


def test_a_product_without_pictures_keeps_its_placeholder(client):
    product = ProductFactory(name="Plain")

    html = client.get(product.get_absolute_url()).content.decode()

    assert "<picture" not in html and 'class="placeholder' in html


def test_list_page_with_pictures_costs_a_fixed_number_of_queries(
    client, django_assert_max_num_queries
):
    category = CategoryFactory(slug="kettles")
    for _ in range(30):
        product = ProductFactory(category=category)
        StockItemFactory(product=product)
        ProductImageFactory(product=product)
    client.get("/products/")  # warm the category tree cache

    # The list with its pictures (6) and its facets, not cached yet for this filter
    # (categories, price range, attributes): the same for 30 products as for 3.
    with django_assert_max_num_queries(9):
        response = client.get("/products/", {"category": "kettles"})

    assert response.content.decode().count('<picture class="picture picture-card">') == 24


# --- the admin ------------------------------------------------------------------------------
def test_staff_upload_pictures_in_the_products_admin_page(
    admin_client, api_client, django_capture_on_commit_callbacks
):
    from tests.catalog.test_admin import PRODUCTS, product_form

    product = ProductFactory()
    api_client.get(f"/api/products/{product.pk}/")  # cached without pictures

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"{PRODUCTS}{product.pk}/change/",
            product_form(
                product,
                **{
                    "images-TOTAL_FORMS": "1",
                    "images-0-image": picture_file("front.png"),
                    "images-0-alt": "The front",
                    "images-0-position": "0",
                },
            ),
        )

    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(product.images.values_list("alt", flat=True)) == ["The front"]
    images = api_client.get(f"/api/products/{product.pk}/").json()["images"]
    assert [i["alt"] for i in images] == ["The front"]
    page = admin_client.get(f"{PRODUCTS}{product.pk}/change/").content.decode()
    assert 'width="80" height="80"' in page  # the preview
    assert made_renditions(product.images.get()) == rendition_names()


def test_the_admin_refuses_a_file_that_is_not_a_picture(admin_client):
    from tests.catalog.test_admin import PRODUCTS, product_form

    product = ProductFactory()
    fake = SimpleUploadedFile("x.png", b"nope", content_type="image/png")

    response = admin_client.post(
        f"{PRODUCTS}{product.pk}/change/",
        product_form(product, **{"images-TOTAL_FORMS": "1", "images-0-image": fake}),
    )

    assert response.status_code == 200  # the form again, with the error
    assert "Upload a valid image" in response.content.decode()
    assert not ProductImage.objects.exists()


@pytest.fixture
def storage_and_imagekit_watched(monkeypatch):
    """Every storage access, rendition made and imagekit cache read from here on, recorded."""
    from django.core.cache import caches
    from imagekit.cachefiles import ImageCacheFile

    seen = []
    storage = type(storages["default"])
    for method in ("exists", "save", "open", "size"):
        real = getattr(storage, method)

        def watched(self, name, *args, _method=method, _real=real, **kwargs):
            seen.append((_method, name))
            return _real(self, name, *args, **kwargs)

        monkeypatch.setattr(storage, method, watched)
    real_generate = ImageCacheFile.generate

    def generate(self, *args, **kwargs):
        seen.append(("generate", self.name))
        return real_generate(self, *args, **kwargs)

    monkeypatch.setattr(ImageCacheFile, "generate", generate)
    backend = type(caches["default"])
    for method in ("get", "get_many"):
        real = getattr(backend, method)

        def read(self, key, *args, _method=method, _real=real, **kwargs):
            if "imagekit" in str(key):
                seen.append((_method, key))
            return _real(self, key, *args, **kwargs)

        monkeypatch.setattr(backend, method, read)
    return seen


def test_serving_pages_neither_makes_nor_looks_for_renditions(client, storage_and_imagekit_watched):
    """Renditions are made when a picture is saved: a cold page (nothing cached) names them
    without asking the storage, nor imagekit's cache, whether they exist."""
    from django.core.cache import cache

    category = CategoryFactory(slug="kettles")
    product = ProductFactory(category=category, name="Blue Kettle")
    StockItemFactory(product=product, quantity=5)
    ProductImageFactory.create_batch(3, product=product)
    for _ in range(5):
        other = ProductFactory(category=category)
        ProductImageFactory(product=other)
        ProductRelationFactory(from_product=product, to_product=other)
    cache.clear()
    storage_and_imagekit_watched.clear()

    pages = [
        client.get("/api/products/"),
        client.get(f"/api/products/{product.pk}/"),
        client.get("/"),
        client.get("/products/", {"category": "kettles"}),
        client.get(product.get_absolute_url()),
    ]

    assert [page.status_code for page in pages] == [200] * 5
    assert pages[0].json()["results"][0]["thumbnail"]
    assert pages[3].content.decode().count('<picture class="picture picture-card">') == 6
    assert storage_and_imagekit_watched == []


def test_a_picture_whose_renditions_are_not_made_yet_is_named_not_made_by_the_page(
    client, storage_and_imagekit_watched
):
    product = ProductFactory(name="New Kettle")
    picture = ProductImageFactory(product=product, renditions=False)  # its task has not run
    storage_and_imagekit_watched.clear()

    html = client.get(product.get_absolute_url()).content.decode()

    assert picture.detail_jpeg.url in html
    assert storage_and_imagekit_watched == []
    assert made_renditions(picture) == []


def test_a_picture_whose_original_is_lost_still_shows_its_renditions(client):
    product = ProductFactory(name="Lost Kettle")
    picture = ProductImageFactory(product=product)
    picture.image.storage.delete(picture.image.name)

    response = client.get(product.get_absolute_url())

    assert response.status_code == 200
    html = response.content.decode()
    assert picture.detail_jpeg.url in html and 'class="placeholder' not in html
