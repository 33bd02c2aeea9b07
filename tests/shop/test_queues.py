"""Celery queues: orders and payments, e-mail and training each have their own queue, so a
training run never delays an order (CELERY_TASK_ROUTES in shop/settings.py)."""

import pytest
from django.conf import settings

from shop.celery import app as celery_app
from tests.utils import WITH_WORKER

EXPECTED = {
    "orders.tasks.order_process_task": "orders",
    "orders.tasks.orders_resume_stuck_task": "orders",
    "payments.tasks.payment_give_back_task": "orders",
    "payments.tasks.payments_settle_stuck_task": "orders",
    "inventory.tasks.reservations_expire_task": "orders",
    "orders.tasks.returns_settle_pending_task": "orders",
    "payments.tasks.stripe_event_process_task": "orders",
    "orders.tasks.order_email_send_task": "email",
    "orders.tasks.order_emails_send_due_task": "email",
    "inventory.tasks.reorder_notify_task": "email",
    "customers.tasks.email_verification_send_task": "email",
    "customers.tasks.stock_alerts_send_task": "email",
    "recommendations.tasks.training_run_task": "training",
    "recommendations.tasks.popularity_refresh_task": "training",
    "recommendations.tasks.interactions_record_order_task": "celery",
    "orders.tasks.idempotency_records_purge_task": "celery",
    "orders.tasks.payments_reconcile_task": "celery",
    "shop.tasks.heartbeat": "celery",
    "catalog.tasks.product_image_renditions_make_task": "celery",
    # django-imagekit registers a task for its Celery cache-file backend; the shop's own task
    # makes the renditions (catalog.renditions.MadeWhenSaved), so nothing sends it.
    "imagekit.cachefiles.backends._generate_file": "celery",
}


@pytest.fixture(autouse=True)
def _tasks_registered():
    celery_app.loader.import_default_modules()  # what a worker does at start


def queue_of(name: str) -> str:
    return celery_app.amqp.router.route({}, name)["queue"].name


@pytest.mark.parametrize(("task", "queue"), sorted(EXPECTED.items()))
def test_each_task_is_routed_to_its_queue(task, queue):
    assert queue_of(task) == queue


def test_every_shop_task_has_a_declared_queue():
    declared = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    shop_tasks = [name for name in celery_app.tasks if not name.startswith(("celery.", "tests."))]
    unplanned = set(shop_tasks) - set(EXPECTED)
    assert not unplanned, f"new tasks: give them a queue here and in settings: {unplanned}"
    assert {queue_of(name) for name in shop_tasks} <= declared


def test_every_periodic_task_lands_on_a_declared_queue():
    declared = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert queue_of(entry["task"]) in declared


@pytest.mark.skipif(not WITH_WORKER, reason="needs Redis as the broker (REDIS_URL), as in CI")
def test_a_sent_task_waits_in_its_queue_on_the_broker():
    """What a worker started with ``-Q training`` would receive, and nothing else does."""
    from recommendations.tasks import training_run_task

    conf = celery_app.conf
    saved = conf.task_always_eager
    conf.task_always_eager = False
    try:
        with celery_app.connection_for_write() as conn:
            channel = conn.default_channel
            for queue in ("training", "orders", "email"):
                channel.queue_declare(queue=queue)
                channel.queue_purge(queue)
            training_run_task.delay()
            sizes = {q: channel._size(q) for q in ("training", "orders", "email")}
            for queue in ("training", "orders", "email"):
                channel.queue_purge(queue)
    finally:
        conf.task_always_eager = saved
    assert sizes == {"training": 1, "orders": 0, "email": 0}
