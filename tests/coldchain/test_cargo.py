"""A shipment's readings frame and its validated cargo temperature, from stored readings."""

from datetime import timedelta

import pandas as pd
import pytest

from analytics.readings import COLUMNS, readings_frame
from coldchain.cargo import shipment_readings, shipment_temperature_range, validated_temperature
from coldchain.models import DeviceAttachment
from ledger.services import log_seal
from tests.coldchain.trips import DEPARTURE, make_trip, steady
from tests.contract_factories import load_readings, make_contract_shipment
from tests.factories import make_device

pytestmark = pytest.mark.django_db


def test_the_frame_is_the_canonical_readings_frame_of_the_attached_devices():
    trip = make_trip()
    trip.ingest(range(10), steady(5.0))
    frame = shipment_readings(trip.shipment)
    assert len(frame) == 30
    assert set(frame["device"]) == set(trip.device_ids)
    assert (frame["shipment"] == trip.shipment.reference).all()
    pd.testing.assert_frame_equal(frame[list(COLUMNS)], readings_frame(frame[list(COLUMNS)]))


def test_the_range_comes_from_the_product():
    trip = make_trip()
    trip.ingest(range(2), steady(5.0))
    frame = shipment_readings(trip.shipment)
    product = trip.shipment.product
    assert (frame["temp_min"] == product.temp_min_c).all()
    assert (frame["temp_max"] == product.temp_max_c).all()


def test_a_contract_that_tightens_the_range_sets_it():
    shipment, devices = make_contract_shipment(
        overrides={"temperature": {"min_c": 3.0, "max_c": 6.5}}
    )
    assert shipment_temperature_range(shipment) == (3.0, 6.5)
    load_readings(devices, [5.0, 5.0])
    frame = shipment_readings(shipment)
    assert set(frame["temp_min"]) == {3.0}
    assert set(frame["temp_max"]) == {6.5}


def test_readings_outside_the_attachment_period_are_left_out():
    trip = make_trip()
    DeviceAttachment.objects.filter(device_id=trip.device_ids[0]).update(
        attached_until=DEPARTURE + timedelta(minutes=5)
    )
    trip.ingest(range(10), steady(5.0))
    frame = shipment_readings(trip.shipment)
    first = frame[frame["device"] == trip.device_ids[0]]
    assert len(first) == 5
    assert first["ts"].max() < pd.Timestamp(DEPARTURE + timedelta(minutes=5))


def test_readings_of_unattached_devices_are_left_out():
    trip = make_trip()
    stranger = make_device(vehicle=trip.shipment.vehicle)
    trip.devices.append(stranger)
    trip.ingest(range(3), steady(5.0))
    assert stranger.id not in set(shipment_readings(trip.shipment)["device"])


def test_since_and_until_bound_the_readings_times():
    trip = make_trip()
    trip.ingest(range(10), steady(5.0))
    since, until = DEPARTURE + timedelta(minutes=3), DEPARTURE + timedelta(minutes=6)
    frame = shipment_readings(trip.shipment, since=since, until=until)
    assert frame["ts"].min() >= pd.Timestamp(since)
    assert frame["ts"].max() <= pd.Timestamp(until)
    assert len(frame) == 9


def test_ledger_indices_appear_once_the_log_is_sealed():
    trip = make_trip()
    trip.ingest(range(3), steady(5.0))
    assert shipment_readings(trip.shipment)["ledger_index"].isna().all()
    log_seal()
    indices = shipment_readings(trip.shipment)["ledger_index"]
    assert indices.notna().all()
    assert indices.is_unique


def test_a_shipment_without_readings_gives_an_empty_frame():
    trip = make_trip()
    frame = shipment_readings(trip.shipment)
    assert frame.empty
    assert list(frame.columns) == [*COLUMNS, "ledger_index"]
    assert validated_temperature(frame).empty


def test_the_validated_temperature_is_the_agreeing_devices_mean():
    trip = make_trip()
    trip.ingest(range(10), lambda device, minute: 5.0 if device.endswith("-logger") else 5.4)
    steps = validated_temperature(shipment_readings(trip.shipment))
    settled = steps[steps["n_devices"] == 3]
    assert settled["quorum"].all()
    assert settled["validated_c"].round(6).eq(round((5.0 + 5.4 + 5.4) / 3, 6)).all()
    assert set(settled["flagged_devices"]) == {()}


def test_a_disagreeing_probe_is_named_and_left_out_of_the_validated_temperature():
    trip = make_trip()
    spiking = trip.device_ids[1]
    trip.ingest(range(10), lambda device, minute: 30.0 if device == spiking else 5.0)
    steps = validated_temperature(shipment_readings(trip.shipment))
    settled = steps[steps["n_devices"] == 3]
    assert settled["validated_c"].eq(5.0).all()
    assert set(settled["flagged_devices"]) == {(spiking,)}
