import logging

from celery import shared_task
from django.conf import settings

from ledger.services import log_seal
from ledger.witnessing import witnesses_due, witnesses_push

logger = logging.getLogger(__name__)

_appended_since_request = 0


@shared_task(name="ledger.seal", acks_late=True, ignore_result=True)
def log_seal_task() -> dict:
    report = log_seal(batch_size=settings.LEDGER_SEAL_BATCH)
    if not report.busy:
        request_witness_push()
    return {"sealed": report.sealed, "size": report.size, "busy": report.busy}


def request_witness_push() -> bool:
    """Queue a push when a witness lacks a cosignature on the latest checkpoint
    (a new one, or an earlier push that failed and is due again).

    Its own task, so a slow witness never holds up sealing; and guarded, so
    a broken witness configuration or broker hiccup never fails the seal.
    """
    if not settings.LEDGER_WITNESSES:
        return False
    try:
        if witnesses_due():
            witness_push_task.apply_async()
            return True
    except Exception:
        logger.exception("ledger: could not queue the witness push; the next seal retries")
    return False


@shared_task(name="ledger.witness_push", acks_late=True, ignore_result=True)
def witness_push_task() -> list[dict]:
    """Push the latest checkpoint to the configured witnesses and keep their
    cosignatures (ledger.witnessing)."""
    return [
        {"witness": o.witness, "result": o.result, "size": o.size, "status": o.status}
        for o in witnesses_push()
    ]


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
