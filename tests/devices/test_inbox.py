"""The ingest inbox: a batch is kept until its readings are stored, exactly once."""

from datetime import UTC, datetime, timedelta

import pytest
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
from devices.ingest import SOURCE_MQTT, IncomingMessage
from devices.models import IngestBatch, Reading, Rejection
from devices.wire import topic_for

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


def queued_ago(batch_id: int, seconds: float, attempts: int = 1) -> None:
    IngestBatch.objects.filter(pk=batch_id).update(
        queued_at=timezone.now() - timedelta(seconds=seconds), attempts=attempts
    )


def test_a_stalled_batch_is_queued_again(device):
    batch_id = inbox_batch_add(messages=messages_of(device, 1))
    queued_ago(batch_id, 61)
    queued = []
    assert inbox_batches_requeue(after_s=60, enqueue=queued.append) == 1
    assert queued == [batch_id]
    assert IngestBatch.objects.get(pk=batch_id).attempts == 2


def test_a_recently_queued_batch_is_left_alone(device):
    inbox_batch_add(messages=messages_of(device, 1))
    queued = []
    assert inbox_batches_requeue(after_s=60, enqueue=queued.append) == 0
    assert queued == []


def test_each_further_requeue_of_a_batch_waits_twice_as_long(device):
    batch_id = inbox_batch_add(messages=messages_of(device, 1))
    queued_ago(batch_id, 100, attempts=2)
    queued = []
    assert inbox_batches_requeue(after_s=60, enqueue=queued.append) == 0
    queued_ago(batch_id, 121, attempts=2)
    assert inbox_batches_requeue(after_s=60, enqueue=queued.append) == 1
