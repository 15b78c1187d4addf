"""Factories for contracts: a shipment under contract watched by two signed
loggers, minute-by-minute readings ingested and sealed, anchored assessments."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from coldchain.anchoring import ASSESSMENT_KIND, assessment_claims, entry_instant
from coldchain.contracts import contract_activate
from coldchain.models import Assessment, ContractTemplate, Shipment
from coldchain.shipment_states import shipment_deliver, shipment_depart
from devices.ingest import SOURCE_HTTP, IncomingMessage, readings_ingest
from devices.models import Reading
from ledger.platform_entries import platform_entry_sign
from ledger.services import entry_append, log_seal
from tests.factories import DeviceWithKey, make_device
from tests.shipment_factories import make_shipment

DEPARTURE = datetime(2026, 1, 5, tzinfo=UTC)
DELIVERED = DEPARTURE + timedelta(hours=3)
# 45 minutes at 10.5 °C from minute 60: longer than the 30 min a single excursion may last.
BREACH = [5.0] * 60 + [10.5] * 45 + [5.0] * 75
TEMPLATE_TERMS = {
    "payment": {
        "amount": "10000",
        "currency": "EUR",
        "late_penalty_per_hour": "100",
        "late_penalty_max": "500",
        "partial_release_penalty": "250",
    },
    "insurance": {"policy": "POL-2026-17", "insured_value": "200000", "deductible": "5000"},
    "dispute_window_h": 48,
}


def make_template(**terms) -> ContractTemplate:
    return ContractTemplate.objects.create(
        name="pharma-standard",
        version=ContractTemplate.objects.count() + 1,
        terms=TEMPLATE_TERMS | terms,
    )


def make_contract_shipment(*, overrides: dict | None = None) -> tuple[Shipment, list]:
    """An active shipment under contract (template terms), in transit from
    ``DEPARTURE``, watched by two loggers; (shipment, devices)."""
    devices = [make_device(), make_device()]
    shipment = make_shipment(devices=[d.device for d in devices], departure_at=DEPARTURE)
    contract_activate(shipment, template=make_template(), overrides=overrides)
    shipment_depart(shipment, at=DEPARTURE)
    shipment.refresh_from_db()
    return shipment, devices


def make_delivered(
    temps: list[float], *, at: datetime = DELIVERED, overrides: dict | None = None
) -> tuple[Shipment, list]:
    """A shipment under contract with ``temps`` loaded (``load_readings``), delivered ``at``."""
    shipment, devices = make_contract_shipment(overrides=overrides)
    load_readings(devices, temps)
    shipment_deliver(shipment, at=at)
    shipment.refresh_from_db()
    return shipment, devices


def ingest_readings(
    devices: list[DeviceWithKey], temps: list[float], *, first_minute: int = 0
) -> None:
    """One reading a minute from every device, ``temps[i]`` at minute
    ``first_minute + i`` after departure, stored but waiting for the next checkpoint."""
    tokens = [
        device.signed(
            first_minute + minute + 1,
            ts=DEPARTURE + timedelta(minutes=first_minute + minute),
            temp_c=temp,
        )
        for minute, temp in enumerate(temps)
        for device in devices
    ]
    report = readings_ingest(
        messages=[IncomingMessage(token, timezone.now(), SOURCE_HTTP) for token in tokens]
    )
    assert report.accepted == len(tokens), report.rejected_by_reason


def load_readings(
    devices: list[DeviceWithKey], temps: list[float], *, first_minute: int = 0
) -> None:
    """The readings of ``ingest_readings``, sealed."""
    ingest_readings(devices, temps, first_minute=first_minute)
    log_seal()


def make_assessment(shipment: Shipment, minute: int, flag: str, models) -> Assessment:
    """An assessment at ``minute`` after departure, anchored as scoring anchors
    one and sealed, resting on the readings of the ten minutes before it."""
    at = DEPARTURE + timedelta(minutes=minute)
    indices = sorted(
        Reading.objects.filter(ts__gt=at - timedelta(minutes=10), ts__lte=at)
        .filter(ledger_entry__sealed__isnull=False)
        .values_list("ledger_entry__sealed__index", flat=True)
    )
    breach, soon = models
    assessment = Assessment(
        shipment=shipment,
        evaluated_at=at,
        breach_model=breach,
        breach_soon_model=soon,
        input_sha256=hashlib.sha256(f"{shipment.reference} {at}".encode()).hexdigest(),
        breach_prob=0.9 if flag == "breach" else 0.05,
        breach_soon_prob=0.8 if flag == "breach_soon" else 0.05,
        sensor_fault_prob=0.01,
        flag=flag,
        reading_indices=indices,
        created_at=entry_instant(),
    )
    claims = assessment_claims(
        assessment,
        shipment_reference=shipment.reference,
        breach_model=breach,
        breach_soon_model=soon,
    )
    assessment.ledger_entry = entry_append(
        data=platform_entry_sign(kind=ASSESSMENT_KIND, claims=claims, at=assessment.created_at),
        kind=ASSESSMENT_KIND,
    )
    assessment.save()
    log_seal()
    return assessment
