"""A refrigerated trip for tests: a shipment watched by three devices, fed real signed readings.

Two independent loggers in the cargo and the reefer controller's air probe
(``*-reefer``), as the feature function expects; their readings are signed
with the devices' keys and stored through the real ingest path.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from coldchain.models import Shipment
from devices.ingest import SOURCE_HTTP, IncomingMessage, IngestReport, readings_ingest
from tests.factories import DeviceWithKey, make_device
from tests.shipment_factories import make_shipment

DEPARTURE = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
_trips = itertools.count(1)

# Temperature of one device at a minute of the trip, °C.
Profile = Callable[[str, int], float]


def steady(temp_c: float = 5.0) -> Profile:
    return lambda device, minute: temp_c


@dataclass
class Trip:
    shipment: Shipment
    devices: list[DeviceWithKey]
    next_seq: dict[str, int] = field(default_factory=dict)

    @property
    def device_ids(self) -> list[str]:
        return [device.id for device in self.devices]

    def signed_readings(self, minutes: range, profile: Profile) -> list[bytes]:
        """One signed reading per device per minute of ``minutes`` (from departure)."""
        tokens = []
        for minute in minutes:
            for device in self.devices:
                seq = self.next_seq.get(device.id, 1)
                self.next_seq[device.id] = seq + 1
                tokens.append(
                    device.signed(
                        seq,
                        ts=DEPARTURE + timedelta(minutes=minute, seconds=5),
                        temp_c=round(profile(device.id, minute), 3),
                    )
                )
        return tokens

    def ingest(self, minutes: range, profile: Profile) -> IngestReport:
        """Store the readings of ``minutes`` through the ingest path, as one batch."""
        return ingest_tokens(self.signed_readings(minutes, profile))


def ingest_tokens(tokens: list[bytes]) -> IngestReport:
    report = readings_ingest(
        messages=[IncomingMessage(token, timezone.now(), SOURCE_HTTP) for token in tokens]
    )
    assert report.accepted == len(tokens), report.rejected_by_reason
    return report


def make_trip(**shipment_overrides) -> Trip:
    """A 2 to 8 °C shipment with loggers ``…-logger``, ``…-logger-2`` and ``…-reefer``."""
    truck = f"truck-{next(_trips):03d}"
    devices = [
        make_device(device_id=f"{truck}-logger", vehicle=truck),
        make_device(device_id=f"{truck}-logger-2", vehicle=truck),
        make_device(device_id=f"{truck}-reefer", vehicle=truck, kind="reefer_controller"),
    ]
    shipment = make_shipment(
        devices=[device.device for device in devices],
        departure_at=DEPARTURE,
        vehicle=truck,
        **shipment_overrides,
    )
    return Trip(shipment, devices)
