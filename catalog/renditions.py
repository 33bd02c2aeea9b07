"""The renditions of product pictures, made by django-imagekit from the uploaded original.

Each size exists in WebP (what browsers ask for first, in ``<picture>``) and JPEG (the fallback,
and what the API hands out). A picture is fitted into a square and padded with white, so every
rendition of a size has the same dimensions whatever the original's shape: the page reserves
exactly that box (no layout shift) and the API states width and height without opening a file.

They are made when a picture is saved, never while a page is served (``MadeWhenSaved``, the
cache-file strategy in settings): a page builds each rendition's URL from its name alone, with
no storage access and no cache read.
"""

from collections.abc import Iterable
from functools import lru_cache

import PIL.WebPImagePlugin  # noqa: F401  (registers .webp; see below)
from imagekit import hashers
from imagekit.models import ImageSpecField
from imagekit.processors import ResizeToFit
from imagekit.specs import ImageSpec

from shop.dispatch import enqueue_on_commit

# A rendition's file name takes its extension from the format (pilkit.utils.format_to_extension).
# Pillow registers JPEG and PNG with its first plugins; a format it does not know yet makes
# pilkit load every Pillow plugin (Image.init(): some 50 modules, about 2 MiB in each web
# worker, on the first page naming a picture). Importing the WebP plugin registers .webp.

# name -> (edge in pixels, what it is for)
SIZES = {
    "thumbnail": (160, "the cart, small lists, the API's thumbnail"),
    "card": (400, "product cards in lists and on the home page"),
    "detail": (800, "the product page; the API's image URL"),
}
FORMATS = {"webp": ("WEBP", {"quality": 80, "method": 4}), "jpeg": ("JPEG", {"quality": 82})}
BACKGROUND = (255, 255, 255)
# Pictures whose renditions one task makes: six encodings each, about 0.15 s of CPU for a demo
# picture (600 px), so a batch ends well within CELERY_TASK_SOFT_TIME_LIMIT on a busy worker.
BATCH = 50


class Rendition(ImageSpec):
    """A rendition's spec, whose file name is worked out once per original and spec.

    imagekit names a rendition by a hash of the pickled original's name, processors, format and
    options (``ImageSpec.get_hash``), worked out again for every URL a page names: about
    0.2 ms each, most of a cold page's picture cost. The hash depends on nothing else, so it is
    kept per (spec, original's name) in the process; the names, and so the files, are the ones
    imagekit has always given."""

    def get_hash(self) -> str:
        return _spec_hash(type(self), self.source.name)


@lru_cache(maxsize=20_000)
def _spec_hash(spec: type[ImageSpec], source_name: str) -> str:
    return hashers.pickle(
        [source_name, spec.processors, spec.format, spec.options, spec.autoconvert]
    )


def rendition(size: str, fmt: str) -> ImageSpecField:
    """The spec field of one size in one format, for the model holding the original in
    ``image``."""
    edge, _ = SIZES[size]
    pil_format, options = FORMATS[fmt]
    if pil_format == "JPEG":
        options = {**options, "progressive": True}
    spec = type(
        f"Rendition_{size}_{fmt}",
        (Rendition,),
        {
            "processors": [ResizeToFit(edge, edge, upscale=True, mat_color=BACKGROUND)],
            "format": pil_format,
            "options": options,
        },
    )
    return ImageSpecField(source="image", spec=spec)


def rendition_names() -> list[str]:
    return [f"{size}_{fmt}" for size in SIZES for fmt in FORMATS]


class MadeWhenSaved:
    """django-imagekit's cache-file strategy for the shop (IMAGEKIT_DEFAULT_CACHEFILE_STRATEGY).

    Like imagekit's ``Optimistic``, a rendition is taken to exist whenever it is named, so
    building its URL touches neither the storage nor the cache; unlike it, the renditions are
    not encoded in the process that saved the picture (the staff member's request) but by a
    task, once the transaction that stored the row commits, so the worker finds the row.
    imagekit's own Celery backend does not fit: it pickles the file into the message (the shop's
    workers accept JSON only) and sends it at once, before the row is committed.

    imagekit calls ``on_source_saved`` once per rendition of the saved picture; one task makes
    them all."""

    def on_source_saved(self, file) -> None:
        source = file.generator.source
        picture = getattr(source, "instance", None)
        if picture is None or picture.pk is None:
            return
        queued = picture.__dict__.setdefault("_renditions_queued", set())
        if source.name in queued:
            return
        queued.add(source.name)
        renditions_queue([picture.pk])

    def should_verify_existence(self, file) -> bool:
        return False


def renditions_queue(picture_ids: Iterable[int]) -> None:
    """Have these pictures' missing renditions made once the current transaction commits:
    one task per ``BATCH`` pictures, run by a worker (in the calling process where Celery is
    eager, the embedded default). For pictures stored without ``save()`` (``bulk_create``)."""
    from catalog.tasks import product_image_renditions_make_task  # tasks import the models

    ids = sorted(set(picture_ids))
    for start in range(0, len(ids), BATCH):
        enqueue_on_commit(
            product_image_renditions_make_task, picture_ids=ids[start : start + BATCH]
        )
