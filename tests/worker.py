"""A real Celery worker in a child process, against the test database and Redis."""

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from celery.app.routes import Router
from django.conf import settings
from django.db import connection

from shop.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent


def _database_url() -> str:
    db = connection.settings_dict
    user = db["USER"] or "postgres"
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


class Worker:
    """Start, kill and restart one worker that consumes a queue private to this test.

    ``env`` adds to (or overrides) the environment the worker's settings are read from, e.g.
    another PAYMENT_GATEWAY or shorter retry backoffs."""

    def __init__(self, queue: str, concurrency: int = 2, env: dict[str, str] | None = None):
        self.queue = queue
        self.concurrency = concurrency
        self.env = dict(env or {})
        self.process: subprocess.Popen | None = None
        self.log = ROOT / "artifacts" / f"worker-{queue}.log"
        self.log.parent.mkdir(exist_ok=True)

    def start(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "shop.settings_test",
            "DATABASE_URL": _database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "CELERY_TASK_ROUTED": "0",
            **self.env,
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "shop",
                    "worker",
                    "-Q",
                    self.queue,
                    "--concurrency",
                    str(self.concurrency),
                    "--loglevel",
                    "INFO",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL the worker and its pool: nothing gets to clean up."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def running_worker(concurrency: int = 2, *, start: bool = True, env: dict[str, str] | None = None):
    """Tasks sent inside the block go to Redis and a real worker runs them (``start=False``:
    the test starts it, so that tasks can queue up first; ``env``: see Worker)."""
    queue = f"test-{uuid.uuid4().hex[:10]}"
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.task_default_queue)
    conf.task_always_eager, conf.task_default_queue = False, queue
    # Every task to this test's queue, whatever its route in production (CELERY_TASK_ROUTES).
    amqp = celery_app.amqp
    saved_router = amqp.__dict__.get("router")
    amqp.__dict__["router"] = Router([], amqp.queues, True, app=celery_app)
    worker = Worker(queue, concurrency, env)
    if start:
        worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        conf.task_always_eager, conf.task_default_queue = saved
        if saved_router is None:
            amqp.__dict__.pop("router", None)
        else:
            amqp.__dict__["router"] = saved_router
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)


def wait_until(predicate, *, timeout: float = 90, interval: float = 0.2, what: str = ""):
    """Poll the database until ``predicate()`` is true; fail with a clear message if not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
