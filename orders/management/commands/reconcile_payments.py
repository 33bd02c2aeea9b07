"""Compare the shop's payments, refunds and orders with the gateway's records."""

from django.core.management.base import BaseCommand

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

    def handle(self, *args, fix: bool, payment_ids, **options):
        report = payments_reconcile(fix=fix, payment_ids=payment_ids)
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
