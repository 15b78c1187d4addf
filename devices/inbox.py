"""The ingest inbox: batches taken from MQTT, kept in the database until ingested.

The Celery broker alone cannot hold a batch safely. kombu's Redis transport
pops a message (BRPOP) before it records it as unacknowledged, so a worker
killed between the two loses it; and a Redis without persistence forgets its
whole queue when it restarts. So the bridge writes each batch to the database
before it acknowledges the MQTT messages, the Celery message carries only the
batch id, and the batch row is deleted in the same transaction that stores its
readings. A Celery message lost on the way is replaced by the sweep
(``inbox_batches_requeue``) once the batch is overdue; a message delivered
twice finds its row gone.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from devices.ingest import SOURCE_MQTT, IncomingMessage, IngestReport, readings_ingest
from devices.models import IngestBatch
from ledger.bulk import binary_cursor, insert_returning_ids

logger = logging.getLogger(__name__)

# received_at (Unix seconds), topic length, payload length; then topic and payload.
_HEADER = struct.Struct("!dHI")
# A batch waits at most this many requeue intervals between requeues, so a
# long backlog is not flooded with copies of messages already queued.
MAX_BACKOFF_STEPS = 6
REQUEUE_LIMIT = 1000
# A batch still not ingested after this many tries is logged as an error:
# something other than a lost message keeps it from being stored.
ALERT_AFTER_ATTEMPTS = 5
_BATCH_COLUMNS = ("data", "message_count", "received_at", "queued_at", "attempts", "requeue_at")


def batch_encode(messages: list[IncomingMessage]) -> bytes:
    """Length-prefixed frames: payloads are arbitrary bytes, topics any UTF-8."""
    parts = []
    for message in messages:
        topic = message.topic.encode("utf-8", "replace")[:0xFFFF]
        parts.append(
            _HEADER.pack(message.received_at.timestamp(), len(topic), len(message.payload))
        )
        parts.append(topic)
        parts.append(message.payload)
    return b"".join(parts)


def batch_decode(data: bytes) -> list[IncomingMessage]:
    messages = []
    offset, view = 0, memoryview(data)
    while offset < len(view):
        received_at, topic_size, payload_size = _HEADER.unpack_from(view, offset)
        offset += _HEADER.size
        topic = bytes(view[offset : offset + topic_size]).decode("utf-8", "replace")
        offset += topic_size
        payload = bytes(view[offset : offset + payload_size])
        offset += payload_size
        messages.append(
            IncomingMessage(
                payload=payload,
                topic=topic,
                received_at=datetime.fromtimestamp(received_at, tz=UTC),
                source=SOURCE_MQTT,
            )
        )
    return messages


def inbox_batch_add(*, messages: list[IncomingMessage]) -> int:
    """Keep a batch durably; its id. Once this returns, the messages may be acknowledged."""
    now = timezone.now()
    row = (
        batch_encode(messages),
        len(messages),
        min((m.received_at for m in messages), default=now),
        now,
        1,
        _requeue_at(now, 1),
    )
    # Bound as a binary parameter: the ORM would quote ~200 KB as hex into the SQL text.
    (batch_id,) = insert_returning_ids(IngestBatch, _BATCH_COLUMNS, [row])
    return batch_id


def inbox_batch_submit(*, messages: list[IncomingMessage], enqueue: Callable[[int], None]) -> int:
    """Keep a batch and queue its ingestion; raises only if the batch was not kept.

    A broker that refuses the message is logged, not raised: the batch is
    already safe in the database and the sweep queues it once the broker is back.
    """
    try:
        batch_id = inbox_batch_add(messages=messages)
    except DatabaseError:
        # A connection broken by a database restart stays broken; the retry
        # must open a new one.
        connection.close()
        raise
    try:
        enqueue(batch_id)
    except Exception:
        logger.warning("inbox: batch %d kept but not queued; the sweep will queue it", batch_id)
    return batch_id


class BatchAlreadyIngested(Exception):
    pass


def _claim(batch_id: int) -> None:
    # Inside the storing transaction: a second delivery of the same batch
    # waits on this row lock until the first commits, then finds no row.
    if connection.vendor == "postgresql":
        _commit_without_waiting_for_the_disk()
    deleted, _ = IngestBatch.objects.filter(pk=batch_id).delete()
    if not deleted:
        raise BatchAlreadyIngested(batch_id)


def _commit_without_waiting_for_the_disk() -> None:
    """Let this transaction's commit return before its WAL is flushed.

    Safe for this transaction only. It stores a batch's readings and deletes
    the batch's inbox row, and that row was inserted by a commit that did wait
    for the disk (the MQTT PUBACK waited for it). A crash of PostgreSQL can
    lose the last commits made this way (up to three ``wal_writer_delay``, 0.6 s
    by default), but it loses each one whole: the readings go and the inbox
    row comes back, and the requeue sweep ingests it again. Nothing durable
    can rest on a lost commit: the WAL is one sequence, so any later commit
    that waits for the disk (a seal, an alert, a shipment marked for scoring)
    flushes this one first. The HTTP ingest path has no inbox and answers
    "stored" to a device that then drops its copy: it never gets here.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")


