"""Read-through caching by *area*, with O(1) invalidation of a whole area and hit/miss counts.

An area is a family of cached values that go stale together (``"catalog"``: product lists,
product details, the category tree). Every value of an area is stored with the area's version
number at the time it was built, and the current number is kept in the cache;
``invalidate(area)`` bumps that number, so every value stored under an older one is never served
again (it is rebuilt on the next read, or simply expires). A read fetches the version and the
value in one round trip (``get_many``).

    from shop.cache import cached, invalidate

    body = cached("catalog", ("detail", product_id), build_body, timeout=60)
    invalidate("catalog")  # after any change that makes catalog values wrong

Lookups and misses are counted per area in the cache itself (``INCR``; a hit is a lookup that
did not miss), so the totals add up across every web and worker process; ``stats()`` reads them
for the dashboard and ``/metrics``. On Redis a hit is one round trip: the version, the value
and the lookup count travel in one pipeline.

The cache is for reads that may be a little old. A write (checkout, payment, stock) always
reads the database (the primary: values are built from the replica only outside a transaction),
with one exception: the pricing configuration (``"pricing"``: VAT rates, shipping, promotions),
which staff change rarely and whose every save or delete bumps its area (pricing.receivers).
"""

import hashlib
import logging
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from functools import partial
from typing import Any, NamedTuple, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from shop import db_router

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The areas the shop caches, with what lives in each (shown on the dashboard and in /metrics
# even before their first use). An area not listed here still works.
AREAS: dict[str, str] = {
    "catalog": "product lists and details of the API, the category tree",
    "pricing": "VAT rates, shipping zones, methods and weight bands, promotions",
}
_seen_areas: set[str] = set()
_MISSING = object()


def _version_key(area: str) -> str:
    return f"cache-area:{area}:version"


def _stat_key(area: str, result: str) -> str:
    return f"cache-area:{area}:{result}"


def _digest(key: Hashable) -> str:
    return hashlib.sha256(repr(key).encode()).hexdigest()[:32]


def area_version(area: str) -> int:
    """The current version of an area, created on first use.

    A new version starts from the clock in nanoseconds, not from 1: if the version key is ever
    evicted, the new number is still larger than any used before, so old values stay unreachable.
    """
    key = _version_key(area)
    version = cache.get(key)
    if version is None:
        cache.add(key, time.time_ns(), timeout=None)
        version = cache.get(key)
    return int(version) if version is not None else time.time_ns()


def _count(area: str, result: str) -> None:
    key = _stat_key(area, result)
    try:
        cache.incr(key)
    except ValueError:  # first count of this area (or the cache was cleared)
        if not cache.add(key, 1, timeout=None):
            cache.incr(key)
    except Exception:  # counting must never break a page
        logger.warning("cache statistics unavailable for area %s", area, exc_info=True)


def _redis_client():
    """django-redis's client of the default cache, or None for another backend."""
    client = getattr(cache, "client", None)
    if all(hasattr(client, name) for name in ("get_client", "make_key", "decode")):
        return client
    return None


def on_redis() -> bool:
    """Whether the default cache is Redis (django-redis), where reads can be pipelined."""
    return _redis_client() is not None


def redis_pipeline():
    """A non-transactional pipeline on the cache's Redis, or None when the cache is not Redis.

    Commands queued on it take raw keys (``raw_key``): one ``execute()`` is one round trip."""
    client = _redis_client()
    return None if client is None else client.get_client(write=True).pipeline(transaction=False)


def raw_key(key: str) -> str:
    """``key`` as the cache stores it in Redis (with the cache's prefix and version)."""
    client = _redis_client()
    return str(client.make_key(key)) if client is not None else key


class Lookup(NamedTuple):
    """What one read of an area found: its version, the stored entry, the results of the
    commands that rode along in the same pipeline (``lookup(extra=...)``), and the value's
    notes (``lookup(notes=True)``: the bytes ``annotate_tagged`` appended, or None)."""

    version: Any
    stored: Any
    extra: list[Any]
    notes: bytes | None = None


def _full_key(area: str, key: Hashable) -> str:
    return f"cache-area:{area}:{_digest(key)}"


# The notes of a value live beside it, under its key (as stored) with this suffix.
_NOTES_SUFFIX = ":notes"


def _lookup(
    area: str,
    version_key: str,
    full_key: str,
    extra: Sequence[Callable[[Any], None]] = (),
    notes: bool = False,
) -> Lookup:
    """The area's version and the stored value (and its notes, if asked), counting the lookup.

    On Redis (django-redis) that is one round trip: a pipeline of one MGET and one INCR, plus
    whatever ``extra`` queues on it (each a function given the pipeline). Other caches get
    ``get_many`` and ``incr``, and cannot take ``extra``. Errors propagate (the caller serves
    uncached).
    """
    client = _redis_client()
    if client is not None:
        pipe = client.get_client(write=True).pipeline(transaction=False)
        raw = client.make_key(full_key)
        keys = [client.make_key(version_key), raw]
        if notes:  # raw bytes (APPENDed), not a pickled value: not decoded
            keys.append(f"{raw}{_NOTES_SUFFIX}")
        pipe.mget(keys)
        pipe.incr(client.make_key(_stat_key(area, "lookups")))
        for add in extra:
            add(pipe)
        (version, stored, *noted), _, *rest = pipe.execute()
        return Lookup(
            None if version is None else client.decode(version),
            None if stored is None else client.decode(stored),
            rest,
            noted[0] if noted else None,
        )
    if extra:
        raise ValueError("extra commands need the Redis cache")
    notes_key = f"{full_key}{_NOTES_SUFFIX}"
    found = cache.get_many([version_key, full_key, notes_key] if notes else [version_key, full_key])
    _count(area, "lookups")
    return Lookup(found.get(version_key), found.get(full_key), [], found.get(notes_key))


def lookup(
    area: str, key: Hashable, extra: Sequence[Callable[[Any], None]] = (), *, notes: bool = False
) -> Lookup:
    """Read ``key`` of ``area`` now, with ``extra`` commands in the same round trip (Redis
    only) and, with ``notes``, the value's notes (``annotate_tagged``); hand the result to
    ``cached(..., found=...)`` later. Errors propagate."""
    _seen_areas.add(area)
    return _lookup(area, _version_key(area), _full_key(area, key), extra, notes)


def cached(
    area: str,
    key: Hashable,
    builder: Callable[[], T],
    timeout: int | None = None,
    *,
    found: Lookup | None = None,
) -> T:
    """The value cached under ``key`` in ``area``, built (and stored) on a miss.

    ``key`` is any value with a stable ``repr`` (a string, a tuple of strings and numbers);
    ``timeout`` defaults to ``CACHE_DEFAULT_TIMEOUT``. ``None`` results are not cached.
    ``found`` is what ``lookup`` read for this key earlier in the request (nothing is read
    again).
    """
    _seen_areas.add(area)
    version_key = _version_key(area)
    full_key = None if found is not None else _full_key(area, key)
    try:
        # One round trip for a hit: the area's version and the value, stored as (version,
        # value), read together, and the lookup counted (hits are lookups less misses).
        if found is None:
            found = _lookup(area, version_key, full_key)
        version, stored = found.version, found.stored
        if version is None:
            version = area_version(area)
    except Exception:  # the cache is down: serve from the source, slower but correct
        logger.warning("cache unavailable; building %s values uncached", area, exc_info=True)
        with db_router.replica_reads():
            return builder()
    # A value built from the replica (marked by a third item) may lack what this client has
    # just written: a client pinned to the primary (read-your-writes) builds it again.
    fresh = isinstance(stored, tuple) and len(stored) in (2, 3) and stored[0] == int(version)
    if fresh and (len(stored) == 2 or not db_router.pinned_to_primary()):
        return stored[1]
    _count(area, "misses")
    # A cached value may be a little old anyway: it is built from the replica, if there is one
    # and this client has not just written (shop.db_router).
    with db_router.replica_reads():
        from_replica = db_router.read_alias() == db_router.REPLICA
        value = builder()
    if value is not None:
        if timeout is None:
            timeout = getattr(settings, "CACHE_DEFAULT_TIMEOUT", 300)
        entry = (int(version), value, "replica") if from_replica else (int(version), value)
        try:
            cache.set(full_key or _full_key(area, key), entry, timeout)
        except Exception:
            logger.warning("cache unavailable; %s value not stored", area, exc_info=True)
    return value


def _bump(area: str) -> None:
    key = _version_key(area)
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, time.time_ns(), timeout=None)
    except Exception:
        # A write must not fail because the cache is down; what was cached expires on its own.
        logger.error(
            "cache unavailable: could not invalidate area %s; its values may be stale until "
            "they expire",
            area,
            exc_info=True,
        )


