"""The admin console on real PostgreSQL: every registered table lists and opens
with data present, evidence refuses every change (superusers included), each
action does its work through the service, auditors see everything and change nothing."""

from __future__ import annotations

import json

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import call_command
from django.urls import reverse

from analytics.models import ModelActivation, ModelVersion
from coldchain.alerts import AlertPermissionError, alert_acknowledge
from coldchain.auditors import AUDITORS_GROUP
from coldchain.models import (
    Alert,
    AlertNote,
    Assessment,
    Contract,
    ContractAction,
    ContractTemplate,
    InsuranceClaim,
    Party,
    ReleaseSignature,
    Shipment,
    ShipmentDirty,
    ShipmentTransition,
    WebhookAttempt,
    WebhookDelivery,
)
from devices.models import Device, DeviceKey, IngestBatch, Reading, Rejection
from ledger.log_key import log_vkey
from ledger.models import (
    Checkpoint,
    Cosignature,
    Entry,
    LogIndex,
    LogState,
    PendingEntry,
    TreeChunk,
    WitnessState,
)
from ledger.verify import verify_bundle
from tests.coldchain.admin_data import admin_data_build
from tests.contract_factories import load_readings, make_contract_shipment
from tests.factories import make_device
from tests.shipment_factories import make_party, make_shipment, make_user
from tests.support.module_data import module_transaction

REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)
EVIDENCE = [
    Entry, PendingEntry, LogIndex, TreeChunk, LogState, Checkpoint, Cosignature, WitnessState,
    Device, DeviceKey, Reading, Rejection, IngestBatch, ModelVersion, ModelActivation,
    Assessment, Alert, AlertNote, ShipmentDirty, Contract, ShipmentTransition, ContractAction,
    InsuranceClaim, ReleaseSignature, WebhookDelivery, WebhookAttempt,
]  # fmt: skip


