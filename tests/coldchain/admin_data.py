"""One shipment history touching every table the admin console shows: parties,
a contract, signed readings, an assessment, an alert and its acknowledgement,
a breach warning and an insurance claim, a signed release, webhooks, an
ingest rejection and a waiting batch, the log with checkpoints and a witness."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone
from rest_framework.authtoken.models import Token

from analytics.models import ModelVersion
from coldchain.alerts import alert_acknowledge, alerts_follow
from coldchain.auditors import auditors_group_sync
from coldchain.contracts import contract_evaluate
from coldchain.evaluation_queue import shipments_mark_dirty
from coldchain.models import Alert, InsuranceClaim, Membership, Party, Shipment
from coldchain.release import release_sign
from coldchain.shipment_states import shipment_deliver
from coldchain.webhooks.deliveries import webhook_deliver, webhook_events_record
from coldchain.webhooks.endpoints import webhook_endpoint_create
from devices.inbox import inbox_batch_add
from devices.ingest import SOURCE_HTTP, IncomingMessage, readings_ingest
from ledger.cosignature import cosign, witness_vkey_from_private_key
from ledger.models import Checkpoint, Cosignature, WitnessState
from ledger.note import split_note
from ledger.services import log_seal
from tests.analytics.boosters import register_both
from tests.contract_factories import (
    DEPARTURE,
    load_readings,
    make_assessment,
    make_contract_shipment,
)
from tests.shipment_factories import PASSWORD, make_party, make_user

# 45 minutes at 10.5 °C from minute 60: longer than a single excursion may last.
BREACH = [5.0] * 60 + [10.5] * 45 + [5.0] * 75
# A port nothing listens on: the webhook attempt is logged as failed.
CLOSED_PORT_URL = "http://127.0.0.1:9/hook"
WITNESS = "witness.example"


@dataclass
class AdminData:
    shipment: Shipment  # under contract, with a claim
    released: Shipment  # delivered and signed for
    models: tuple[ModelVersion, ModelVersion]
    claim: InsuranceClaim
    staff: object  # a staff user


def _witnessed(checkpoint: Checkpoint) -> None:
    """A witness's real cosignature on ``checkpoint``, stored as the witness client stores it."""
    witness = Ed25519PrivateKey.generate()
    WitnessState.objects.create(
        vkey=witness_vkey_from_private_key(WITNESS, witness),
        name=WITNESS,
        url=CLOSED_PORT_URL,
        size=checkpoint.size,
    )
    text, _ = split_note(checkpoint.note)
    Cosignature.objects.create(
        checkpoint=checkpoint,
        witness=WITNESS,
        signature_line=cosign(text, witness, WITNESS, int(time.time())),
    )


def admin_data_build() -> AdminData:
    models = register_both()
    staff = make_user(username="ops")
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    Token.objects.create(user=staff)  # an integration's API token

    shipment, devices = make_contract_shipment()
    load_readings(devices, BREACH)
    # Ingest marks it once its transaction commits; this one is rolled back after the tests.
    shipments_mark_dirty({d.id: (DEPARTURE, DEPARTURE + timedelta(minutes=179)) for d in devices})
    breach = make_assessment(shipment, 100, "breach", models)
    alerts_follow(shipment.pk, [breach])
    (claim_action,) = contract_evaluate(shipment, now=DEPARTURE + timedelta(minutes=180))

    released, released_devices = make_contract_shipment()
    load_readings(released_devices, [5.0] * 30)
    shipment_deliver(released, at=DEPARTURE + timedelta(hours=1))
    receiver = make_user(released.receiver, role=Membership.Role.MANAGER)
    release_sign(shipment=released, user=receiver, password=PASSWORD, decision="released")

    readings_ingest(messages=[IncomingMessage(b"not a jws", timezone.now(), SOURCE_HTTP)])
    inbox_batch_add(messages=[IncomingMessage(b"waiting", timezone.now(), SOURCE_HTTP)])
    webhook_endpoint_create(party=shipment.carrier, url=CLOSED_PORT_URL, event_types=["*"])
    (delivery,) = webhook_events_record(
        shipment=shipment,
        event_type="alert.opened",
        payload={"alert": 1},
        key="admin-data",
        enqueue=lambda delivery_id: None,
    )
    webhook_deliver(delivery.pk)

    report = log_seal()
    _witnessed(report.checkpoint)
    make_party(Party.Kind.AUDITOR)
    auditors_group_sync()
    # Appended after the last seal: one entry stays pending.
    alert_acknowledge(Alert.objects.get(shipment=shipment), staff, "cooling checked")
    claim = claim_action.claim
    return AdminData(shipment, released, models, claim, staff)
