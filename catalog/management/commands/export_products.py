"""Export the catalog to a CSV file in the format import_products reads."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog import selectors


class Command(BaseCommand):
    help = (
        "Write every product (active or not) to a CSV catalog file, in the format "
        "import_products reads, sorted by SKU. Use - to write to standard output."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file to write, or - for standard output.")

    def handle(self, *args, file: str, **options):
        dataset = selectors.products_export()
        text = dataset.export("csv")
        if file == "-":
            self.stdout.write(text, ending="")
            return
        try:
            Path(file).write_text(text, encoding="utf-8")
        except OSError as error:
            raise CommandError(f"Cannot write {file}: {error.strerror or error}.") from None
        self.stdout.write(self.style.SUCCESS(f"Exported {len(dataset)} products to {file}."))