@pytest.fixture(scope="module")
def data(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once for the module, rolled back after it; each test runs in a savepoint."""
    with module_transaction(django_db_blocker, ANALYTICS_MODEL_DIR=tmp_path_factory.mktemp("m")):
        yield admin_data_build()


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def act(client, model, action: str, objects, *, follow: bool = False, **fields):
    return client.post(
        url(model, "changelist"),
        {"action": action, ACTION_CHECKBOX_NAME: [o.pk for o in objects], **fields},
        follow=follow,
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_every_table_lists_with_data_present(data, admin_client, model):
    assert model.objects.exists(), "the admin data leaves this table empty"
    response = admin_client.get(url(model, "changelist"))
    assert response.status_code == 200


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_every_row_opens(data, admin_client, model):
    row = model.objects.order_by("pk").first()
    response = admin_client.get(url(model, "change", row.pk))
    assert response.status_code == 200


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_every_table_searches(data, admin_client, model):
    if not admin.site._registry[model].search_fields:
        pytest.skip("no search box")
    response = admin_client.get(url(model, "changelist"), {"q": "1"})
    assert response.status_code == 200


@pytest.mark.parametrize("model", EVIDENCE, ids=lambda model: model._meta.label)
def test_evidence_refuses_additions_even_to_superusers(data, admin_client, model):
    assert admin_client.get(url(model, "add")).status_code == 403


@pytest.mark.parametrize("model", EVIDENCE, ids=lambda model: model._meta.label)
def test_evidence_refuses_changes_even_to_superusers(data, admin_client, model):
    row = model.objects.order_by("pk").first()
    assert admin_client.post(url(model, "change", row.pk), {}).status_code == 403


@pytest.mark.parametrize("model", EVIDENCE, ids=lambda model: model._meta.label)
def test_evidence_refuses_deletion_even_to_superusers(data, admin_client, model):
    row = model.objects.order_by("pk").first()
    response = admin_client.post(url(model, "delete", row.pk), {"post": "yes"})
    assert response.status_code == 403
    assert model.objects.filter(pk=row.pk).exists()


# --------------------------------------------------------------------------- shipments


def edit_shipment(admin_client, shipment: Shipment, changes: dict):
    """Post the shipment's admin change form with ``changes`` over its current values."""
    page = admin_client.get(url(Shipment, "change", shipment.pk))
    form = page.context["adminform"].form
    fields = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    fields |= {
        "departure_at_0": "2026-01-05",
        "departure_at_1": "00:00:00",
        "deadline_at_0": "2026-01-06",
        "deadline_at_1": "00:00:00",
        "attachments-TOTAL_FORMS": "0",
        "attachments-INITIAL_FORMS": "0",
    }
    return admin_client.post(url(Shipment, "change", shipment.pk), fields | changes)


def test_a_shipment_without_contract_is_edited(data, admin_client):
    shipment = make_shipment()
    response = edit_shipment(
        admin_client,
        shipment,
        {"destination": "Vienna", "destination_lat": "48.2082", "destination_lon": "16.3738"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    shipment.refresh_from_db()
    assert shipment.destination == "Vienna"
    assert (shipment.destination_lat, shipment.destination_lon) == (48.2082, 16.3738)


def test_a_destination_latitude_out_of_range_is_refused(data, admin_client):
    response = edit_shipment(
        admin_client, make_shipment(), {"destination_lat": "91", "destination_lon": "16.4"}
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "less than or equal to 90" in str(errors["destination_lat"])


def test_a_destination_with_one_coordinate_only_is_refused(data, admin_client):
    response = edit_shipment(admin_client, make_shipment(), {"destination_lat": "48.2"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "both destination coordinates or neither" in str(errors)


def test_a_shipment_under_contract_is_read_only(data, admin_client):
    response = admin_client.post(url(Shipment, "change", data.shipment.pk), {"origin": "Oslo"})
    assert response.status_code == 403
    data.shipment.refresh_from_db()
    assert data.shipment.origin == "Rotterdam"


def test_reevaluation_scores_the_ready_instants_and_reports_the_counts(data, admin_client):
    shipment, devices = make_contract_shipment()
    load_readings(devices, [5.0] * 60)
    response = act(admin_client, Shipment, "reevaluate", [shipment], follow=True)
    stored = Assessment.objects.filter(shipment=shipment).count()
    assert stored > 0
    assert any(f"{stored} assessment(s)" in m for m in messages_of(response)), messages_of(response)


def test_reevaluation_again_adds_nothing(data, admin_client):
    shipment, devices = make_contract_shipment()
    load_readings(devices, [5.0] * 30)
    act(admin_client, Shipment, "reevaluate", [shipment])
    before = Assessment.objects.filter(shipment=shipment).count()
    response = act(admin_client, Shipment, "reevaluate", [shipment], follow=True)
    assert Assessment.objects.filter(shipment=shipment).count() == before
    assert any("0 assessment(s)" in m for m in messages_of(response))


def test_the_exported_shipment_evidence_verifies(data, admin_client):
    response = act(admin_client, Shipment, "export_evidence", [data.shipment])
    assert response["Content-Disposition"] == (
        f'attachment; filename="evidence-{data.shipment.reference}.json"'
    )
    bundle = json.loads(response.content)
    assert verify_bundle(bundle, log_vkey=log_vkey()).verified
    subjects = {e["index"] for e in bundle["entries"] if e["role"] == "subject"}
    action = data.claim.action
    assert action.ledger_entry.index in subjects
    assert data.shipment.contract.ledger_entry.index in subjects
    assert set(action.reading_indices) <= subjects


def test_contract_activation_asks_for_the_template_first(data, admin_client):
    shipment = make_shipment()
    response = act(admin_client, Shipment, "activate_contract", [shipment])
    assert response.status_code == 200
    assert "template" in response.context["form"].fields
    assert not Contract.objects.filter(shipment=shipment).exists()


def test_contract_activation_anchors_the_templates_terms(data, admin_client):
    shipment = make_shipment()
    template = ContractTemplate.objects.first()
    response = act(
        admin_client, Shipment, "activate_contract", [shipment], apply="1", template=template.pk
    )
    assert response.status_code == 302
    contract = Contract.objects.get(shipment=shipment)
    assert contract.template == template
    assert contract.ledger_entry is not None


def test_contract_activation_names_the_shipment_that_already_has_one(data, admin_client):
    template = ContractTemplate.objects.first()
    response = act(
        admin_client,
        Shipment,
        "activate_contract",
        [data.shipment],
        apply="1",
        template=template.pk,
        follow=True,
    )
    assert any(
        f"{data.shipment.reference} already has a contract" in m for m in messages_of(response)
    )


# --------------------------------------------------------------------------- claims and devices


def test_a_claims_evidence_bundle_downloads_and_verifies(data, admin_client):
    response = act(admin_client, InsuranceClaim, "download_evidence", [data.claim])
    assert response["Content-Type"].startswith("application/json")
    bundle = json.loads(response.content)
    assert verify_bundle(bundle, log_vkey=log_vkey()).verified
    subjects = {e["index"] for e in bundle["entries"] if e["role"] == "subject"}
    assert data.claim.action.ledger_entry.index in subjects


def test_revocation_asks_for_a_reason_first(data, admin_client):
    logger = make_device()
    response = act(admin_client, Device, "revoke", [logger.device])
    assert response.status_code == 200
    assert "reason" in response.context["form"].fields
    logger.device.refresh_from_db()
    assert logger.device.status == Device.Status.ACTIVE


def test_revocation_without_a_reason_revokes_nothing(data, admin_client):
    logger = make_device()
    response = act(admin_client, Device, "revoke", [logger.device], apply="1", reason="")
    assert response.context["form"].errors["reason"]
    logger.device.refresh_from_db()
    assert logger.device.status == Device.Status.ACTIVE


def test_revocation_revokes_and_logs_with_the_reason(data, admin_client):
    logger = make_device()
    act(admin_client, Device, "revoke", [logger.device], apply="1", reason="logger lost")
    logger.device.refresh_from_db()
    assert logger.device.status == Device.Status.REVOKED
    assert logger.device.revocation_reason.startswith("logger lost")
    assert logger.device.revocation_entry.kind == "device.revoked"


def test_a_log_entrys_evidence_downloads_and_verifies(data, admin_client):
    entry = data.shipment.contract.ledger_entry
    response = act(admin_client, Entry, "download_evidence", [entry])
    bundle = json.loads(response.content)
    assert verify_bundle(bundle, log_vkey=log_vkey()).verified
    assert [e["index"] for e in bundle["entries"] if e["role"] == "subject"] == [entry.index]


# --------------------------------------------------------------------------- auditors


@pytest.fixture
def auditor(data, client):
    user = make_user(Party.objects.filter(kind=Party.Kind.AUDITOR).first())
    call_command("auditors_group", "--enroll")
    client.force_login(user)
    return user


def test_enrolment_makes_auditors_staff_in_the_auditors_group(auditor):
    auditor.refresh_from_db()
    assert auditor.is_staff
    assert not auditor.is_superuser
    assert list(auditor.groups.values_list("name", flat=True)) == [AUDITORS_GROUP]


def test_enrolment_leaves_other_parties_users_alone(data, auditor):
    outsider = make_user(make_party(Party.Kind.CARRIER))
    call_command("auditors_group", "--enroll")
    outsider.refresh_from_db()
    assert not outsider.is_staff
    assert not outsider.groups.exists()


def test_an_auditor_sees_every_table_and_row(data, auditor, client):
    for model in REGISTERED:
        if model._meta.app_label not in ("ledger", "devices", "analytics", "coldchain"):
            continue
        assert client.get(url(model, "changelist")).status_code == 200, model
        row = model.objects.order_by("pk").first()
        assert client.get(url(model, "change", row.pk)).status_code == 200, model


def test_an_auditor_cannot_change_what_others_may(data, auditor, client):
    party = Party.objects.first()
    response = client.post(url(Party, "change", party.pk), {"name": "Renamed", "kind": "bank"})
    assert response.status_code == 403
    assert client.get(url(Party, "add")).status_code == 403


def offered_actions(client, model) -> set[str]:
    form = client.get(url(model, "changelist")).context["action_form"]
    return set() if form is None else {name for name, _ in form.fields["action"].choices}


def test_an_auditor_exports_evidence_but_does_not_operate(data, auditor, client):
    offered = offered_actions(client, Shipment)
    assert "export_evidence" in offered
    assert not offered & {"reevaluate", "activate_contract", "delete_selected"}
    assert "revoke" not in offered_actions(client, Device)
    assert "redeliver" not in offered_actions(client, WebhookDelivery)
    assert "activate" not in offered_actions(client, ModelVersion)


def test_an_enrolled_auditor_still_cannot_acknowledge_alerts(data, auditor):
    alert = Alert.objects.get(shipment=data.shipment)
    with pytest.raises(AlertPermissionError):
        alert_acknowledge(alert, auditor, "seen")
