"""Small database helpers shared by the services."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection, transaction


@contextmanager
def atomic_bounded(milliseconds: int | None = None) -> Iterator[None]:
    """``transaction.atomic()`` whose row-lock waits give up after a bound (PostgreSQL).

    A row held by a stuck transaction then fails this one with an OperationalError (which the
    tasks retry) instead of piling every worker up behind it. SQLite takes one writer at a time
    and has no such setting."""
    wait = settings.DB_LOCK_TIMEOUT_MS if milliseconds is None else milliseconds
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(wait)}ms"])
        yield
