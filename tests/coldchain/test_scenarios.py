"""Scenarios: simulated trips through the real pipeline, from signed readings to money.

Each test plays one trip of the simulator's offline mode (a truck with its
reefer controller and two independent loggers, signed with the devices' own
keys) through the platform as it runs: the ingest service verifies and stores
the readings in batches, the sequencer seals them into the log, the
evaluation scores the shipment with a model trained on simulated fleets, and
the contract engine acts on the result, hour by hour as the trip goes. Only
the clock is the test's: the trip happened in the past, so each step is
evaluated "as of" the simulated hour.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from analytics.training import models_register
from coldchain.claims import claims_evidence_attach
from coldchain.contracts import contract_activate, contract_evaluate, contract_facts_recheck
from coldchain.evaluation import shipment_evaluate
from coldchain.models import Alert, Assessment, ContractAction, Membership, WebhookDelivery
from coldchain.release import release_sign
from coldchain.report_data import report_data
from coldchain.shipment_states import shipment_deliver, shipment_depart
from coldchain.webhooks.deliveries import webhook_deliver
from coldchain.webhooks.endpoints import webhook_endpoint_create
from coldchain.webhooks.signing import webhook_signature_verify
from devices.models import Reading
from ledger.log_key import log_vkey
from ledger.services import checkpoint_latest, log_seal
from tests.coldchain.simulated_trip import TRUCK, SimulatedTrip
from tests.contract_factories import make_template
from tests.shipment_factories import PASSWORD, make_user
from tests.support.webhook_receiver import WebhookReceiver

REPO = Path(__file__).resolve().parents[2]
DISPUTE_WINDOW = timedelta(hours=48)  # the template's
REEFER_FAILURE = f"reefer_failure:{TRUCK}@1h+8h"  # cargo leaves 2-8 °C about 6 h in
LONE_SPIKE = f"probe_spike:{TRUCK}-logger@2h+5m=25"
DOOR_TRANSIENT = f"door_left_open:{TRUCK}@3h+15m"


@pytest.fixture(autouse=True)
def active_models(db, settings, tmp_path, trained):
    settings.ANALYTICS_MODEL_DIR = tmp_path / "models"
    return models_register(trained, metrics={"breach": {}, "breach_soon": {}}, activate=True)


class Trip:
    """A simulated trip under contract, driven through the platform an hour at a time."""

    def __init__(self, directory: Path, *, faults: tuple[str, ...] = (), hours: float = 10.0):
        self.simulated = SimulatedTrip.generate(directory, faults=faults, hours=hours)
        self.shipment = self.simulated.create_shipment()
        contract_activate(self.shipment, template=make_template())
        shipment_depart(self.shipment, at=self.simulated.departure)
        self.actions: list[ContractAction] = []

    def drive(self) -> None:
        """Every hour of the trip: ingest what the devices sent, seal, score, seal, evaluate."""
        hours = int((self.simulated.arrival - self.simulated.departure) / timedelta(hours=1))
        for hour in range(hours):
            self.step(self.simulated.departure + timedelta(hours=hour))

    def step(self, since) -> None:
        until = since + timedelta(hours=1)
        self.simulated.ingest(
            since=None if since == self.simulated.departure else since, until=until
        )
        log_seal()
        while shipment_evaluate(self.shipment).more:
            pass
        log_seal()
        self.actions += contract_evaluate(self.shipment, now=until)

    def deliver(self) -> None:
        shipment_deliver(self.shipment, at=self.simulated.arrival)
        self.actions += contract_evaluate(self.shipment, now=self.simulated.arrival)

    def settle(self) -> None:
        """Evaluate now, long after the trip's dispute window ended, and seal the actions."""
        assert timezone.now() > self.simulated.arrival + DISPUTE_WINDOW
        self.actions += contract_evaluate(self.shipment)
        log_seal()

    def kinds(self) -> list[str]:
        return [action.kind for action in self.actions]

    def flags(self) -> set[str]:
        return set(self.shipment.assessments.values_list("flag", flat=True))


