"""Full-text search on PostgreSQL: a trigger keeps Product.search_vector up to date (name
weighted A with the SKU, attribute values B, description C) and a GIN index serves queries.
Nothing to do on other databases, whose search falls back to substring matching."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION catalog_product_search_vector_update() RETURNS trigger AS $$
BEGIN
  NEW.search_vector :=
    setweight(to_tsvector('english', coalesce(NEW.name, '') || ' ' || coalesce(NEW.sku, '')), 'A') ||
    setweight(to_tsvector('english', coalesce(
      (SELECT string_agg(value, ' ') FROM jsonb_each_text(
         CASE WHEN jsonb_typeof(NEW.attributes) = 'object' THEN NEW.attributes ELSE '{}'::jsonb END
      )), '')), 'B') ||
    setweight(to_tsvector('english', coalesce(NEW.description, '')), 'C');
  RETURN NEW;
END
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS catalog_product_search_vector_trigger ON catalog_product;
CREATE TRIGGER catalog_product_search_vector_trigger
  BEFORE INSERT OR UPDATE OF name, sku, description, attributes, search_vector
  ON catalog_product FOR EACH ROW EXECUTE FUNCTION catalog_product_search_vector_update();

CREATE INDEX IF NOT EXISTS catalog_product_search_gin ON catalog_product USING gin (search_vector);
UPDATE catalog_product SET search_vector = NULL;
"""

BACKWARD = """
DROP INDEX IF EXISTS catalog_product_search_gin;
DROP TRIGGER IF EXISTS catalog_product_search_vector_trigger ON catalog_product;
DROP FUNCTION IF EXISTS catalog_product_search_vector_update();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
