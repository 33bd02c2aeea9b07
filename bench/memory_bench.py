"""Memory of gunicorn workers under 10,000 mixed requests, sampled every 1,000.

Part of ``make bench`` (bench/run_all.py); needs the database prepared by it.
"""

import http.client
import threading

from bench import harness as h

TOTAL = 10_000
EVERY = 1_000
THREADS = 8


def _paths(token: str) -> list[tuple[str, dict]]:
    from catalog.models import Product

    ids = list(
        Product.objects.filter(is_active=True).order_by("id").values_list("id", flat=True)[:300]
    )
    auth = {"Authorization": f"Token {token}"}
    mix = []
    for n in range(EVERY):
        kind = n % 6
        if kind == 0:
            mix.append((f"/api/products/?page_size=24&page={n % 40 + 1}", {}))
        elif kind == 1:
            mix.append((f"/api/products/{ids[n % len(ids)]}/", {}))
        elif kind == 2:
            term = ["headphones", "coffee", "lamp", "novel", "jacket"][n % 5]
            mix.append((f"/api/products/?page_size=24&search={term}", {}))
        elif kind == 3:
            mix.append(("/api/cart/", auth))
        elif kind == 4:
            mix.append(("/", {}))
        else:
            mix.append((f"/api/products/?page_size=24&ordering=price&page={n % 20 + 1}", {}))
    return mix


def run(ports: list[int], server: h.Process, token: str) -> dict:
    """RSS of each worker after every 1,000 requests; the growth from the second sample on."""
    mix = _paths(token)
    errors = [0]
    lock = threading.Lock()

    def block(offset: int) -> None:
        conn = http.client.HTTPConnection(h.HOST, ports[0], timeout=30)
        for n in range(offset, EVERY, THREADS):
            path, headers = mix[n]
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    with lock:
                        errors[0] += 1
                conn.close()  # sync workers close after each answer anyway
                conn = http.client.HTTPConnection(h.HOST, ports[0], timeout=30)
            except (OSError, http.client.HTTPException):
                with lock:
                    errors[0] += 1
                conn = http.client.HTTPConnection(h.HOST, ports[0], timeout=30)
        conn.close()

    samples: list[dict] = []
    for done in range(EVERY, TOTAL + 1, EVERY):
        threads = [threading.Thread(target=block, args=(i,)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        workers = server.children()
        rss = [h.rss_kib(pid) for pid in workers]
        samples.append(
            {
                "requests": done,
                "rss_mib": [round(r / 1024, 1) for r, _ in rss],
                "max_rss_mib": round(max(r for r, _ in rss) / 1024, 1),
                "peak_mib": round(max(p for _, p in rss) / 1024, 1),
            }
        )
        h.say(f"  after {done:6d} requests: worker RSS MiB {samples[-1]['rss_mib']}")
    first, last = samples[1]["max_rss_mib"], samples[-1]["max_rss_mib"]
    return {
        "samples": samples,
        "errors": errors[0],
        "peak_mib": max(s["peak_mib"] for s in samples),
        "growth_mib": round(last - first, 1),
        "growth_ratio": last / first if first else float("nan"),
    }
