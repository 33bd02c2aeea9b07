"""CPU time of one order request, in-process: POST /api/orders/ through the whole middleware
stack (token, fresh Idempotency-Key, one line), as the checkout bench sends it, without the
HTTP server and with the tasks the request queues recorded instead of published.

The checkout bench's figure (orders per second on two cores) is bound by the web workers'
CPU; this script isolates that CPU per request, which stays meaningful on a busy machine,
where throughput does not (the least of a few rounds is the figure: other processes only ever
add to it). It prints the mean CPU milliseconds per request and, with
``--profile``, the heaviest functions by own and by cumulative time.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/shop_dev \\
        python -m bench.checkout_cpu [--orders 300] [--rounds 3] [--profile]

Uses the production settings of the bench (bench/harness.py) against the database named by
BENCH_DATABASE_URL, which it migrates first. Not part of ``make bench``.
"""

import argparse
import cProfile
import io
import json
import pstats
import time
import uuid
from contextlib import ExitStack
from unittest import mock

from bench import harness as h

STOCK = 10_000_000


def prepare() -> tuple[str, int]:
    """A customer with an API token and a product with stock enough for any run."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from bench.checkout_bench import _products

    user, _ = get_user_model().objects.get_or_create(
        username="cpu-buyer", defaults={"email": "cpu-buyer@example.com"}
    )
    token = Token.objects.get_or_create(user=user)[0].key
    [product_id] = _products("cpu-hot", 1, STOCK, ledger=True)
    return token, product_id


def placer(token: str, product_id: int):
    """A function that places one order as the bench's clients do and checks the answer."""
    from django.test import Client

    client = Client(HTTP_HOST=h.HOST)
    body = json.loads(json.dumps(h.ORDER_BODY))
    body["items"][0]["product"] = product_id
    payload = json.dumps(body)

    def place() -> None:
        response = client.post(
            "/api/orders/",
            payload,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {token}",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )
        if response.status_code != 201:
            raise RuntimeError(f"POST /api/orders/ answered {response.status_code}")

    return place


def queued_tasks_recorded() -> ExitStack:
    """The request's task messages are not published (no worker drains them here)."""
    from orders.tasks import order_email_send_task, order_process_task

    stack = ExitStack()
    for task in (order_process_task, order_email_send_task):
        stack.enter_context(mock.patch.object(task, "delay"))
    return stack


def measure(place, count: int) -> float:
    """Mean process CPU seconds of ``count`` requests."""
    started = time.process_time()
    for _ in range(count):
        place()
    return (time.process_time() - started) / count


def top(profile: cProfile.Profile, key: str, limit: int) -> str:
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats(key).print_stats(limit)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds; the least counts")
    parser.add_argument("--profile", action="store_true", help="also profile a second run")
    parser.add_argument("--limit", type=int, default=30, help="profile rows per listing")
    parser.add_argument("--dump", help="also write the profile to this file (pstats)")
    args = parser.parse_args()

    h.ensure_database()
    h.manage("migrate", "--noinput")
    h.setup_django()
    token, product_id = prepare()
    place = placer(token, product_id)
    with queued_tasks_recorded():
        measure(place, args.warmup)  # first use of every path: caches, imports
        rounds = [measure(place, args.orders) * 1000 for _ in range(args.rounds)]
        print(
            f"{args.orders} orders x {args.rounds} rounds: {min(rounds):.2f} ms CPU per order "
            f"request (least; rounds {', '.join(f'{ms:.2f}' for ms in rounds)})"
        )
        if args.profile:
            # CPU time, not wall time: waiting on PostgreSQL is not the web worker's cost.
            profile = cProfile.Profile(time.process_time)
            profile.enable()
            measure(place, args.orders)
            profile.disable()
            if args.dump:
                profile.dump_stats(args.dump)
            print(top(profile, "tottime", args.limit))
            print(top(profile, "cumulative", args.limit))


if __name__ == "__main__":
    main()
