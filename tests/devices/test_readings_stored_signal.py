"""readings_stored: sent once per stored batch, after commit, with each device's time range."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from devices.ingest import SOURCE_HTTP, IncomingMessage, readings_ingest
from devices.signals import readings_stored
from tests.factories import make_device

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.fixture
def announced():
    received = []

    def receive(sender, device_ranges, **kwargs):
        received.append(device_ranges)

    readings_stored.connect(receive, dispatch_uid="test-readings-stored")
    yield received
    readings_stored.disconnect(dispatch_uid="test-readings-stored")


def ingest(tokens):
    return readings_ingest(
        messages=[IncomingMessage(token, timezone.now(), SOURCE_HTTP) for token in tokens]
    )


def test_a_stored_batch_is_announced_once_with_each_devices_time_range(
    announced, django_capture_on_commit_callbacks
):
    a, b = make_device(), make_device()
    tokens = [d.signed(seq, ts=T0 + timedelta(minutes=seq)) for seq in range(1, 4) for d in (a, b)]
    with django_capture_on_commit_callbacks(execute=True):
        ingest(tokens)
    assert announced == [
        {
            a.id: (T0 + timedelta(minutes=1), T0 + timedelta(minutes=3)),
            b.id: (T0 + timedelta(minutes=1), T0 + timedelta(minutes=3)),
        }
    ]


def test_a_batch_of_duplicates_only_is_not_announced(announced, django_capture_on_commit_callbacks):
    device = make_device()
    token = device.signed(1)
    with django_capture_on_commit_callbacks(execute=True):
        ingest([token])
        ingest([token])
    assert len(announced) == 1


def ingest_in_a_failing_transaction(tokens):
    with transaction.atomic():
        ingest(tokens)
        raise RuntimeError("the caller's transaction fails after the ingest")


def test_nothing_is_announced_for_a_batch_that_rolls_back(
    announced, django_capture_on_commit_callbacks
):
    device = make_device()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        ingest_in_a_failing_transaction([device.signed(1)])
    assert announced == []


def test_a_failing_receiver_does_not_fail_the_ingest(django_capture_on_commit_callbacks, caplog):
    def broken(sender, **kwargs):
        raise ValueError("receiver bug")

    readings_stored.connect(broken, dispatch_uid="test-broken-receiver")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            report = ingest([make_device().signed(1)])
    finally:
        readings_stored.disconnect(dispatch_uid="test-broken-receiver")
    assert report.accepted == 1
    assert "readings_stored receiver" in caplog.text
