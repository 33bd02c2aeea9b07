"""Import products from a catalog file (CSV); all or nothing, bad rows reported by line."""

from pathlib import Path

import tablib
from django.core.management.base import BaseCommand, CommandError

from catalog import services

MAX_ERRORS_SHOWN = 200


def read_catalog_file(path: Path) -> tablib.Dataset:
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's CSV may start with a BOM
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error.strerror or error}.") from None
    except UnicodeDecodeError:
        raise CommandError(f"{path} is not UTF-8 text: save it as CSV in UTF-8.") from None
    if not text.strip():
        raise CommandError(f"{path} is empty.")
    try:
        return tablib.Dataset().load(text, format="csv")
    except Exception as error:  # tablib raises several kinds for a malformed file
        raise CommandError(f"{path} is not a readable CSV file: {error}.") from None


def error_lines(result) -> list[str]:
    """Every problem of an import, one line each, in file order."""
    lines = [
        f"file: {' '.join(getattr(e.error, 'messages', [str(e.error)]))}"
        for e in result.base_errors
    ]
    found = []
    for row in result.invalid_rows:
        for field, messages in row.error_dict.items():
            label = "" if field == "__all__" else f"{field}: "
            found.append((row.number, f"line {row.number}: {label}{' '.join(messages)}"))
    for row in result.error_rows:
        for error in row.errors:
            found.append((row.number, f"line {row.number}: {error.error}"))
    return lines + [text for _number, text in sorted(found, key=lambda item: item[0])]


class Command(BaseCommand):
    help = (
        "Import products from a CSV catalog file (columns: sku, name, category, price, "
        "currency, tax_class, description, attributes, stock, weight, is_active, parent_sku, "
        "options). A known SKU updates its product, a new one creates it; stock changes are "
        "written to the stock ledger. All or nothing: one bad row and nothing is changed; "
        "every bad row is listed with its line number. --dry-run checks the file and says "
        "what it would do."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The CSV file (UTF-8, a header line first).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check every row, change nothing."
        )

    def handle(self, *args, file: Path, dry_run: bool, **options):
        dataset = read_catalog_file(file)
        result = services.products_import(dataset=dataset, dry_run=dry_run, file_name=file.name)
        problems = error_lines(result)
        if problems:
            for line in problems[:MAX_ERRORS_SHOWN]:
                self.stderr.write(line)
            if len(problems) > MAX_ERRORS_SHOWN:
                self.stderr.write(f"... and {len(problems) - MAX_ERRORS_SHOWN} more.")
            raise CommandError(f"{file.name}: {len(problems)} problem(s); nothing was imported.")
        new, updated = result.totals["new"], result.totals["update"]
        if dry_run:
            self.stdout.write(
                f"{file.name} is valid: it would create {new} and update {updated} "
                "products (dry run: nothing was changed)."
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(f"Imported {file.name}: {new} created, {updated} updated.")
            )
