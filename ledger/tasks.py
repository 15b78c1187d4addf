from celery import shared_task
from django.conf import settings

from ledger.services import log_seal


@shared_task(name="ledger.seal", acks_late=True, ignore_result=True)
def log_seal_task() -> dict:
    report = log_seal(batch_size=settings.LEDGER_SEAL_BATCH)
    return {"sealed": report.sealed, "size": report.size, "busy": report.busy}