def _batch_data(batch_id: int) -> bytes | None:
    if connection.vendor != "postgresql":
        data = IngestBatch.objects.filter(pk=batch_id).values_list("data", flat=True).first()
        return None if data is None else bytes(data)
    # Fetched in binary: the text protocol would send ~200 KB as hex to decode.
    with binary_cursor() as cursor:
        cursor.execute(
            "SELECT data FROM devices_ingestbatch WHERE id = %s", [batch_id], binary=True
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def inbox_batch_ingest(*, batch_id: int) -> IngestReport | None:
    """Ingest a kept batch exactly once; None if it was ingested already."""
    data = _batch_data(batch_id)
    if data is None:
        return None
    try:
        return readings_ingest(messages=batch_decode(data), in_transaction=lambda: _claim(batch_id))
    except BatchAlreadyIngested:
        return None


def _requeue_at(now: datetime, attempts: int) -> datetime:
    """When a batch queued ``attempts`` times is due again: each try waits twice as long."""
    steps = min(attempts - 1, MAX_BACKOFF_STEPS)
    return now + timedelta(seconds=settings.INGEST_REQUEUE_AFTER_S * 2**steps)


def inbox_batches_requeue(
    *, enqueue: Callable[[int], None], batch_ids: list[int] | None = None
) -> int:
    """Queue again the batches whose ingestion is overdue (their Celery message
    was lost with a killed worker or a restarted Redis), or the given ones.
    Returns how many were queued; stops at the first that the broker refuses."""
    now = timezone.now()
    batches = IngestBatch.objects.select_for_update(skip_locked=True)
    if batch_ids is None:
        batches = batches.filter(requeue_at__lte=now).order_by("requeue_at")
    else:
        batches = batches.filter(pk__in=batch_ids).order_by("id")
    queued: list[tuple[int, int]] = []
    with transaction.atomic():
        for batch_id, attempts in batches.values_list("id", "attempts")[:REQUEUE_LIMIT]:
            try:
                enqueue(batch_id)
            except Exception:
                logger.warning("inbox: the task broker refused batch %d; retrying later", batch_id)
                break
            queued.append((batch_id, attempts + 1))
            if attempts + 1 >= ALERT_AFTER_ATTEMPTS:
                logger.error("inbox: batch %d queued %d times and not ingested", *queued[-1])
        for attempts in {attempts for _, attempts in queued}:
            IngestBatch.objects.filter(
                pk__in=[batch_id for batch_id, n in queued if n == attempts]
            ).update(queued_at=now, attempts=attempts, requeue_at=_requeue_at(now, attempts))
    if queued:
        logger.warning("inbox: queued %d batches again", len(queued))
    return len(queued)
