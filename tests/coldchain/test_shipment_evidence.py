"""A shipment's evidence (``export_evidence --select shipment=REFERENCE`` and the
admin's export): every sealed entry recorded about it, and nothing else."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from coldchain.evidence import shipment_evidence_indices
from coldchain.models import DeviceAttachment
from devices.models import Reading
from ledger.log_key import log_vkey
from ledger.verify import verify_bundle
from tests.contract_factories import DEPARTURE, load_readings, make_contract_shipment
from tests.factories import make_device

pytestmark = pytest.mark.django_db


def sealed_reading_indices(**filters) -> set[int]:
    return set(
        Reading.objects.filter(ledger_entry__sealed__isnull=False, **filters).values_list(
            "ledger_entry__sealed__index", flat=True
        )
    )


@pytest.fixture
def watched():
    """A shipment under contract, in transit, with an hour of readings from both loggers."""
    shipment, devices = make_contract_shipment()
    load_readings(devices, [5.0] * 60)
    return shipment, devices


def test_the_selection_holds_the_contract_transitions_and_readings(watched):
    shipment, devices = watched
    indices = set(shipment_evidence_indices(shipment))
    assert shipment.contract.ledger_entry.index in indices
    assert {t.ledger_entry.index for t in shipment.transitions.all()} <= indices
    assert sealed_reading_indices(device__in=[d.device for d in devices]) <= indices


def test_readings_outside_the_attachment_period_are_left_out(watched):
    shipment, devices = watched
    DeviceAttachment.objects.filter(device=devices[0].device).update(
        attached_until=DEPARTURE + timedelta(minutes=30)
    )
    indices = set(shipment_evidence_indices(shipment))
    later = sealed_reading_indices(
        device=devices[0].device, ts__gte=DEPARTURE + timedelta(minutes=30)
    )
    assert later
    assert not later & indices


def test_readings_of_devices_never_attached_are_left_out(watched):
    shipment, _ = watched
    stranger = make_device()
    load_readings([stranger], [5.0] * 5)
    assert not sealed_reading_indices(device=stranger.device) & set(
        shipment_evidence_indices(shipment)
    )


def test_since_and_until_narrow_the_readings(watched):
    shipment, _ = watched
    since, until = DEPARTURE + timedelta(minutes=10), DEPARTURE + timedelta(minutes=20)
    indices = set(shipment_evidence_indices(shipment, since=since, until=until))
    assert indices == sealed_reading_indices(ts__gte=since, ts__lt=until)


def test_the_exported_bundle_verifies_offline(watched, tmp_path):
    shipment, _ = watched
    path = tmp_path / "shipment.json"
    call_command("export_evidence", "--select", f"shipment={shipment.reference}", "-o", path)
    bundle = json.loads(path.read_text(encoding="utf-8"))
    assert verify_bundle(bundle, log_vkey=log_vkey()).verified
    subjects = {e["index"] for e in bundle["entries"] if e["role"] == "subject"}
    assert subjects == set(shipment_evidence_indices(shipment))


def test_an_unknown_shipment_is_named():
    with pytest.raises(CommandError, match="no shipment SHP-NOPE"):
        call_command("export_evidence", "--select", "shipment=SHP-NOPE")
