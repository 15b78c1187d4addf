import time

from django.core.management.base import BaseCommand, CommandError

from ledger.verification import LedgerVerifier


class Command(BaseCommand):
    help = (
        "Check the whole log: entry leaf hashes, stored subtree hashes, checkpoint roots and "
        "signatures, consistency between checkpoints, every signature, and that what the "
        "apps store equals what the log holds. Exits 1 naming the first bad entry."
    )

    def handle(self, *args, **options) -> None:
        verifier = LedgerVerifier()
        started = time.monotonic()
        for problem in verifier.run():
            raise CommandError(f"ledger verification failed at {problem}")
        elapsed = time.monotonic() - started
        rate = verifier.entries_checked / elapsed if elapsed else 0.0
        self.stdout.write(
            f"ledger verified: {verifier.entries_checked} entries and "
            f"{verifier.checkpoints_checked} checkpoints in {elapsed:.2f} s ({rate:,.0f} entries/s)"
        )
