"""A shipment's ETA from its devices' recent positions (``coldchain.eta`` does the arithmetic)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from coldchain.cargo import device_periods
from coldchain.eta import SPEED_WINDOW, Eta, Position, eta_estimate
from coldchain.models import Shipment
from devices.models import Reading


def shipment_positions(shipment: Shipment, *, now: datetime) -> list[Position]:
    """The positioned readings of the shipment's attached devices over the speed
    window before ``now``: per device, one bounded range of its (device, time)
    index; older positions would not count towards the estimate anyway."""
    positions = []
    for periods in device_periods(shipment):
        positions += [
            Position(at=ts, lat=lat, lon=lon)
            for ts, lat, lon in Reading.objects.filter(
                periods,
                ts__gte=now - SPEED_WINDOW,
                ts__lte=now,
                lat__isnull=False,
                lon__isnull=False,
            ).values_list("ts", "lat", "lon")
        ]
    return positions


def shipment_eta(shipment: Shipment, *, now: datetime) -> Eta:
    """The shipment's ETA; positions are read only when they can matter (not
    delivered, destination coordinates known)."""
    destination = (
        None
        if shipment.destination_lat is None or shipment.destination_lon is None
        else (shipment.destination_lat, shipment.destination_lon)
    )
    needs_positions = shipment.delivered_at is None and destination is not None
    return eta_estimate(
        positions=shipment_positions(shipment, now=now) if needs_positions else [],
        destination=destination,
        deadline_at=shipment.deadline_at,
        now=now,
        delivered_at=shipment.delivered_at,
    )


def shipments_with_eta(shipments: Iterable[Shipment], *, now: datetime) -> list[Shipment]:
    """The shipments, each with its ``eta`` set (the fleet overview's rows)."""
    listed = list(shipments)
    for shipment in listed:
        shipment.eta = shipment_eta(shipment, now=now)
    return listed