def invalidate(area: str) -> None:
    """Make every value cached in ``area`` stale, now and again when the transaction commits.

    Bumping twice closes a race: a request that reads the database between the first bump and
    the commit still sees the old rows and may cache them under the new version; the bump on
    commit makes that value unreachable too.
    """
    _seen_areas.add(area)
    _bump(area)
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        transaction.on_commit(partial(_bump, area))


def known_areas() -> list[str]:
    return sorted(set(AREAS) | _seen_areas)


def stats(area: str) -> dict[str, Any]:
    """``{"hits", "misses", "hit_rate"}`` for an area, totalled over every process."""
    try:
        values = cache.get_many([_stat_key(area, "lookups"), _stat_key(area, "misses")])
    except Exception:
        logger.warning("cache statistics unavailable for area %s", area, exc_info=True)
        values = {}
    misses = int(values.get(_stat_key(area, "misses"), 0))
    hits = max(int(values.get(_stat_key(area, "lookups"), 0)) - misses, 0)
    total = hits + misses
    return {"hits": hits, "misses": misses, "hit_rate": hits / total if total else None}


def all_stats() -> dict[str, dict[str, Any]]:
    return {area: stats(area) for area in known_areas()}


# --- invalidation by tag --------------------------------------------------------------------
# Some changes make only a few values of an area wrong: a product selling out changes its own
# page and the list pages that show it, not the rest of the catalog. A value can be *tagged*
# when it is built (``tag``: "this list page shows products 3, 8 and 12"), and
# ``invalidate_tagged`` drops just the values recorded under the given tags, leaving the area's
# version (and so every other value) alone. A tag is a set in the cache of the keys of the values
# recorded under it, kept a little longer than those values live.


