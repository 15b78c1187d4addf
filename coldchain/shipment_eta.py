"""Shipments' ETAs from their devices' recent positions (``coldchain.eta`` does the arithmetic)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from coldchain.eta import SPEED_WINDOW, Eta, Position, eta_estimate
from coldchain.models import DeviceAttachment, Shipment
from devices.models import Reading


def _destination(shipment: Shipment) -> tuple[float, float] | None:
    if shipment.destination_lat is None or shipment.destination_lon is None:
        return None
    return (shipment.destination_lat, shipment.destination_lon)


def shipments_positions(shipments: list[Shipment], *, now: datetime) -> dict[int, list[Position]]:
    """Per shipment id, the positioned readings of its attached devices (each
    within its attachment period) over the speed window before ``now``; older
    positions would not count towards the estimate anyway.

    Two queries for any number of shipments: their attachments, then the
    readings of those devices over the window, ranges of the readings'
    (device, time) index (``device_id = ANY(...)``)."""
    attachments = DeviceAttachment.objects.filter(shipment__in=shipments).values_list(
        "shipment_id", "device_id", "attached_from", "attached_until"
    )
    periods_by_device = defaultdict(list)
    for shipment_id, device_id, start, end in attachments:
        periods_by_device[device_id].append((shipment_id, start, end))
    positions: dict[int, list[Position]] = defaultdict(list)
    readings = Reading.objects.filter(
        device_id__in=list(periods_by_device),
        ts__gte=now - SPEED_WINDOW,
        ts__lte=now,
        lat__isnull=False,
        lon__isnull=False,
    ).values_list("device_id", "ts", "lat", "lon")
    for device_id, ts, lat, lon in readings:
        for shipment_id, start, end in periods_by_device[device_id]:
            if start <= ts and (end is None or ts < end):
                positions[shipment_id].append(Position(at=ts, lat=lat, lon=lon))
    return positions


def shipments_with_eta(shipments: Iterable[Shipment], *, now: datetime) -> list[Shipment]:
    """The shipments, each with its ``eta`` set. Positions are read only for
    those where they can matter (not delivered, destination coordinates known)."""
    listed = list(shipments)
    positioned = [
        shipment
        for shipment in listed
        if shipment.delivered_at is None and _destination(shipment) is not None
    ]
    positions = shipments_positions(positioned, now=now) if positioned else {}
    for shipment in listed:
        shipment.eta = eta_estimate(
            positions=positions.get(shipment.pk, []),
            destination=_destination(shipment),
            deadline_at=shipment.deadline_at,
            now=now,
            delivered_at=shipment.delivered_at,
        )
    return listed


def shipment_eta(shipment: Shipment, *, now: datetime) -> Eta:
    """One shipment's ETA (the shipment page, the API's shipment detail)."""
    return shipments_with_eta([shipment], now=now)[0].eta
