"""One simulated trip, signed by its own devices, ready to run through the platform.

The simulator's offline mode plays a truck with a reefer controller and two
independent loggers over one trip, with the faults a scenario asks for, and
signs every reading with keys derived from the seed. ``SimulatedTrip``
registers those devices, creates the shipment for the trip (its product's
range, its route, its departure and arrival) and hands out the signed
messages in time order, so scenario tests drive ingest, the ledger, scoring
and contracts with the bytes a truck would have sent.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from coldchain.models import DeviceAttachment, Shipment
from devices.ingest import IncomingMessage, readings_ingest
from devices.services import device_register
from devices.simulator.faults import parse_fault_spec
from devices.simulator.fleet import FleetConfig
from devices.simulator.offline import generate
from ledger.jws import b64url_decode
from tests.shipment_factories import make_product, make_shipment

TRUCK = "truck-001"
START = datetime(2026, 7, 6, 6, 0, tzinfo=UTC)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class SimulatedTrip:
    directory: Path
    trip: dict[str, str]
    readings: list[dict[str, str]]
    faults: list[dict[str, str]]

    @classmethod
    def generate(
        cls,
        directory: Path,
        *,
        faults: tuple[str, ...] = (),
        hours: float = 6.0,
        product: str = "vaccines",
        seed: int = 11,
    ) -> SimulatedTrip:
        """Simulate one trip of ``hours``; ``faults`` in the simulator's ``--fault`` syntax."""
        config = FleetConfig(
            start=START.timestamp(),
            trucks=1,
            loggers=2,
            seed=seed,
            products=(product,),
            trip_hours=(hours, hours),
            faults=tuple(parse_fault_spec(text) for text in faults),
        )
        generate(config, directory, trips=1, sign=True)
        trips = _rows(directory / "trips.csv")
        readings = sorted(
            _rows(directory / "readings.csv"), key=lambda row: (row["t"], row["device"])
        )
        return cls(directory, trips[0], readings, _rows(directory / "faults.csv"))

    @property
    def departure(self) -> datetime:
        return _instant(self.trip["start"])

    @property
    def arrival(self) -> datetime:
        return _instant(self.trip["end"])

    def register_devices(self) -> list[str]:
        ids = []
        for row in _rows(self.directory / "devices.csv"):
            device_register(
                device_id=row["device"],
                public_key=b64url_decode(row["public_key"].encode("ascii")),
                kind=row["kind"],
                vehicle=row["truck"],
            )
            ids.append(row["device"])
        return ids

    def create_shipment(self, **overrides) -> Shipment:
        """Registers the trip's devices and creates its shipment, with a deadline an
        hour after the planned arrival."""
        device_ids = self.register_devices()
        low, high = float(self.trip["temp_min"]), float(self.trip["temp_max"])
        product = make_product(
            name=self.trip["product"],
            temp_min_c=low,
            temp_max_c=high,
            excursion_min_c=low - 2.0,
            excursion_max_c=high + 4.0,
        )
        shipment = make_shipment(
            product=product,
            departure_at=self.departure,
            hours=(self.arrival - self.departure).total_seconds() / 3600 + 1,
            origin=self.trip["origin"],
            destination=self.trip["destination"],
            vehicle=TRUCK,
            **overrides,
        )
        for device_id in device_ids:
            DeviceAttachment.objects.create(
                shipment=shipment, device_id=device_id, attached_from=self.departure
            )
        return shipment

    def messages(self, *, until: datetime | None = None) -> list[bytes]:
        """The signed messages the devices sent, in time order (up to ``until``)."""
        return [
            row["jws"].encode("ascii")
            for row in self.readings
            if row["jws"] and (until is None or _instant(row["t"]) <= until)
        ]

    def ingest(self, *, until: datetime | None = None, batch: int = 500) -> None:
        """Stores the messages through the ingest service, in batches as the bridge makes them."""
        messages = self.messages(until=until)
        for first in range(0, len(messages), batch):
            received = datetime.now(UTC)
            readings_ingest(
                messages=[
                    IncomingMessage(payload=payload, received_at=received, source="mqtt")
                    for payload in messages[first : first + batch]
                ]
            )

    def at(self, minutes: float) -> datetime:
        return self.departure + timedelta(minutes=minutes)