def _tag_key(area: str, tag_name: str) -> str:
    return f"cache-tag:{area}:{tag_name}"


def _redis(write: bool = True):
    """The raw Redis client behind django-redis, or None on another cache backend."""
    client = getattr(cache, "client", None)
    if all(hasattr(client, name) for name in ("get_client", "make_key")):
        return client, client.get_client(write=write)
    return None


def tag(area: str, key: Hashable, tags: Iterable[str], timeout: int | None = None) -> None:
    """Record the value cached (or about to be cached) under ``key`` in ``area`` under ``tags``.

    Call it from a builder of ``cached`` with the same area and key, before the value is stored:
    an ``invalidate_tagged`` between the two then still finds the value's key. ``timeout`` is
    the value's; a tag outlives it by a minute so that it never forgets a live value.
    """
    tags = sorted(set(tags))
    if not tags:
        return
    ttl = (getattr(settings, "CACHE_DEFAULT_TIMEOUT", 300) if timeout is None else timeout) + 60
    full_key = _full_key(area, key)
    try:
        redis = _redis()
        if redis is not None:
            client, raw = redis
            member = client.make_key(full_key)
            pipe = raw.pipeline(transaction=False)
            for name in tags:
                tag_key = client.make_key(_tag_key(area, name))
                pipe.sadd(tag_key, member)
                pipe.expire(tag_key, ttl)
            pipe.execute()
            return
        for name in tags:  # other caches (tests, local memory): one process, no race to lose
            tag_key = _tag_key(area, name)
            cache.set(tag_key, cache.get(tag_key, frozenset()) | {full_key}, ttl)
    except Exception:  # a lost tag only lets the value live until its timeout
        logger.warning("cache unavailable; %s value not tagged", area, exc_info=True)


