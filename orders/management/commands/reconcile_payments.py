"""Compare the shop's payments, refunds and orders with the gateway's records."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from orders.models import ReconciliationIssue
from orders.services import payments_reconcile


class Command(BaseCommand):
    help = (
        "Compare every payment, refund and order with the gateway's own records. Without "
        "--fix it only reports; with --fix it repairs what is certain (settles a payment to "
        "what the gateway says, refunds a capture on a cancelled order, sends pending refunds "
        "again, voids a hold on a failed payment) and leaves the rest open for staff "
        "(admin: Reconciliation issues). Exits 1 when differences remain open."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="Repair what is certain.")
        parser.add_argument(
            "--payment", type=int, action="append", dest="payment_ids", help="Only this payment."
        )
        parser.add_argument(
            "--days",
            type=int,
            help="Only payments changed in the last DAYS days, and those with open issues "
            "(the nightly run uses RECONCILIATION_DAYS); all payments without it.",
        )

    def handle(self, *args, fix: bool, payment_ids, days, **options):
        if days is not None and days < 1:
            raise CommandError("--days takes a whole number of days, 1 or more.")
        window = timedelta(days=days) if days is not None else None
        report = payments_reconcile(fix=fix, payment_ids=payment_ids, changed_within=window)
        counts = report.counts()
        self.stdout.write(
            "checked {checked} payments, {unreachable} unreachable; "
            "{found} differences, {fixed} repaired, {open} open".format(**counts)
        )
        for kind, n in sorted(report.found.items()):
            self.stdout.write(f"  {kind}: {n} found, {report.fixed[kind]} repaired")
        still_open = ReconciliationIssue.objects.filter(status=ReconciliationIssue.Status.OPEN)
        if counts["open"] or counts["unreachable"]:
            self.stderr.write(f"{still_open.count()} issue(s) open for staff.")
            raise SystemExit(1)
