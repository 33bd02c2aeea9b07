from django.core.management.base import BaseCommand, CommandError

from shop.encryption import rotate_keys


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field of every model under the newest key of "
        "FIELD_ENCRYPTION_KEYS, in batches, while the shop keeps running. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count what would be re-encrypted, change nothing.",
        )

    def handle(self, *args, batch_size: int, dry_run: bool, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        reports = rotate_keys(batch_size=batch_size, dry_run=dry_run)
        if not reports:
            self.stdout.write("No encrypted fields in the installed models.")
        for report in reports:
            self.stdout.write(str(report))
        rotated = sum(r.rotated for r in reports)
        skipped = sum(r.skipped for r in reports)
        unreadable = sum(r.unreadable for r in reports)
        verb = "would be re-encrypted" if dry_run else "re-encrypted"
        self.stdout.write(
            self.style.SUCCESS(f"{rotated} values {verb}; {skipped} busy; {unreadable} unreadable.")
        )
        if unreadable:
            raise CommandError(
                "Some values cannot be decrypted with the configured keys: put back the old key."
            )
        if skipped and not dry_run:
            self.stdout.write(self.style.WARNING("Run rotate_keys again to finish the busy rows."))
