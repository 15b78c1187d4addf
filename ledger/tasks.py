from celery import shared_task
from django.conf import settings

from ledger.services import log_seal

_appended_since_request = 0


@shared_task(name="ledger.seal", acks_late=True, ignore_result=True)
def log_seal_task() -> dict:
    report = log_seal(batch_size=settings.LEDGER_SEAL_BATCH)
    return {"sealed": report.sealed, "size": report.size, "busy": report.busy}


def request_seal_after(appended: int) -> None:
    """Ask for a seal once this process has appended LEDGER_SEAL_BACKLOG entries.

    Beat seals every LEDGER_SEAL_INTERVAL_S anyway; this keeps a burst from
    waiting for the next tick. Counting per process avoids a query per batch.
    """
    global _appended_since_request
    _appended_since_request += appended
    if _appended_since_request >= settings.LEDGER_SEAL_BACKLOG:
        _appended_since_request = 0
        log_seal_task.apply_async()
