"""Celery tasks of the devices app: thin wrappers around devices.ingest."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from celery import shared_task
from django.db import OperationalError

from devices.ingest import SOURCE_MQTT, IncomingMessage, readings_ingest
from ledger.tasks import request_seal_after


def encode_batch_message(payload: bytes, topic: str, received_at: float) -> dict:
    """The JSON-safe form the bridge queues: payloads may be arbitrary bytes."""
    return {"p": base64.b64encode(payload).decode("ascii"), "t": topic, "r": received_at}


def decode_batch_message(item: dict) -> IncomingMessage:
    return IncomingMessage(
        payload=base64.b64decode(item["p"]),
        topic=item["t"],
        received_at=datetime.fromtimestamp(item["r"], tz=UTC),
        source=SOURCE_MQTT,
    )


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
def ingest_batch_task(messages: list[dict]) -> dict:
    report = readings_ingest(messages=[decode_batch_message(item) for item in messages])
    request_seal_after(report.accepted)
    return {"accepted": report.accepted, "not_stored": dict(report.rejected_by_reason)}
