"""Celery task metrics and log context, connected in ShopConfig.ready()."""

import time
from contextlib import suppress

from celery.signals import task_postrun, task_prerun

from shop import metrics
from shop.logging import bind, current_request_id, log_context

_running: dict[str, tuple[float, object]] = {}


@task_prerun.connect(dispatch_uid="shop-task-prerun")
def task_started(task_id=None, task=None, **kwargs):
    # In a worker, log records of the task carry its id as request_id, and its name. A task
    # run eagerly inside a request keeps the request's context.
    context = None
    if current_request_id() is None:
        context = log_context(request_id=task_id or "-")
        context.__enter__()
        bind(task=getattr(task, "name", "?"))
    _running[task_id] = (time.perf_counter(), context)


@task_postrun.connect(dispatch_uid="shop-task-postrun")
def task_finished(task_id=None, task=None, state=None, **kwargs):
    started, context = _running.pop(task_id, (None, None))
    name = getattr(task, "name", "?")
    metrics.celery_tasks.labels(name, state or "UNKNOWN").inc()
    if started is not None:
        metrics.celery_task_duration.labels(name).observe(time.perf_counter() - started)
    if context is not None:
        with suppress(ValueError):  # the variables were set in another context
            context.__exit__(None, None, None)
