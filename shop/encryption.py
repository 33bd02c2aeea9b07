"""Re-encryption of every encrypted column under the newest key (``manage.py rotate_keys``).

Safe while the shop keeps serving: rows are handled in small batches, each in its own
transaction. On PostgreSQL a batch locks its rows with ``SELECT ... FOR UPDATE SKIP LOCKED``, so a
row an order or payment is changing right now is skipped (and reported) rather than waited on;
everywhere, each update is a compare-and-swap on the old ciphertext, so a value written by the
shop in the meantime (already under the newest key) is never overwritten. Running the rotation
again finishes what was skipped; it is idempotent.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.apps import apps
from django.db import connections, router, transaction

from shop import crypto
from shop.fields import EncryptedJSONField, EncryptedTextField

ENCRYPTED_FIELDS = (EncryptedTextField, EncryptedJSONField)


@dataclass
class RotationReport:
    field: str
    rotated: int = 0
    current: int = 0
    skipped: int = 0  # locked or changed meanwhile: run the rotation again
    unreadable: int = 0  # no configured key decrypts it: a key was removed too early

    def __str__(self) -> str:
        text = f"{self.field}: {self.rotated} re-encrypted, {self.current} already current"
        if self.skipped:
            text += f", {self.skipped} busy (run again to finish them)"
        if self.unreadable:
            text += f", {self.unreadable} UNREADABLE with the configured keys"
        return text


def encrypted_fields(models: Iterable | None = None) -> list:
    """Every encrypted model field of the given models (default: all installed models)."""
    found = []
    for model in models if models is not None else apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        found.extend(f for f in model._meta.concrete_fields if isinstance(f, ENCRYPTED_FIELDS))
    return found


def _label(field) -> str:
    return f"{field.model._meta.label}.{field.name}"


def rotate_field(field, *, batch_size: int = 500, dry_run: bool = False) -> RotationReport:
    """Re-encrypt one column under the newest key, batch by batch."""
    model = field.model
    alias = router.db_for_write(model)
    connection = connections[alias]
    qn = connection.ops.quote_name
    table, column, pk = qn(model._meta.db_table), qn(field.column), qn(model._meta.pk.column)
    lock = (
        " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    )
    report = RotationReport(_label(field))
    last = None
    while True:
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            after = f"WHERE {pk} > %s " if last is not None else ""
            cursor.execute(
                f"SELECT {pk} FROM {table} {after}ORDER BY {pk} LIMIT %s",
                [*([last] if last is not None else []), batch_size],
            )
            ids = [row[0] for row in cursor.fetchall()]
            if not ids:
                return report
            last = ids[-1]
            marks = ", ".join(["%s"] * len(ids))
            cursor.execute(
                f"SELECT {pk}, {column} FROM {table} WHERE {pk} IN ({marks}){lock}",
                ids,
            )
            rows = cursor.fetchall()
            report.skipped += len(ids) - len(rows)
            for row_id, token in rows:
                if token is None or token == "":
                    continue
                if crypto.is_current(token):
                    report.current += 1
                    continue
                try:
                    new_token = crypto.rotate(token)
                except crypto.InvalidToken:
                    report.unreadable += 1
                    continue
                if dry_run:
                    report.rotated += 1
                    continue
                cursor.execute(
                    f"UPDATE {table} SET {column} = %s WHERE {pk} = %s AND {column} = %s",
                    [new_token, row_id, token],
                )
                if cursor.rowcount == 1:
                    report.rotated += 1
                else:
                    report.skipped += 1


def rotate_keys(
    *, models: Iterable | None = None, batch_size: int = 500, dry_run: bool = False
) -> list[RotationReport]:
    """Re-encrypt every encrypted column of every model under the newest key."""
    return [
        rotate_field(field, batch_size=batch_size, dry_run=dry_run)
        for field in encrypted_fields(models)
    ]
