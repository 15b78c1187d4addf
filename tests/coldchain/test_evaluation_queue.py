"""The debounce between ingest and evaluation: many batches, one evaluation per shipment."""

from datetime import timedelta

import pytest
from django.utils import timezone

from coldchain.evaluation_queue import (
    dirty_shipment_evaluate,
    dirty_shipments_queue,
    shipments_mark_dirty,
)
from coldchain.models import Assessment, DeviceAttachment, ShipmentDirty
from coldchain.tasks import evaluate_shipment_task
from ledger.services import log_seal
from tests.coldchain.rule_models import register_rule_models
from tests.coldchain.trips import DEPARTURE, make_trip, steady

pytestmark = pytest.mark.django_db


@pytest.fixture
def trip_with_readings(django_capture_on_commit_callbacks):
    """A trip whose 60 minutes of readings arrive in 12 batches, marks delivered on commit."""
    trip = make_trip()
    with django_capture_on_commit_callbacks(execute=True):
        for start in range(0, 60, 5):
            trip.ingest(range(start, start + 5), steady(5.0))
    log_seal()
    return trip


def test_many_batches_mark_a_shipment_once(trip_with_readings):
    mark = ShipmentDirty.objects.get()
    assert mark.shipment_id == trip_with_readings.shipment.pk
    assert mark.since == DEPARTURE + timedelta(seconds=5)


def test_late_readings_move_the_marks_start_back(trip_with_readings):
    shipments_mark_dirty(
        {trip_with_readings.device_ids[0]: (DEPARTURE - timedelta(hours=1), DEPARTURE)}
    )
    assert ShipmentDirty.objects.get().since == DEPARTURE


def test_a_tick_queues_one_evaluation_per_marked_shipment(
    trip_with_readings, django_capture_on_commit_callbacks
):
    queued = []
    with django_capture_on_commit_callbacks(execute=True):
        assert dirty_shipments_queue(enqueue=queued.append) == 1
        assert dirty_shipments_queue(enqueue=queued.append) == 0  # still queued
    assert queued == [trip_with_readings.shipment.pk]


def test_a_refused_queueing_does_not_stop_the_tick(
    trip_with_readings, django_capture_on_commit_callbacks, caplog
):
    def broker_down(shipment_id):
        raise ConnectionError("broker down")

    with django_capture_on_commit_callbacks(execute=True):
        assert dirty_shipments_queue(enqueue=broker_down) == 1
    assert "could not queue the evaluation" in caplog.text
    assert ShipmentDirty.objects.get().queued_at is not None  # queued again after the period


def test_a_lost_evaluation_is_queued_again_after_the_requeue_period(trip_with_readings, settings):
    settings.EVALUATION_REQUEUE_AFTER_S = 300
    queued = []
    dirty_shipments_queue(enqueue=queued.append)
    later = timezone.now() + timedelta(seconds=301)
    assert dirty_shipments_queue(enqueue=queued.append, now=later) == 1


def test_the_evaluation_clears_the_mark_and_assesses_the_shipment(trip_with_readings):
    register_rule_models()
    shipment = trip_with_readings.shipment
    result = evaluate_shipment_task(shipment.pk)
    assert result["assessments"] == 11  # 08:05 ... 08:55
    assert Assessment.objects.filter(shipment=shipment).count() == 11
    assert not ShipmentDirty.objects.exists()
    assert evaluate_shipment_task(shipment.pk) == {"shipment": shipment.pk, "marked": False}


def test_readings_after_the_evaluation_mark_the_shipment_again(
    trip_with_readings, django_capture_on_commit_callbacks
):
    register_rule_models()
    dirty_shipment_evaluate(trip_with_readings.shipment.pk)
    with django_capture_on_commit_callbacks(execute=True):
        trip_with_readings.ingest(range(60, 65), steady(5.0))
    assert ShipmentDirty.objects.filter(shipment=trip_with_readings.shipment).exists()


def test_a_shipment_with_an_unsettled_instant_stays_marked_until_it_settles(
    trip_with_readings, settings
):
    register_rule_models()
    settings.EVALUATION_SETTLE_S = 3600
    trip_with_readings.devices.pop()
    trip_with_readings.ingest(range(60, 70), steady(5.0))
    log_seal()
    # While the trip runs: the lagging device has reported up to 08:59:05, the others on.
    result = dirty_shipment_evaluate(
        trip_with_readings.shipment.pk, now=DEPARTURE + timedelta(minutes=70)
    )
    assert result.retry_at == DEPARTURE + timedelta(minutes=60 + 60)  # 09:00 settles at 10:00
    mark = ShipmentDirty.objects.get()
    assert mark.due_at == result.retry_at
    assert mark.queued_at is None


def test_readings_outside_every_attachment_mark_nothing(django_capture_on_commit_callbacks):
    trip = make_trip()
    DeviceAttachment.objects.filter(shipment=trip.shipment).update(
        attached_from=DEPARTURE + timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        trip.ingest(range(10), steady(5.0))
    assert not ShipmentDirty.objects.exists()
