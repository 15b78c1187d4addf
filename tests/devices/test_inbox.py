"""The ingest inbox: a batch is kept until its readings are stored, exactly once."""

import contextlib
import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import OperationalError, connection
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from devices.inbox import (
    batch_decode,
    batch_encode,
    inbox_batch_add,
    inbox_batch_ingest,
    inbox_batch_submit,
    inbox_batches_requeue,
)
from devices.ingest import SOURCE_MQTT, IncomingMessage, readings_ingest
from devices.models import IngestBatch, Reading, Rejection
from devices.wire import topic_for
from tests.support import processes

pytestmark = pytest.mark.django_db

messages_strategy = st.lists(
    st.builds(
        IncomingMessage,
        payload=st.binary(max_size=2000),
        received_at=st.datetimes(
            min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
        ),
        source=st.just(SOURCE_MQTT),
        topic=st.text(max_size=100),
    ),
    max_size=20,
)


@given(messages=messages_strategy)
def test_a_batch_decodes_to_the_messages_it_was_encoded_from(messages):
    decoded = batch_decode(batch_encode(messages))
    assert [(m.payload, m.topic, m.source) for m in decoded] == [
        (m.payload, m.topic, m.source) for m in messages
    ]
    for before, after in zip(messages, decoded, strict=True):
        assert abs(after.received_at - before.received_at) < timedelta(microseconds=1)


def messages_of(device, *seqs: int) -> list[IncomingMessage]:
    now = timezone.now()
    return [
        IncomingMessage(device.signed(seq), now, SOURCE_MQTT, topic_for(device.id)) for seq in seqs
    ]


def test_ingesting_a_kept_batch_stores_its_readings_and_removes_the_batch(device):
    batch_id = inbox_batch_add(messages=messages_of(device, 1, 2, 3))
    report = inbox_batch_ingest(batch_id=batch_id)
    assert report.accepted == 3
    assert Reading.objects.count() == 3
    assert not IngestBatch.objects.exists()


def test_a_batch_delivered_twice_is_ingested_once_and_records_no_duplicates(device):
    batch_id = inbox_batch_add(messages=messages_of(device, 1, 2))
    inbox_batch_ingest(batch_id=batch_id)
    assert inbox_batch_ingest(batch_id=batch_id) is None
    assert Reading.objects.count() == 2
    assert not Rejection.objects.exists()


def test_a_batch_whose_storing_fails_stays_kept_for_the_next_try(device, monkeypatch):
    batch_id = inbox_batch_add(messages=messages_of(device, 1))

    def database_gone(**kwargs):
        raise RuntimeError("connection lost")

    monkeypatch.setattr("devices.ingest.entries_append", database_gone)
    with pytest.raises(RuntimeError):
        inbox_batch_ingest(batch_id=batch_id)
    assert IngestBatch.objects.filter(pk=batch_id).exists()
    assert not Reading.objects.exists()


def test_a_batch_is_kept_even_when_the_task_broker_refuses_it(device):
    def broker_down(batch_id):
        raise ConnectionError("redis down")

    batch_id = inbox_batch_submit(messages=messages_of(device, 1), enqueue=broker_down)
    assert IngestBatch.objects.filter(pk=batch_id).exists()


def overdue_by(batch_id: int, seconds: float, attempts: int = 1) -> None:
    IngestBatch.objects.filter(pk=batch_id).update(
        requeue_at=timezone.now() - timedelta(seconds=seconds), attempts=attempts
    )


def test_an_overdue_batch_is_queued_again_and_waits_twice_as_long_next_time(device, settings):
    settings.INGEST_REQUEUE_AFTER_S = 60
    batch_id = inbox_batch_add(messages=messages_of(device, 1))
    overdue_by(batch_id, 1)
    queued = []
    assert inbox_batches_requeue(enqueue=queued.append) == 1
    assert queued == [batch_id]
    batch = IngestBatch.objects.get(pk=batch_id)
    assert batch.attempts == 2
    assert batch.requeue_at - batch.queued_at == timedelta(seconds=120)


def test_a_batch_is_due_for_requeueing_only_after_the_configured_wait(device, settings):
    settings.INGEST_REQUEUE_AFTER_S = 60
    batch_id = inbox_batch_add(messages=messages_of(device, 1))
    batch = IngestBatch.objects.get(pk=batch_id)
    assert batch.requeue_at - batch.queued_at == timedelta(seconds=60)
    queued = []
    assert inbox_batches_requeue(enqueue=queued.append) == 0
    assert queued == []