def _drop_tagged(area: str, tags: list[str]) -> None:
    try:
        redis = _redis()
        if redis is not None:
            client, raw = redis
            tag_keys = [client.make_key(_tag_key(area, name)) for name in tags]
            pipe = raw.pipeline(transaction=True)
            for tag_key in tag_keys:
                pipe.smembers(tag_key)
            pipe.delete(*tag_keys)
            *members, _ = pipe.execute()
            keys = sorted(set().union(*members))
            if keys:
                raw.delete(*keys)
            return
        keys = set()
        for name in tags:
            keys |= cache.get(_tag_key(area, name), frozenset())
            cache.delete(_tag_key(area, name))
        cache.delete_many(sorted(keys))
    except Exception:
        logger.error(
            "cache unavailable: could not invalidate %s values tagged %s; they may be stale "
            "until they expire",
            area,
            tags,
            exc_info=True,
        )


def invalidate_tagged(area: str, tags: Iterable[str]) -> None:
    """Drop the values of ``area`` recorded under any of ``tags``, now and again on commit.

    As with ``invalidate``, the second drop removes a value that a request rebuilt from the
    rows as they were before the commit. A value whose builder read the database before the
    commit but stored it after the second drop stays until its timeout: that is the most a
    tagged value may lag.
    """
    _seen_areas.add(area)
    tags = sorted(set(tags))
    if not tags:
        return
    _drop_tagged(area, tags)
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        transaction.on_commit(partial(_drop_tagged, area, tags))


# --- notes on tagged values -----------------------------------------------------------------
# Some changes alter a small, known part of a value: a product selling out changes one word of
# each list page that shows it. Rather than drop those values (and rebuild them on the next
# read), ``annotate_tagged`` appends a note ("product 12: sold out") to each value recorded
# under a tag, in a small string kept beside the value; a reader asks for it with
# ``lookup(notes=True)``, in the same round trip as the value, and applies it to what it serves.
# Notes are appended in order (Redis APPEND), so a later note on the same thing wins, and a value
# rebuilt under the same key keeps them (each note states the latest fact, so applying it to a
# newer value changes nothing). They live as long as tags do; a value whose notes grow past
# NOTES_LIMIT bytes is dropped with them instead, and rebuilt on its next read.

NOTES_LIMIT = 4096


def annotate_tagged(area: str, notes: dict[str, bytes], timeout: int | None = None) -> None:
    """Append ``notes[tag]`` to the notes of every value of ``area`` recorded under ``tag``.

    At once: a caller inside a transaction calls it on commit, so that readers never see a
    note about rows that may yet roll back. ``timeout`` is the values' (as for ``tag``). A
    note lost to a cache outage leaves the value as it was built until its timeout.
    """
    _seen_areas.add(area)
    tags = sorted(notes)
    if not tags:
        return
    ttl = (getattr(settings, "CACHE_DEFAULT_TIMEOUT", 300) if timeout is None else timeout) + 60
    try:
        redis = _redis()
        if redis is not None:
            client, raw = redis
            pipe = raw.pipeline(transaction=False)
            for name in tags:
                pipe.smembers(client.make_key(_tag_key(area, name)))
            members_per_tag = pipe.execute()
            suffix = _NOTES_SUFFIX.encode()
            pipe = raw.pipeline(transaction=False)
            noted = []
            for name, members in zip(tags, members_per_tag, strict=True):
                for member in sorted(members):
                    member = member if isinstance(member, bytes) else str(member).encode()
                    pipe.append(member + suffix, notes[name])
                    pipe.expire(member + suffix, ttl)
                    noted.append(member)
            if not noted:
                return
            lengths = pipe.execute()[0::2]
            full = sorted({m for m, n in zip(noted, lengths, strict=True) if int(n) > NOTES_LIMIT})
            if full:
                raw.delete(*full, *(m + suffix for m in full))
            return
        for name in tags:  # other caches (tests, local memory): one process, no race to lose
            for full_key in sorted(cache.get(_tag_key(area, name), frozenset())):
                notes_key = f"{full_key}{_NOTES_SUFFIX}"
                value = (cache.get(notes_key) or b"") + notes[name]
                if len(value) > NOTES_LIMIT:
                    cache.delete_many([full_key, notes_key])
                else:
                    cache.set(notes_key, value, ttl)
    except Exception:
        logger.error(
            "cache unavailable: could not annotate %s values tagged %s; they may be stale "
            "until they expire",
            area,
            tags,
            exc_info=True,
        )
