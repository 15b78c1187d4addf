"""Shipments that follow the simulated trucks' trips, as a dispatcher would book them.

Each trip of the simulator's plan (``devices.simulator.plan``) becomes one
shipment under contract, made before the truck's readings of that trip can
arrive (ingest only marks the shipments that watch a reading's device at
that instant): the truck's devices are attached for the trip's period, the
contract is activated from the demo template. The shipment departs at the
trip's start and is delivered at its end, once the platform's clock and the
truck's readings have both passed it. The receiver's release stays
unsigned: the contract settles when its dispute window ends.

Idempotent: a trip's reference is its truck and index, created once;
departure and delivery happen once each (the shipment's status).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Max

from coldchain.contracts import contract_activate
from coldchain.demo_world import (
    BANK,
    CARRIERS,
    INSURER,
    RECEIVER,
    SHIPPER,
    demo_parties_ensure,
    demo_products_ensure,
    demo_template_ensure,
)
from coldchain.models import DeviceAttachment, Shipment
from coldchain.shipment_states import shipment_deliver, shipment_depart
from devices.models import Device
from devices.simulator.fleet import FleetConfig, device_ids, truck_ids
from devices.simulator.plan import fleet_trips
from devices.simulator.scenario import Trip

DEADLINE_SLACK = timedelta(hours=1)  # the contract's deadline after the planned arrival
LOOKAHEAD_S = 3600.0  # book trips this long before they start

Status = Shipment.Status


@dataclass
class TripsSynced:
    created: int = 0
    departed: int = 0
    delivered: int = 0


def trip_reference(truck: str, index: int) -> str:
    return f"{truck}-trip-{index:04d}"


def _instant(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


class _Booking:
    """What every demo shipment shares: parties, products, template."""

    def __init__(self) -> None:
        self.parties = demo_parties_ensure()
        self.products = demo_products_ensure()
        self.template = demo_template_ensure()

    def book(self, truck: str, carrier: str, trip: Trip, devices: list[str]) -> Shipment:
        """The trip's shipment: devices attached for the trip, contract active."""
        start, end = _instant(trip.start), _instant(trip.end)
        with transaction.atomic():
            shipment = Shipment.objects.create(
                reference=trip_reference(truck, trip.index),
                product=self.products[trip.product.name],
                shipper=self.parties[SHIPPER],
                carrier=self.parties[carrier],
                receiver=self.parties[RECEIVER],
                insurer=self.parties[INSURER],
                bank=self.parties[BANK],
                vehicle=truck,
                origin=trip.origin[0],
                destination=trip.destination[0],
                destination_lat=trip.destination[1],
                destination_lon=trip.destination[2],
                departure_at=start,
                deadline_at=end + DEADLINE_SLACK,
            )
            DeviceAttachment.objects.bulk_create(
                DeviceAttachment(
                    shipment=shipment, device_id=device, attached_from=start, attached_until=end
                )
                for device in devices
            )
            contract_activate(shipment, template=self.template)
        return shipment


def _newest_readings(trucks: list[str]) -> dict[str, datetime]:
    """Per truck, the newest reading instant of any of its devices."""
    newest = {}
    for row in (
        Device.objects.filter(vehicle__in=trucks)
        .values("vehicle")
        .annotate(newest=Max("last_reading_ts"))
    ):
        if row["newest"] is not None:
            newest[row["vehicle"]] = row["newest"]
    return newest


def demo_trips_sync(
    config: FleetConfig, *, now: datetime, lookahead_s: float = LOOKAHEAD_S
) -> TripsSynced:
    """Book every planned trip that starts before ``now + lookahead_s``; depart
    those that started; deliver those the clock and the readings have passed."""
    synced = TripsSynced()
    booking: _Booking | None = None  # looked up once there is a trip to book
    trucks = truck_ids(config.truck_prefix, config.trucks)
    plan = fleet_trips(config, until=now.timestamp() + lookahead_s)
    references = [trip_reference(truck, trip.index) for truck in trucks for trip in plan[truck]]
    existing = {s.reference: s for s in Shipment.objects.filter(reference__in=references)}
    newest = _newest_readings(trucks)
    for number, truck in enumerate(trucks):
        devices = [device for device, _ in device_ids(truck, config.loggers)]
        carrier = CARRIERS[number % len(CARRIERS)]
        for trip in plan[truck]:
            shipment = existing.get(trip_reference(truck, trip.index))
            if shipment is None:
                booking = booking or _Booking()
                try:
                    shipment = booking.book(truck, carrier, trip, devices)
                except IntegrityError:
                    continue  # booked meanwhile by another run: it departs and arrives there
                synced.created += 1
            start, end = _instant(trip.start), _instant(trip.end)
            if shipment.status == Status.ACTIVE and start <= now:
                shipment = shipment_depart(shipment, at=start)
                synced.departed += 1
            arrived = end <= now and newest.get(truck, start) >= end
            if shipment.status == Status.IN_TRANSIT and arrived:
                shipment_deliver(shipment, at=end)
                synced.delivered += 1
    return synced
