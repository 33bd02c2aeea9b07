"""The renditions of product pictures, made by django-imagekit from the uploaded original.

Each size exists in WebP (what browsers ask for first, in ``<picture>``) and JPEG (the fallback,
and what the API hands out). A picture is fitted into a square and padded with white, so every
rendition of a size has the same dimensions whatever the original's shape: the page reserves
exactly that box (no layout shift) and the API states width and height without opening a file.
"""

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import PIL.WebPImagePlugin  # noqa: F401  (registers .webp; see below)
from imagekit.cachefiles.state import prefetch_cachefile_states, use_cachefile_state_cache
from imagekit.models import ImageSpecField
from imagekit.processors import ResizeToFit

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
logger = logging.getLogger(__name__)


def rendition(size: str, fmt: str) -> ImageSpecField:
    """The spec field of one size in one format, for the model holding the original in
    ``image``."""
    edge, _ = SIZES[size]
    pil_format, options = FORMATS[fmt]
    if pil_format == "JPEG":
        options = {**options, "progressive": True}
    return ImageSpecField(
        source="image",
        processors=[ResizeToFit(edge, edge, upscale=True, mat_color=BACKGROUND)],
        format=pil_format,
        options=options,
    )


def rendition_names() -> list[str]:
    return [f"{size}_{fmt}" for size in SIZES for fmt in FORMATS]


@contextmanager
def rendition_states(pictures: Iterable) -> Iterator[None]:
    """While a page naming these pictures' renditions renders, know whether each exists from
    one cache read (``get_many``) instead of one read per rendition (96 on a list page)."""
    with use_cachefile_state_cache() as states:
        files = [getattr(picture, name) for picture in pictures for name in rendition_names()]
        prefetch_cachefile_states(files, state_cache=states)
        yield


def readable(pictures: Iterable) -> list:
    """The pictures whose renditions can be made: one whose original is missing from the
    storage is left out (and logged) rather than failing the page that shows it."""
    found = []
    for picture in pictures:
        try:
            picture.detail_jpeg.generate()  # made from the original on first use
        except OSError:
            logger.warning("picture %s cannot be read from the storage", picture.pk)
            continue
        found.append(picture)
    return found
