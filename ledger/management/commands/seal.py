from django.conf import settings
from django.core.management.base import BaseCommand

from ledger.witnessing import log_seal_and_push


class Command(BaseCommand):
    help = (
        "Sequence every pending ledger entry into the tree and sign a checkpoint, once; "
        "then push the latest checkpoint to the configured witnesses (LEDGER_WITNESSES)."
    )

    def handle(self, *args, **options) -> None:
        report, outcomes = log_seal_and_push(batch_size=settings.LEDGER_SEAL_BATCH)
        if report.busy:
            self.stdout.write("another sequencer holds the log; nothing done")
            return
        self.stdout.write(f"sealed {report.sealed} entries; the log has {report.size}")
        for outcome in outcomes:
            detail = f" ({outcome.detail})" if outcome.detail else ""
            line = f"witness {outcome.witness}: {outcome.result} at size {outcome.size}{detail}"
            self.stdout.write(line if outcome.ok else self.style.WARNING(line))