def test_overdue_batches_behind_many_waiting_ones_are_still_requeued(device, settings):
    settings.INGEST_REQUEUE_AFTER_S = 60
    for seq in (1, 2, 3):
        inbox_batch_add(messages=messages_of(device, seq))
    overdue = inbox_batch_add(messages=messages_of(device, 4))
    overdue_by(overdue, 1, attempts=4)
    queued = []
    inbox_batches_requeue(enqueue=queued.append)
    assert queued == [overdue]


def test_a_broker_refusal_during_the_sweep_leaves_the_batch_due(device):
    batch_id = inbox_batch_add(messages=messages_of(device, 1))
    overdue_by(batch_id, 1)

    def broker_down(batch_id):
        raise ConnectionError("redis down")

    assert inbox_batches_requeue(enqueue=broker_down) == 0
    assert IngestBatch.objects.get(pk=batch_id).attempts == 1


def test_chosen_batches_are_requeued_at_once(device):
    batch_id = inbox_batch_add(messages=messages_of(device, 1))
    queued = []
    assert inbox_batches_requeue(enqueue=queued.append, batch_ids=[batch_id]) == 1
    assert queued == [batch_id]


@pytest.mark.servers
@pytest.mark.django_db(transaction=True)
def test_the_bridge_keeps_batches_again_after_its_database_connection_broke(device):
    # As when PostgreSQL restarts or drops an idle connection under the bridge.
    inbox_batch_add(messages=messages_of(device, 1))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    with psycopg.connect(processes.test_database_url(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    with pytest.raises(OperationalError):
        inbox_batch_submit(messages=messages_of(device, 2), enqueue=lambda batch_id: None)
    inbox_batch_submit(messages=messages_of(device, 2), enqueue=lambda batch_id: None)
    assert IngestBatch.objects.count() == 2


@contextlib.contextmanager
def synchronous_commit_when_devices_are_locked():
    """The storing transaction's ``synchronous_commit`` as it locks the batch's devices."""
    seen: list[str] = []

    def observe(execute, sql, params, many, context):
        if "FOR UPDATE" in sql and '"devices_device"' in sql:
            # A plain psycopg cursor on the same session: not observed again.
            with context["connection"].connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('synchronous_commit')")
                seen.append(cursor.fetchone()[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(observe):
        yield seen


def session_synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('synchronous_commit')")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_kept_batch_is_stored_by_a_commit_that_does_not_wait_for_the_disk(device):
    # Its inbox row, deleted in the same transaction, comes back if a crash loses it.
    batch_id = inbox_batch_add(messages=messages_of(device, 1, 2))
    with synchronous_commit_when_devices_are_locked() as seen:
        inbox_batch_ingest(batch_id=batch_id)
    assert seen == ["off"]


@pytest.mark.django_db(transaction=True)
def test_readings_ingested_without_an_inbox_row_commit_durably(device):
    # The HTTP path answers "stored" and the device drops its copy.
    with synchronous_commit_when_devices_are_locked() as seen:
        readings_ingest(messages=messages_of(device, 1))
    assert seen == [session_synchronous_commit()] != ["off"]


@pytest.mark.django_db(transaction=True)
def test_the_connection_commits_durably_again_once_a_batch_is_stored(device):
    # The bridge's next inbox insert must reach the disk before its PUBACK.
    before = session_synchronous_commit()
    inbox_batch_ingest(batch_id=inbox_batch_add(messages=messages_of(device, 1)))
    assert session_synchronous_commit() == before != "off"


@pytest.mark.servers
@pytest.mark.django_db(transaction=True)
def test_a_kept_batch_stays_in_the_inbox_until_its_readings_commit(device):
    batch_id = inbox_batch_add(messages=messages_of(device, 1))
    errors: list[BaseException] = []

    def ingest() -> None:
        try:
            inbox_batch_ingest(batch_id=batch_id)
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)
        finally:
            connection.close()

    url = processes.test_database_url()
    with psycopg.connect(url) as holder, psycopg.connect(url, autocommit=True) as observer:
        # Holding the device's row lock stops the ingest after it deleted the inbox row.
        holder.execute("SELECT 1 FROM devices_device WHERE id = %s FOR UPDATE", [device.id])
        thread = threading.Thread(target=ingest)
        thread.start()
        assert processes.wait_until(
            lambda: observer.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()[0],
            timeout=30,
        )
        assert observer.execute(
            "SELECT count(*) FROM devices_ingestbatch WHERE id = %s", [batch_id]
        ).fetchone() == (1,)
        holder.rollback()
        thread.join()
    assert errors == []
    assert not IngestBatch.objects.filter(pk=batch_id).exists()
    assert Reading.objects.count() == 1