def verified_offline(bundle: dict, directory: Path) -> subprocess.CompletedProcess:
    """``python -m ledger.verify`` on the bundle, in a process without Django or a database."""
    path = directory / "claim-evidence.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE"))}
    return subprocess.run(
        [sys.executable, "-m", "ledger.verify", str(path), "--log-vkey", log_vkey()],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_clean_delivery_is_paid_once_after_the_dispute_window(tmp_path):
    trip = Trip(tmp_path)
    trip.drive()
    trip.deliver()
    assert trip.kinds() == []
    assert "breach" not in trip.flags()

    trip.settle()
    trip.settle()
    (payment,) = trip.actions
    assert payment.kind == ContractAction.Kind.PAYMENT_RELEASED
    assert payment.amount == 10_000
    assert payment.payee == trip.shipment.carrier


def test_a_reefer_failure_warns_the_carrier_then_files_a_claim_that_verifies_offline(tmp_path):
    trip = Trip(tmp_path, faults=(REEFER_FAILURE,))
    trip.drive()
    warning, claim = (action for action in trip.actions if not action.kind.startswith("payment"))
    assert (warning.kind, claim.kind) == ("breach_warning", "insurance_claim")
    assert warning.at < claim.at
    assert warning.model_versions.filter(task="breach_soon").exists()
    assert Alert.objects.filter(shipment=trip.shipment, kind=Alert.Kind.BREACH).exists()

    log_seal()
    assert claims_evidence_attach() == 1
    claim.claim.refresh_from_db()
    result = verified_offline(claim.claim.evidence, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_lone_probe_spike_is_flagged_as_a_sensor_fault_and_claims_nothing(tmp_path):
    trip = Trip(tmp_path, faults=(LONE_SPIKE,))
    trip.drive()
    trip.deliver()
    trip.settle()
    flagged = Assessment.objects.filter(
        shipment=trip.shipment, flagged_devices__contains=[f"{TRUCK}-logger"]
    )
    assert flagged.exists()
    assert "breach" not in trip.flags()
    assert trip.kinds() == [ContractAction.Kind.PAYMENT_RELEASED]


def test_a_door_open_transient_within_allowance_claims_nothing(tmp_path):
    trip = Trip(tmp_path, faults=(DOOR_TRANSIENT,))
    trip.drive()
    trip.deliver()
    trip.settle()
    assert trip.kinds() == [ContractAction.Kind.PAYMENT_RELEASED]


def test_the_same_events_delivered_twice_give_one_claim_and_one_payment(tmp_path):
    trip = Trip(tmp_path, faults=(REEFER_FAILURE,))
    trip.drive()
    trip.drive()  # every batch again, as a bridge redelivers after a crash
    trip.deliver()
    receiver_manager = make_user(trip.shipment.receiver, role=Membership.Role.MANAGER)
    release_sign(
        shipment=trip.shipment,
        user=receiver_manager,
        password=PASSWORD,
        decision="partially_released",
        fraction="0.5",
        reason="Half the pallets were above 8 °C for longer than allowed",
    )
    trip.settle()
    trip.settle()

    assert Reading.objects.count() == len(trip.simulated.messages())
    kinds = ContractAction.objects.filter(shipment=trip.shipment).values_list("kind", flat=True)
    assert sorted(kinds) == ["breach_warning", "insurance_claim", "payment_released"]


def test_a_webhook_receiver_down_for_a_while_gets_the_claim_later_signed(
    tmp_path, django_capture_on_commit_callbacks
):
    receiver = WebhookReceiver()
    trip = Trip(tmp_path, faults=(REEFER_FAILURE,))
    endpoint, secret = webhook_endpoint_create(
        party=trip.shipment.insurer, url=receiver.url, event_types=["contract.claim_filed"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        trip.drive()
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    try:
        webhook_deliver(delivery.pk)  # the insurer's server is down
        delivery.refresh_from_db()
        assert delivery.status == WebhookDelivery.Status.FAILED

        receiver.start()
        webhook_deliver(delivery.pk, now=delivery.next_attempt_at)
    finally:
        receiver.stop()
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    (request,) = receiver.requests
    payload = json.loads(request.body)
    assert payload["type"] == "contract.claim_filed"
    assert webhook_signature_verify(
        secret,
        request.header("Coldchain-Webhook-Timestamp"),
        request.body,
        request.header("Coldchain-Webhook-Signature"),
        now=delivery.delivered_at.timestamp(),
    )


def test_a_tampered_reading_fails_verify_ledger_and_the_claims_facts(tmp_path):
    trip = Trip(tmp_path, faults=(REEFER_FAILURE,))
    trip.drive()
    claim = ContractAction.objects.get(kind=ContractAction.Kind.INSURANCE_CLAIM)
    assert contract_facts_recheck(claim) == []

    warmest = Reading.objects.filter(ledger_entry__sealed__index__in=claim.reading_indices)
    Reading.objects.filter(pk__in=warmest.values("pk")).update(temp_c=5.0)

    assert contract_facts_recheck(claim)
    with pytest.raises(CommandError, match="temp_c"):
        call_command("verify_ledger")


def test_the_report_of_a_breached_delivery_rests_on_its_claim_and_a_checkpoint(tmp_path):
    trip = Trip(tmp_path, faults=(REEFER_FAILURE,))
    trip.drive()
    trip.deliver()
    log_seal()
    data = report_data(trip.shipment)
    assert [row.kind for row in data.contract_actions] == [
        "Breach warning to the carrier",
        "Insurance claim",
    ]
    assert data.summary.longest_minutes > 30  # the template's single-excursion allowance
    assert data.readings_pending == 0
    assert data.checkpoint.size == checkpoint_latest().size

    out = tmp_path / "report.pdf"
    call_command("shipment_report", trip.shipment.reference, "--out", str(out))
    assert out.read_bytes().startswith(b"%PDF")


def test_the_report_command_names_an_unknown_shipment(tmp_path):
    with pytest.raises(CommandError, match="no shipment 'NOPE'"):
        call_command("shipment_report", "NOPE", "--out", str(tmp_path / "r.pdf"))
