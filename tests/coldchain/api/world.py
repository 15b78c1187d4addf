"""Two shipments with separate parties, devices, readings, assessments and alerts.

Shipment A and shipment B share nothing, so every party of A must see A's
rows and never B's, and the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from analytics.models import ModelVersion
from coldchain.models import Alert, AlertNote, Assessment, Shipment
from devices.ingest import SOURCE_HTTP, IncomingMessage, readings_ingest
from ledger.services import entry_append
from tests.factories import DeviceWithKey, make_device
from tests.shipment_factories import make_shipment, make_user

ROLES = ("shipper", "carrier", "receiver", "insurer", "bank")


def store_readings(device: DeviceWithKey, seqs: range, temp_c: float = 4.5) -> None:
    tokens = [device.signed(seq, temp_c=temp_c) for seq in seqs]
    readings_ingest(messages=[IncomingMessage(t, timezone.now(), SOURCE_HTTP) for t in tokens])


def make_assessment(shipment: Shipment, models: tuple[ModelVersion, ModelVersion], **fields):
    values = {
        "evaluated_at": shipment.departure_at + timedelta(minutes=30),
        "breach_model": models[0],
        "breach_soon_model": models[1],
        "input_sha256": "0" * 64,
        "breach_prob": 0.9,
        "breach_soon_prob": 0.9,
        "sensor_fault_prob": 0.01,
        "flag": Assessment.Flag.BREACH,
        "ledger_entry": entry_append(data=f"assessment {shipment}".encode(), kind="assessment"),
    }
    return Assessment.objects.create(shipment=shipment, **(values | fields))


def make_alert(assessment: Assessment, author: User) -> Alert:
    alert = Alert.objects.create(
        shipment=assessment.shipment,
        kind=Alert.Kind.BREACH,
        opened_at=assessment.evaluated_at,
        opened_by=assessment,
        last_assessment=assessment,
    )
    AlertNote.objects.create(
        alert=alert,
        kind=AlertNote.Kind.COMMENT,
        author=author,
        text="door left open at the depot",
        at=assessment.evaluated_at,
        ledger_entry=entry_append(data=f"note on {alert.pk}".encode(), kind="alert_note"),
    )
    return alert


@dataclass
class Side:
    """One shipment and everything hanging off it."""

    shipment: Shipment
    device: DeviceWithKey
    assessment: Assessment
    alert: Alert
    users: dict[str, User] = field(default_factory=dict)


def make_side(models: tuple[ModelVersion, ModelVersion], vehicle: str) -> Side:
    device = make_device(vehicle=vehicle)
    shipment = make_shipment(devices=[device.device], vehicle=vehicle)
    store_readings(device, range(1, 6))
    users = {role: make_user(getattr(shipment, role)) for role in ROLES}
    assessment = make_assessment(shipment, models)
    alert = make_alert(assessment, users["carrier"])
    return Side(shipment, device, assessment, alert, users)


@dataclass
class World:
    a: Side
    b: Side
    auditor: User
    staff: User
    partyless: User
