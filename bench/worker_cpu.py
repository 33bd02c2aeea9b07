"""CPU time and SQL statements of the worker's processing of one one-line order, in-process.

Places ``BENCH_ORDERS`` (200) one-line orders through the API (unmeasured), then runs
``order_process`` on each with the test gateway and measures this process's CPU time
(``time.process_time``) around it, and the statements it sends. The tasks processing queues
(the confirmation mail, the purchase for the recommendations) are recorded, not run: they are
the worker's next messages, not this one. CPU time, not wall time, so a busy machine changes
the figure little; PostgreSQL's own time is not in it.

    DATABASE_URL=postgres://... .venv/bin/python bench/worker_cpu.py

Uses the database of DATABASE_URL (migrated here) and adds a product, a customer and the
orders to it.
"""

import json
import os
import sys
import time
import uuid
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings_test")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench import harness as h  # noqa: E402

ORDERS = int(os.environ.get("BENCH_ORDERS", "200"))


def main() -> None:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from catalog.models import Category, Product
    from inventory.services import stock_add
    from orders.services import order_process
    from orders.tasks import order_email_send_task, order_process_task
    from recommendations.tasks import interactions_record_order_task

    call_command("migrate", verbosity=0)
    tag = uuid.uuid4().hex[:8]
    category, _ = Category.objects.get_or_create(slug="bench-cpu", defaults={"name": "Bench"})
    product = Product.objects.create(
        sku=f"cpu-{tag}", slug=f"cpu-{tag}", name="CPU bench item", price="9.99",
        category=category, attributes={},
    )  # fmt: skip
    stock_add(product_id=product.id, quantity=ORDERS * 2, reason="cpu bench")
    user = get_user_model().objects.create(username=f"cpu-{tag}", email=f"{tag}@example.com")
    token = Token.objects.create(user=user).key
    client = Client(HTTP_HOST="localhost")
    # The body the checkout bench posts (bench/harness.py), for this product.
    body = json.dumps({**h.ORDER_BODY, "items": [{"product": product.id, "quantity": 1}]})
    with (
        mock.patch.object(order_process_task, "delay"),
        mock.patch.object(order_email_send_task, "delay"),
        mock.patch.object(interactions_record_order_task, "delay"),
        # Placing is not measured: the API's per-minute order throttle would stop it.
        mock.patch("rest_framework.throttling.SimpleRateThrottle.allow_request", return_value=True),
    ):
        ids = []
        for _ in range(ORDERS + 2):
            response = client.post(
                "/api/orders/", body, content_type="application/json",
                HTTP_AUTHORIZATION=f"Token {token}", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
            )  # fmt: skip
            assert response.status_code == 201, response.content
            ids.append(response.json()["id"])
        order_process(order_id=ids.pop(0))  # first use of every path, unmeasured
        with CaptureQueriesContext(connection) as captured:
            order_process(order_id=ids[0])
        statements = [
            q["sql"]
            for q in captured.captured_queries
            if q["sql"] not in {"BEGIN", "COMMIT", "ROLLBACK"}
        ]
        cpu = 0.0
        wall = 0.0
        for order_id in ids[1:]:
            began_cpu, began = time.process_time(), time.perf_counter()
            order_process(order_id=order_id)
            cpu += time.process_time() - began_cpu
            wall += time.perf_counter() - began
    measured = len(ids) - 1
    print(f"orders processed: {measured}")
    print(f"SQL statements per order: {len(statements)}")
    print(f"worker CPU time per order: {cpu / measured * 1000:.2f} ms")
    print(f"worker wall time per order: {wall / measured * 1000:.2f} ms (machine shared)")


if __name__ == "__main__":
    main()
