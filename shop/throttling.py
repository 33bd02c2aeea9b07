"""Fixed-window API throttles: one counter per client and window, one round trip per request.

DRF's ``SimpleRateThrottle`` keeps each client's list of request times in the cache and reads
and writes it back on every request (two round trips, and a list as long as the rate). A fixed
window counts instead: the key names the client and the window (``<period>`` seconds long, the
window number is the clock divided by the period), every request ``INCR``s it and gives it an
expiry of one period, and a request is allowed while the count is within the rate. On Redis
that is one pipeline (``INCR`` and ``EXPIRE``); the catalog API sends the same two commands in
the pipeline that reads its cached answer (``shop.cache.lookup``), so a warm anonymous read
costs one round trip in all.

A fixed window lets a client send up to twice the rate across a window's end (the last second
of one window and the first of the next); the rates are limits against abuse, not quotas, and
that is the usual trade for counting in one command. A client over the rate is answered 429
``throttled`` with ``Retry-After`` (the seconds left in the window), as before. If the cache is
unreachable the throttle lets the request through (as every throttle of the shop does).
"""

import logging
import time
from typing import Any

from django.core.cache import cache
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

from shop import cache as shop_cache

logger = logging.getLogger(__name__)

# Commands (and so pipeline results) of one hit: INCR, EXPIRE.
HIT_COMMANDS = 2


class FixedWindowRateThrottle(SimpleRateThrottle):
    """``SimpleRateThrottle``'s rates and cache keys, counted in fixed windows."""

    def window_key(self, request, view) -> str | None:
        """The counter of this client's current window; None when the throttle does not apply."""
        if self.rate is None:
            return None
        key = self.get_cache_key(request, view)
        if key is None:
            return None
        self.now = self.timer()
        window = int(self.now // self.duration)
        return f"{key}:w{window}"

    def add_hit(self, pipe, key: str) -> None:
        """Queue the two commands of one hit on a Redis pipeline (see ``allowed``)."""
        raw = shop_cache.raw_key(key)
        pipe.incr(raw)
        pipe.expire(raw, self.duration + 1)

    def allowed(self, results: list[Any]) -> bool:
        """Whether the hit queued by ``add_hit`` is within the rate, from the pipeline's two
        results (the count after the ``INCR``, the ``EXPIRE``'s answer)."""
        return int(results[0]) <= self.num_requests

    def allow_request(self, request, view) -> bool:
        key = self.window_key(request, view)
        if key is None:
            return True
        try:
            pipe = shop_cache.redis_pipeline()
            if pipe is not None:
                self.add_hit(pipe, key)
                return self.allowed(pipe.execute())
            cache.add(key, 0, self.duration + 1)
            return int(cache.incr(key)) <= self.num_requests
        except Exception:  # the cache is down: let the request through
            logger.warning("throttle %s unavailable; request allowed", self.scope, exc_info=True)
            return True

    def wait(self) -> float:
        """Seconds until the current window ends (and the count starts again)."""
        now = getattr(self, "now", None) or self.timer()
        return max(self.duration - (now % self.duration), 1)

    def timer(self) -> float:
        return time.time()


class AnonFixedWindowThrottle(FixedWindowRateThrottle, AnonRateThrottle):
    """The ``anon`` rate (``THROTTLE_ANON_RATE``) per client address, for anonymous requests."""

    scope = "anon"
