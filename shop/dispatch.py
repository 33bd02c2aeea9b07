"""How every app hands work to Celery: enqueue after commit, and retry what is transient."""

from smtplib import SMTPException

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction

# A database that was unreachable for a moment, or a row lock that waited past lock_timeout.
DATABASE_TRANSIENT = (OperationalError, InterfaceError)
# A mail server that did not take the message (refused, timed out, unreachable).
MAIL_TRANSIENT = (SMTPException, ConnectionError, TimeoutError)


def retrying(*errors: type[BaseException]) -> dict:
    """Options of a task that retries ``errors`` (and a transient database) with exponential
    backoff and full jitter, ``TASK_MAX_RETRIES`` times. Such a task must be idempotent (every
    task here is) and is acknowledged only once it ran, so a killed worker's task runs again."""
    return {
        "autoretry_for": (*errors, *DATABASE_TRANSIENT),
        "retry_backoff": settings.TASK_RETRY_BACKOFF,
        "retry_backoff_max": settings.TASK_RETRY_BACKOFF_MAX,
        "retry_jitter": True,
        "max_retries": settings.TASK_MAX_RETRIES,
        "acks_late": True,
    }


class _Enqueue:
    """Sends one task; a named callable, so a failing robust on_commit hook can be logged."""

    def __init__(self, task, kwargs: dict):
        self.task, self.kwargs = task, kwargs
        self.__qualname__ = f"enqueue {task.name}"

    def __call__(self) -> None:
        self.task.delay(**self.kwargs)


def enqueue_on_commit(task, **kwargs) -> None:
    """Send ``task(**kwargs)`` once the current transaction commits (at once outside one).

    What the transaction wrote stays written whatever the broker does: an enqueue that fails is
    logged, and the sweepers (stuck orders, unsent mails, stuck payments) finish the work."""
    transaction.on_commit(_Enqueue(task, kwargs), robust=True)
