"""A shipment as a GS1 EPCIS 2.0 document (JSON-LD), with its sensor data.

Three ObjectEvents, in time order:

- ``departing`` at the departure time, disposition ``in_transit``;
- ``sensor_reporting`` (CBV 2.0) with one ``sensorElement`` per attached
  device: ``sensorMetadata`` names the device (``deviceID``) and the period,
  ``sensorReport`` holds one ``gs1:Temperature`` value in ``CEL`` per reading;
  a reading outside the product's labelled range carries
  ``exception: ALARM_CONDITION``;
- ``arriving`` at the delivery time, once delivered.

The platform has no GS1 keys for shipments, devices or places, so it names
them with HTTP URIs under a configurable base (EPCIS 2.0 accepts any URI);
origin, destination and product travel as extension fields in the ``cc:``
namespace declared in the document's context. Event IDs are name-based UUIDs,
so exporting the same data twice gives the same IDs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from urllib.parse import quote

from coldchain.models import Shipment

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
TEMPERATURE = "gs1:Temperature"
CELSIUS = "CEL"  # UN/CEFACT common code, as EPCIS 2.0 requires for uom
ALARM_CONDITION = "ALARM_CONDITION"


@dataclass(frozen=True)
class SensorSample:
    device_id: str
    ts: datetime
    temp_c: float


def epcis_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _uri(base_uri: str, collection: str, name: str) -> str:
    return f"{base_uri.rstrip('/')}/{collection}/{quote(name, safe='')}"


def _event(shipment_uri: str, step: str, at: datetime, **fields) -> dict:
    name = f"{shipment_uri}#{step}@{epcis_time(at)}"
    return {
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}",
        "eventTime": epcis_time(at),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [shipment_uri],
        "action": "OBSERVE",
        "bizStep": step,
        **fields,
    }


def _sensor_element(
    device_uri: str, samples: list[SensorSample], low_c: float, high_c: float
) -> dict:
    reports = []
    for sample in samples:
        report = {
            "type": TEMPERATURE,
            "time": epcis_time(sample.ts),
            "value": sample.temp_c,
            "uom": CELSIUS,
        }
        if not low_c <= sample.temp_c <= high_c:
            report["exception"] = ALARM_CONDITION
        reports.append(report)
    return {
        "sensorMetadata": {
            "deviceID": device_uri,
            "startTime": epcis_time(samples[0].ts),
            "endTime": epcis_time(samples[-1].ts),
        },
        "sensorReport": reports,
    }


def epcis_document(
    shipment: Shipment, samples: Iterable[SensorSample], *, base_uri: str, created_at: datetime
) -> dict:
    """The EPCIS 2.0 document of ``shipment``; ``samples`` sorted by device, then time."""
    shipment_uri = _uri(base_uri, "shipments", shipment.reference)
    product = shipment.product
    events = [
        _event(
            shipment_uri,
            "departing",
            shipment.departure_at,
            disposition="in_transit",
            **{
                "cc:origin": shipment.origin,
                "cc:destination": shipment.destination,
                "cc:product": product.code,
            },
        )
    ]
    by_device = {
        device_id: list(group)
        for device_id, group in groupby(samples, key=lambda sample: sample.device_id)
    }
    if by_device:
        elements = [
            _sensor_element(
                _uri(base_uri, "devices", device_id),
                device_samples,
                product.temp_min_c,
                product.temp_max_c,
            )
            for device_id, device_samples in by_device.items()
        ]
        last = max(device_samples[-1].ts for device_samples in by_device.values())
        events.append(_event(shipment_uri, "sensor_reporting", last, sensorElementList=elements))
    if shipment.delivered_at is not None:
        events.append(_event(shipment_uri, "arriving", shipment.delivered_at))
    return {
        "@context": [EPCIS_CONTEXT, {"cc": f"{base_uri.rstrip('/')}/epcis/vocab#"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": epcis_time(created_at),
        "epcisBody": {"eventList": events},
    }
