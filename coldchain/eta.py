"""Estimated time of arrival from a truck's recent positions. Pure: no Django.

The estimate is the great-circle distance from the latest known position to
the destination, divided by the recent average ground speed. Without a recent
position or destination coordinates, the planned arrival (the deadline) stands,
labelled as such; a delivered shipment's arrival is its delivery time.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)
SPEED_WINDOW = timedelta(hours=2)
# Below this the truck counts as stationary (parked, loading, at a border):
# its recent average says nothing about how fast it will cover what is left.
STATIONARY_KMH = 5.0
# A loaded reefer truck's typical average over a long haul, breaks included.
NOMINAL_KMH = 65.0
MIN_POSITIONS = 2

EtaBasis = Literal["position", "planned", "delivered"]


@dataclass(frozen=True)
class Position:
    at: datetime
    lat: float
    lon: float


@dataclass(frozen=True)
class Eta:
    at: datetime
    basis: EtaBasis
    remaining_km: float | None = None
    speed_kmh: float | None = None


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two WGS 84 points on a spherical Earth, in km."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def ground_speed_kmh(positions: Sequence[Position]) -> float:
    """Average ground speed over the ``SPEED_WINDOW`` before the latest position:
    the path length along the positions over the time they span. Too few
    positions, or a stationary truck, give ``NOMINAL_KMH``."""
    ordered = sorted(positions, key=lambda position: position.at)
    if ordered:
        since = ordered[-1].at - SPEED_WINDOW
        ordered = [position for position in ordered if position.at >= since]
    if len(ordered) < MIN_POSITIONS:
        return NOMINAL_KMH
    hours = (ordered[-1].at - ordered[0].at).total_seconds() / 3600
    path_km = sum(
        haversine_km(before.lat, before.lon, after.lat, after.lon)
        for before, after in itertools.pairwise(ordered)
    )
    if hours <= 0 or path_km / hours < STATIONARY_KMH:
        return NOMINAL_KMH
    return path_km / hours


def eta_estimate(
    *,
    positions: Sequence[Position],
    destination: tuple[float, float] | None,
    deadline_at: datetime,
    now: datetime,
    delivered_at: datetime | None = None,
) -> Eta:
    """The arrival time and its basis; a position-based ETA is never earlier than ``now``."""
    if delivered_at is not None:
        return Eta(at=delivered_at, basis="delivered")
    if destination is None or not positions:
        return Eta(at=deadline_at, basis="planned")
    latest = max(positions, key=lambda position: position.at)
    remaining_km = haversine_km(latest.lat, latest.lon, *destination)
    speed_kmh = ground_speed_kmh(positions)
    # Travel counts from the latest fix: time since then is time already driven.
    arrival = latest.at + timedelta(hours=remaining_km / speed_kmh)
    return Eta(
        at=max(arrival, now), basis="position", remaining_km=remaining_km, speed_kmh=speed_kmh
    )
