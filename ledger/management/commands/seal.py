from django.conf import settings
from django.core.management.base import BaseCommand

from ledger.services import log_seal


class Command(BaseCommand):
    help = "Sequence every pending ledger entry into the tree and sign a checkpoint, once."

    def handle(self, *args, **options) -> None:
        report = log_seal(batch_size=settings.LEDGER_SEAL_BATCH)
        if report.busy:
            self.stdout.write("another sequencer holds the log; nothing done")
            return
        self.stdout.write(f"sealed {report.sealed} entries; the log has {report.size}")
