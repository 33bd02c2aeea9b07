"""Typo-tolerant search on PostgreSQL: the pg_trgm extension and a GIN trigram index on the
product name, which serves the fallback search (``name %> 'headphnes'``) when full-text search
finds nothing. Nothing to do on other databases (their fallback is done in Python)."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

FORWARD = (
    "CREATE INDEX IF NOT EXISTS catalog_product_name_trgm "
    "ON catalog_product USING gin (name gin_trgm_ops)"
)
BACKWARD = "DROP INDEX IF EXISTS catalog_product_name_trgm"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_product_tax_class_product_weight")]

    operations = [TrigramExtension(), migrations.RunPython(forward, backward)]
