"""Helpers shared by the tests."""

import os

import pytest

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))

requires_postgres = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="needs PostgreSQL (row locks and real concurrency): set DATABASE_URL, as CI does",
)

# A real Celery worker needs a broker (Redis) and a database other processes can see.
WITH_WORKER = ON_POSTGRES and bool(os.environ.get("REDIS_URL"))

requires_worker = pytest.mark.skipif(
    not WITH_WORKER,
    reason="needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL), as in CI",
)


def run_together(n: int, work, *, timeout: float = 120) -> list:
    """Run ``work(i)`` for i in range(n), each in its own thread, all released at one instant.

    Returns, in order of i, what each call returned or the exception it raised, so a test can
    inspect every outcome. Each thread closes its own database connection; a thread still running
    after ``timeout`` seconds fails the test (a deadlock must not pass as a slow run).
    """
    import threading

    from django.db import connection

    barrier = threading.Barrier(n)
    outcomes: list = [None] * n

    def run(i):
        try:
            barrier.wait(timeout=30)
            outcomes[i] = work(i)
        except Exception as exc:  # the outcome is what the test inspects
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return outcomes
