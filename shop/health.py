"""The checks behind ``/health/``: database, cache, broker and worker (see docs/operations.md).

Each check returns ``(ok, note)`` and is bounded in time: the checks run in parallel threads
under one deadline (``HEALTH_CHECK_TIMEOUT_SECONDS``), past which a check counts as failed; the
cache and broker clients also have their own socket timeouts. The database check uses the
thread's own connection, closed afterwards, so a hanging database never holds the request.
"""

import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "shop:worker-heartbeat"

Result = tuple[bool, str]


def check_database() -> Result:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return True, ""


def check_cache() -> Result:
    key = f"shop:health:{uuid.uuid4().hex}"
    value = uuid.uuid4().hex
    cache.set(key, value, 10)
    try:
        if cache.get(key) != value:
            return False, "the value read back differs from the value written"
    finally:
        cache.delete(key)
    return True, ""


def _eager() -> bool:
    return bool(settings.CELERY_TASK_ALWAYS_EAGER)


def check_broker() -> Result:
    if _eager():
        return True, "eager: tasks run in the calling process, there is no broker"
    from shop.celery import app

    timeout = settings.HEALTH_CHECK_TIMEOUT_SECONDS
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
    return True, ""


def record_heartbeat() -> float:
    now = time.time()
    cache.set(HEARTBEAT_KEY, now, timeout=settings.HEALTH_HEARTBEAT_MAX_AGE_SECONDS * 10)
    return now


def check_worker() -> Result:
    if _eager():
        return True, "eager"
    beat = cache.get(HEARTBEAT_KEY)
    if beat is None:
        return False, "no heartbeat from a worker yet"
    age = time.time() - float(beat)
    if age > settings.HEALTH_HEARTBEAT_MAX_AGE_SECONDS:
        return False, f"last heartbeat {int(age)} s ago"
    return True, f"last heartbeat {int(age)} s ago"


def _run(name: str, check) -> Result:
    try:
        return check()
    except Exception as exc:
        logger.warning("health: %s check failed: %s", name, exc, exc_info=True)
        return False, f"{type(exc).__name__}"


def _run_in_thread(name: str, check) -> Result:
    try:
        return _run(name, check)
    finally:
        connections.close_all()  # this thread's own connections, never the request's


def run_checks() -> dict:
    """``{"status", "checks", "notes"}``: the body of ``/health/``."""
    checks = {
        "database": check_database,
        "cache": check_cache,
        "broker": check_broker,
        "worker": check_worker,
    }
    results: dict[str, Result] = {}
    pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="health")
    try:
        futures = {name: pool.submit(_run_in_thread, name, check) for name, check in checks.items()}
        deadline = time.monotonic() + settings.HEALTH_CHECK_TIMEOUT_SECONDS
        for name, future in futures.items():
            try:
                results[name] = future.result(timeout=max(deadline - time.monotonic(), 0))
            except FutureTimeout:
                logger.warning("health: %s check timed out", name)
                results[name] = (False, "timed out")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)

    if not results["database"][0]:
        status = "down"
    elif all(ok for ok, _ in results.values()):
        status = "ok"
    else:
        status = "degraded"
    return {
        "status": status,
        "checks": {name: "ok" if ok else "down" for name, (ok, _) in results.items()},
        "notes": {name: note for name, (_, note) in results.items() if note},
    }
