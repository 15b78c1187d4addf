"""The demo books each simulated trip as a shipment under contract, departs and delivers it."""

from datetime import UTC, datetime, timedelta

import pytest

from coldchain.demo_fleet import demo_devices_ensure
from coldchain.demo_trips import demo_trips_sync, trip_reference
from coldchain.models import Contract, DeviceAttachment, Shipment
from devices.models import Device
from devices.simulator.fleet import FleetConfig
from devices.simulator.plan import fleet_trips

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
FLEET = FleetConfig(
    start=(NOW - timedelta(hours=6)).timestamp(),
    trucks=2,
    loggers=2,
    interval_s=60.0,
    trip_hours=(2.0, 4.0),
)
LOOKAHEAD_S = 3600.0


def instant(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


@pytest.fixture
def fleet_devices(db, settings, tmp_path):
    settings.DEVICE_KEY_DIR = tmp_path / "keys"
    demo_devices_ensure(FLEET)


@pytest.fixture
def plan():
    return fleet_trips(FLEET, until=NOW.timestamp() + LOOKAHEAD_S)


def readings_reached(truck: str, at: datetime) -> None:
    """The platform has stored the truck's readings up to ``at``."""
    Device.objects.filter(vehicle=truck).update(last_reading_ts=at, last_seq=1)


def test_each_planned_trip_becomes_one_shipment_with_its_product_route_and_period(
    fleet_devices, plan
):
    demo_trips_sync(FLEET, now=NOW, lookahead_s=LOOKAHEAD_S)
    expected = {
        trip_reference(truck, trip.index): trip for truck, trips in plan.items() for trip in trips
    }
    shipments = {s.reference: s for s in Shipment.objects.select_related("product")}
    assert set(shipments) == set(expected)
    for reference, trip in expected.items():
        shipment = shipments[reference]
        assert shipment.product.code == trip.product.name
        assert (shipment.origin, shipment.destination) == (trip.origin[0], trip.destination[0])
        assert (shipment.destination_lat, shipment.destination_lon) == trip.destination[1:]
        assert shipment.departure_at == instant(trip.start)
        assert shipment.deadline_at > instant(trip.end)


def test_the_trucks_devices_watch_the_shipment_for_the_trip_only(fleet_devices, plan):
    demo_trips_sync(FLEET, now=NOW, lookahead_s=LOOKAHEAD_S)
    trip = plan["truck-002"][1]
    attachments = DeviceAttachment.objects.filter(
        shipment__reference=trip_reference("truck-002", 1)
    )
    assert sorted(a.device_id for a in attachments) == [
        "truck-002-logger",
        "truck-002-logger-2",
        "truck-002-reefer",
    ]
    for attachment in attachments:
        assert attachment.attached_from == instant(trip.start)
        assert attachment.attached_until == instant(trip.end)


def test_every_shipment_has_an_active_contract_from_the_demo_template(fleet_devices):
    demo_trips_sync(FLEET, now=NOW, lookahead_s=LOOKAHEAD_S)
    contracts = Contract.objects.select_related("template")
    assert contracts.count() == Shipment.objects.count()
    for contract in contracts:
        assert str(contract.template) == "demo-reefer v1"
        assert contract.terms["dispute_window_h"] == 1.0
        assert contract.terms["quorum"]["k"] == 2
        assert contract.terms["insurance"]["insurer"] == "cargo-mutual"


def test_started_trips_are_in_transit_and_upcoming_ones_wait(fleet_devices, plan):
    demo_trips_sync(FLEET, now=NOW, lookahead_s=LOOKAHEAD_S)
    for truck, trips in plan.items():
        for trip in trips:
            shipment = Shipment.objects.get(reference=trip_reference(truck, trip.index))
            started = instant(trip.start) <= NOW
            assert shipment.status == ("in_transit" if started else "active")


def test_a_trip_is_delivered_at_its_end_once_the_trucks_readings_passed_it(fleet_devices, plan):
    demo_trips_sync(FLEET, now=NOW, lookahead_s=LOOKAHEAD_S)
    first = plan["truck-001"][0]
    reference = trip_reference("truck-001", 0)
    assert Shipment.objects.get(reference=reference).status == "in_transit", "no readings yet"

    readings_reached("truck-001", instant(first.end))
    synced = demo_trips_sync(FLEET, now=NOW, lookahead_s=LOOKAHEAD_S)
    shipment = Shipment.objects.get(reference=reference)
    assert shipment.status == "delivered"
    assert shipment.delivered_at == instant(first.end)
    assert synced.delivered == 1


def test_running_again_books_departs_and_delivers_nothing_twice(fleet_devices, plan):
    readings_reached("truck-001", NOW)
    readings_reached("truck-002", NOW)
    first = demo_trips_sync(FLEET, now=NOW, lookahead_s=LOOKAHEAD_S)
    shipments = Shipment.objects.count()
    again = demo_trips_sync(FLEET, now=NOW, lookahead_s=LOOKAHEAD_S)
    assert first.created == shipments
    assert first.delivered >= 2
    assert (again.created, again.departed, again.delivered) == (0, 0, 0)
    assert Shipment.objects.count() == shipments


def test_later_runs_book_the_next_trips_before_they_start(fleet_devices):
    demo_trips_sync(FLEET, now=NOW, lookahead_s=LOOKAHEAD_S)
    later = NOW + timedelta(hours=8)
    demo_trips_sync(FLEET, now=later, lookahead_s=LOOKAHEAD_S)
    plan = fleet_trips(FLEET, until=later.timestamp() + LOOKAHEAD_S)
    assert Shipment.objects.count() == sum(len(trips) for trips in plan.values())
    newest = max(trip.start for trips in plan.values() for trip in trips)
    assert instant(newest) > later, "a trip that starts within the lookahead is booked already"
