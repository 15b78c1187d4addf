"""Celery tasks of the devices app: thin wrappers around devices.inbox."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from devices.inbox import inbox_batch_ingest, inbox_batches_requeue
from ledger.tasks import request_seal_after


@shared_task(
    name="devices.ingest_batch",
    acks_late=True,
    reject_on_worker_lost=True,
    # A database outage must not lose the batch: retry until it is back.
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=None,
)
def ingest_batch_task(batch_id: int) -> dict:
    report = inbox_batch_ingest(batch_id=batch_id)
    if report is None:
        return {"batch": batch_id, "already_ingested": True}
    request_seal_after(report.accepted)
    return {
        "batch": batch_id,
        "accepted": report.accepted,
        "not_stored": dict(report.rejected_by_reason),
    }


def enqueue_ingest(batch_id: int) -> None:
    # No publish retries: the batch is already kept, the requeue sweep queues
    # it if this fails, and kombu's retries would hold up the bridge's MQTT
    # loop for every batch while the broker is down.
    ingest_batch_task.apply_async(args=[batch_id], retry=False)


@shared_task(name="devices.requeue_stalled_batches", ignore_result=True)
def requeue_stalled_batches_task() -> int:
    return inbox_batches_requeue(enqueue=enqueue_ingest)
