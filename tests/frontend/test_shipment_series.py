"""The shipment chart's series, downsampled in the database."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from devices.ingest import SOURCE_HTTP, IncomingMessage, readings_ingest
from devices.models import Reading
from frontend.selectors.series import shipment_series
from tests.factories import make_device
from tests.frontend.dashboard_factories import make_assessment
from tests.shipment_factories import make_shipment

pytestmark = pytest.mark.django_db
DEPARTURE = datetime(2026, 1, 5, tzinfo=UTC)


def store(*tokens: bytes) -> None:
    readings_ingest(messages=[IncomingMessage(t, timezone.now(), SOURCE_HTTP) for t in tokens])


def bulk_readings(device, count: int, *, temp_c=lambda i: 5.0) -> None:
    """Stored rows without the ingest path: what 100,000 readings look like to the chart."""
    key = device.keys.get()
    Reading.objects.bulk_create(
        Reading(
            device=device,
            seq=i + 1,
            ts=DEPARTURE + timedelta(seconds=3 * i),
            received_at=DEPARTURE,
            temp_c=temp_c(i),
            door_open=i == 50_000,
            jws=b"-",
            signing_key=key,
        )
        for i in range(count)
    )


def test_each_bucket_keeps_a_devices_lowest_and_highest_reading():
    logger = make_device()
    shipment = make_shipment(devices=[logger.device], departure_at=DEPARTURE)
    store(*(logger.signed(seq, temp_c=t) for seq, t in [(1, 4.0), (2, 11.5), (3, 3.0)]))
    series = shipment_series(shipment, buckets=1)
    (device,) = series["devices"]
    assert (device["id"], device["min"], device["max"]) == (logger.id, [3.0], [11.5])


def test_readings_of_a_device_before_it_was_attached_are_left_out():
    logger = make_device()
    shipment = make_shipment(
        devices=[logger.device], departure_at=DEPARTURE + timedelta(seconds=150)
    )
    store(logger.signed(1, temp_c=20.0), logger.signed(3, temp_c=5.0))
    (device,) = shipment_series(shipment, buckets=1)["devices"]
    assert device["max"] == [5.0]


def test_door_openings_and_excursions_are_marked_on_the_time_axis():
    logger = make_device()
    shipment = make_shipment(devices=[logger.device], departure_at=DEPARTURE)
    store(logger.signed(1), logger.signed(30, door_open=True, temp_c=9.5))
    series = shipment_series(shipment, buckets=60)
    door_at = series["door_open"][0]
    assert DEPARTURE.timestamp() + 29 * 60 - 60 < door_at <= DEPARTURE.timestamp() + 30 * 60
    ((start, end),) = series["excursions"]
    assert start == door_at
    assert end == pytest.approx(door_at + series["bucket_seconds"])


def test_the_validated_temperature_decides_excursions_once_assessed():
    logger = make_device()
    shipment = make_shipment(devices=[logger.device], departure_at=DEPARTURE)
    store(logger.signed(1), logger.signed(60, temp_c=30.0))  # one faulty probe
    make_assessment(shipment, at=DEPARTURE + timedelta(minutes=60), validated_c=5.1)
    series = shipment_series(shipment, buckets=10)
    assert series["excursions"] == []
    assert 5.1 in series["validated"]


def test_a_hundred_thousand_readings_come_back_as_a_few_hundred_points_quickly():
    logger = make_device()
    shipment = make_shipment(devices=[logger.device], departure_at=DEPARTURE)
    bulk_readings(logger.device, 100_000, temp_c=lambda i: 14.0 if i == 77_777 else 5.0)
    started = timezone.now()
    series = shipment_series(shipment)
    elapsed = timezone.now() - started
    assert len(series["x"]) == 600
    assert max(series["devices"][0]["max"]) == 14.0  # one reading's spike survives
    assert len(series["door_open"]) == 1
    assert elapsed < timedelta(seconds=2)
