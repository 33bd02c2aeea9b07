"""Small database helpers shared by the services."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.signals import connection_created
from django.db.models import DateTimeField, QuerySet
from django.db.models.sql import UpdateQuery


@contextmanager
def atomic_bounded(milliseconds: int | None = None) -> Iterator[None]:
    """``transaction.atomic()`` whose row-lock waits give up after a bound (PostgreSQL).

    A row held by a stuck transaction then fails this one with an OperationalError (which the
    tasks retry) instead of piling every worker up behind it. SQLite takes one writer at a time
    and has no such setting.

    A connection that was found bounded so when it opened (``lock_bound_at_connect``: the
    startup option ``shop/settings.py`` gives a direct connection) sends nothing more;
    otherwise (behind PgBouncer, or another bound) it is set for this transaction only, as
    ``SET LOCAL`` does: a session-wide SET would outlive the transaction on a pooled server
    connection and bound some other client's waits."""
    wait = int(settings.DB_LOCK_TIMEOUT_MS if milliseconds is None else milliseconds)
    with transaction.atomic():
        if (
            connection.vendor == "postgresql"
            and getattr(connection, "lock_timeout_at_connect", None) != wait
        ):
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{wait}ms"])
        yield


def lock_bound_at_connect(sender, connection, **kwargs) -> None:
    """Note the lock bound a new PostgreSQL connection asked for at startup, if the server has
    it (in milliseconds, as ``lock_timeout_at_connect``; None when it was not asked for or did
    not arrive).

    Asked, not assumed: a pooler in front drops the startup option (PgBouncer's
    ``ignore_startup_parameters``), and a bound taken for granted would then be none at all.
    One statement per new connection, against one per transaction."""
    connection.lock_timeout_at_connect = None
    if connection.vendor != "postgresql":
        return
    options = (connection.settings_dict.get("OPTIONS") or {}).get("options") or ""
    if "lock_timeout=" not in options:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT setting FROM pg_settings WHERE name = 'lock_timeout'")
        connection.lock_timeout_at_connect = int(cursor.fetchone()[0]) or None


connection_created.connect(lock_bound_at_connect, dispatch_uid="shop-lock-bound-at-connect")


def update_audited(rows: QuerySet, values: dict, audit: list) -> bool:
    """A conditional update and its audit rows, which are written only if it changed a row.

    ``rows``: the row(s) to change, filtered on the state they must still be in (the filter is
    the check, its row lock the serialisation); ``values``: what to set (auto_now fields are
    not filled, as with ``QuerySet.update``); ``audit``: new instances of one model, inserted
    when the update matched. True when it changed a row (and the audit rows have their ids);
    False when no row was in that state, and nothing was written.

    On PostgreSQL this is one statement: the update is a data-modifying ``WITH`` whose result
    gates the ``INSERT ... SELECT``. Elsewhere (SQLite) it is the update, then ``bulk_create``."""
    if not audit:
        raise ValueError("update_audited needs at least one audit row.")
    target = connections[rows.db]
    if target.vendor != "postgresql":
        if not rows.update(**values):
            return False
        type(audit[0]).objects.bulk_create(audit)
        return True
    query = rows.query.chain(UpdateQuery)
    query.add_update_values(values)
    update_sql, update_params = query.get_compiler(rows.db).as_sql()
    meta = audit[0]._meta
    quote = target.ops.quote_name
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    columns = ", ".join(quote(field.column) for field in fields)
    # Every value is cast to its column's type: VALUES would otherwise guess (a NULL is text).
    row_sql = "(" + ", ".join(f"CAST(%s AS {field.db_type(target)})" for field in fields) + ")"
    params = list(update_params)
    for obj in audit:
        params.extend(field.get_db_prep_save(field.pre_save(obj, True), target) for field in fields)
    sql = (
        f"WITH changed AS ({update_sql} RETURNING 1) "
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "
        f"SELECT * FROM (VALUES {', '.join([row_sql] * len(audit))}) AS audit "
        f"WHERE EXISTS (SELECT 1 FROM changed) RETURNING {quote(meta.pk.column)}"
    )
    with target.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    if not ids:
        return False
    for obj, pk in zip(audit, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = target.alias
    return True


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
    target = connections[DEFAULT_DB_ALIAS]  # the connection itself, not its proxy: many reads
    if target.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=1000)
        return
    meta = model._meta
    quote = target.ops.quote_name
    concrete = [meta.get_field(name) for name in fields]
    if new_ids:
        with target.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(objs)],
            )
            for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
                obj.pk = pk
        concrete.insert(0, meta.pk)
    columns = ", ".join(quote(field.column) for field in concrete)
    # Only the date fields fill themselves (auto_now, auto_now_add); the others are read as set.
    filled = [
        isinstance(field, DateTimeField) and (field.auto_now or field.auto_now_add)
        for field in concrete
    ]
    copy_sql = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"
    with target.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for obj in objs:
            copy.write_row(
                [
                    field.get_db_prep_save(
                        field.pre_save(obj, True) if fill else getattr(obj, field.attname),
                        target,
                    )
                    for field, fill in zip(concrete, filled, strict=True)
                ]
            )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = target.alias
