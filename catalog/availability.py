"""Whether a product is in stock, laid over cached product lists instead of dropping them.

A list page of the API shows each product's ``in_stock``, and that is the only thing on it
that stock changes (a product selling out, or coming back). During a sale that sells a product
out with every order, dropping each page that shows it meant rebuilding pages over and over
(the SQL and the serialisation of 24 products each time). Instead, a list page is cached with
*marks*: where in its bytes each product's ``in_stock`` is written, and what it said when the
page was built. When a product crosses zero, the inventory (on commit) has
``listing_availability_publish`` read what lists now show for it and append a note
(``b"12=0;"``: product 12, not in stock) to every cached list page recorded under the
product's listing tag (``shop.cache.annotate_tagged``). A reader gets the page and its notes
in the same round trip (``shop.cache.lookup(notes=True)``) and, when a note says otherwise
than a mark, writes the new word in place: the bytes are then exactly those a build would give
now, and so is their ETag.

What is not overlaid is still dropped: a product's page (its ``available_quantity``, its
variants and related products) and the storefront's pages are tagged ``product:<id>``, and
whatever is filtered by availability ``in-stock-filter`` (inventory.services).
"""

import secrets
from array import array
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings

from catalog import selectors
from shop.cache import annotate_tagged

WORDS = {True: b"true", False: b"false"}


def product_listing_tag(product_id: int) -> str:
    """The tag of the cached list pages that show a product (and carry marks for it)."""
    return f"listed:{product_id}"


def render_marked(data: Mapping[str, Any], render: Callable[[Any], bytes]) -> tuple[bytes, bytes]:
    """A list answer's bytes (``render(data)``) and the marks of its results' ``in_stock``:
    for each, the product's id, the offset of the word in the bytes and what it says, packed in
    12 bytes (``marks_unpacked``). Packed, they cost a warm read nothing to unpickle (one bytes
    object, 288 bytes for a page of 24); they are unpacked only when the page has notes.

    Rendered once with a placeholder string in place of each ``in_stock`` (a random one per
    build, so no product text can be taken for it), then each placeholder replaced by the word
    the renderer would have written: the result is byte for byte ``render(data)``.
    """
    nonce = secrets.token_hex(8)
    results, wanted = [], []
    for n, item in enumerate(data.get("results") or []):
        if isinstance(item, Mapping) and isinstance(item.get("in_stock"), bool) and "id" in item:
            placeholder = f"in-stock-{nonce}-{n}"
            wanted.append((int(item["id"]), item["in_stock"], f'"{placeholder}"'.encode()))
            item = {**item, "in_stock": placeholder}
        results.append(item)
    if not wanted:
        return render(data), b""
    rendered = render({**data, "results": results})
    parts, ids, words, at, length = [], array("q"), array("I"), 0, 0
    for product_id, shown, placeholder in wanted:
        found = rendered.find(placeholder, at)
        if found < 0:  # the renderer wrote the string some other way: no marks, no overlay
            return render(data), b""
        parts.append(rendered[at:found])
        length += found - at
        ids.append(product_id)
        words.append(length << 1 | shown)
        parts.append(WORDS[shown])
        length += len(WORDS[shown])
        at = found + len(placeholder)
    parts.append(rendered[at:])
    return b"".join(parts), ids.tobytes() + words.tobytes()


def marks_unpacked(marks: bytes) -> list[tuple[int, int, bool]]:
    """(product id, offset, shown) of each mark packed by ``render_marked``: the ids as 64-bit
    integers, then each word's offset and what it says as ``offset << 1 | shown`` in 32 bits."""
    ids, words = array("q"), array("I")
    split = len(marks) // (ids.itemsize + words.itemsize) * ids.itemsize
    ids.frombytes(marks[:split])
    words.frombytes(marks[split:])
    return [(pk, word >> 1, bool(word & 1)) for pk, word in zip(ids, words, strict=True)]


def parse_notes(notes: bytes) -> dict[int, bool]:
    """What the notes of a page say, the last note on a product winning."""
    facts = {}
    for note in notes.split(b";"):
        product_id, _, shown = note.partition(b"=")
        if product_id.isdigit() and shown in (b"0", b"1"):
            facts[int(product_id)] = shown == b"1"
    return facts


def overlay(body: bytes, marks: bytes, notes: bytes) -> bytes | None:
    """``body`` with each marked ``in_stock`` as the notes say; None when nothing differs."""
    facts = parse_notes(notes)
    parts, at = [], 0
    for product_id, offset, shown in marks_unpacked(marks):
        now = facts.get(product_id, shown)
        if now is shown:
            continue
        parts.append(body[at:offset])
        parts.append(WORDS[now])
        at = offset + len(WORDS[shown])
    if not parts:
        return None
    parts.append(body[at:])
    return b"".join(parts)


def listing_availability(product_ids: Iterable[int]) -> dict[int, bool]:
    """Whether lists show each of these products in stock (products lists never show, such
    as variants and inactive products, are left out): one query."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    products = selectors.product_listable_queryset().prefetch_related(None).filter(pk__in=ids)
    return {p.pk: selectors.product_available_quantity(p) > 0 for p in products}


def listing_availability_publish(*, product_ids: Iterable[int]) -> dict[int, bool]:
    """Note on every cached list page that shows these products whether they are in stock now.

    Read from the database when called, so call it after the change committed (the inventory
    does, on commit): a note then never states a change that rolled back, and states what the
    database says, not what one transaction thought it did. Returns what was noted."""
    shown = listing_availability(product_ids)
    annotate_tagged(
        selectors.CATALOG_CACHE_AREA,
        {product_listing_tag(pk): f"{pk}={int(now)};".encode() for pk, now in shown.items()},
        settings.CATALOG_CACHE_SECONDS,
    )
    return shown
