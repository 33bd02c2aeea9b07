"""A shop that can sell on its first day: VAT rates of the countries it ships to and two
shipping methods (pricing/defaults.py; staff change them in the admin)."""

from django.db import migrations


def create(apps, schema_editor):
    from pricing import defaults

    defaults.install(apps)


class Migration(migrations.Migration):
    dependencies = [("pricing", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
