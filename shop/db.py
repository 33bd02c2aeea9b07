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


def bulk_insert(*, model, objs: list, fields: list[str], new_ids: bool = False) -> None:
    """Insert many new rows of ``model`` at once, with the values of ``fields``.

    On PostgreSQL the rows go through COPY (psycopg's ``cursor.copy``), which costs a
    fraction of the INSERT statements ``bulk_create`` builds for the same rows, and still
    fires the table's row triggers and checks every constraint. With ``new_ids`` each object
    first gets its primary key from the table's own sequence (taken at once, so concurrent
    inserts never collide) and keeps it, as ``bulk_create`` would give it back. Fields that
    fill themselves on a new row (``auto_now``, ``auto_now_add``) do so here too. Elsewhere
    (SQLite) this is ``bulk_create``."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=1000)
        return
    meta = model._meta
    quote = connection.ops.quote_name
    concrete = [meta.get_field(name) for name in fields]
    if new_ids:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(objs)],
            )
            for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
                obj.pk = pk
        concrete.insert(0, meta.pk)
    columns = ", ".join(quote(field.column) for field in concrete)
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row(
                    [
                        field.get_db_prep_save(field.pre_save(obj, True), connection)
                        for field in concrete
                    ]
                )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
