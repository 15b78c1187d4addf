"""Factories for the shipment domain: parties with users, products, shipments."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from coldchain.models import DeviceAttachment, Membership, Party, Product, Shipment
from devices.models import Device
from tests.factories import drive_north, make_device

_numbers = itertools.count(1)
PASSWORD = "correct horse battery staple"


def make_party(kind: str = Party.Kind.CARRIER, *, name: str | None = None) -> Party:
    number = next(_numbers)
    return Party.objects.create(
        slug=f"{kind}-{number}", name=name or f"{kind.title()} {number}", kind=kind
    )


def make_user(
    party: Party | None = None, *, role: str = Membership.Role.MANAGER, username: str | None = None
):
    """A user who signs in with ``PASSWORD``, member of ``party`` (none: no party)."""
    user = get_user_model().objects.create_user(
        username=username or f"user{next(_numbers)}",
        password=PASSWORD,
        first_name="Alex",
        last_name=f"Tester {next(_numbers)}",
    )
    if party is not None:
        Membership.objects.create(user=user, party=party, role=role)
    return user


def make_product(**overrides) -> Product:
    values = {
        "code": f"vaccine-{next(_numbers)}",
        "name": "Vaccine, 2 to 8 °C",
        "temp_min_c": 2.0,
        "temp_max_c": 8.0,
        "excursion_min_c": 0.0,
        "excursion_max_c": 12.0,
        "max_single_excursion_min": 30.0,
        "max_cumulative_excursion_min": 60.0,
        "mkt_limit_c": 8.0,
    }
    return Product.objects.create(**(values | overrides))


def make_shipment(
    *,
    devices: list[Device] = (),
    departure_at: datetime | None = None,
    hours: float = 24.0,
    **overrides,
) -> Shipment:
    """A shipment with its own five parties, watched by ``devices`` from departure."""
    departure = departure_at or datetime(2026, 1, 5, tzinfo=UTC)
    values = {
        "reference": f"SHP-{next(_numbers):05d}",
        "product": overrides.pop("product", None) or make_product(),
        "shipper": make_party(Party.Kind.SHIPPER),
        "carrier": make_party(Party.Kind.CARRIER),
        "receiver": make_party(Party.Kind.RECEIVER),
        "insurer": make_party(Party.Kind.INSURER),
        "bank": make_party(Party.Kind.BANK),
        "origin": "Rotterdam",
        "destination": "Milan",
        "departure_at": departure,
        "deadline_at": departure + timedelta(hours=hours),
    }
    shipment = Shipment.objects.create(**(values | overrides))
    for device in devices:
        DeviceAttachment.objects.create(shipment=shipment, device=device, attached_from=departure)
    return shipment


MILAN = {"destination_lat": 45.4642, "destination_lon": 9.19}


def driving_shipment(carrier: Party, *, deadline_in: timedelta, end_lat: float = 44.5) -> Shipment:
    """A truck an hour into driving north towards Milan at 80 km/h, its last fix now."""
    now = timezone.now()
    logger = make_device()
    shipment = make_shipment(
        carrier=carrier,
        devices=[logger.device],
        departure_at=now - timedelta(hours=3),
        hours=3 + deadline_in.total_seconds() / 3600,
        **MILAN,
    )
    drive_north(logger, until=now, speed_kmh=80, end_lat=end_lat)
    return shipment
