"""Ledger entry bytes: a party reads the entries of what it may see; proofs are public."""

import base64

import pytest

from analytics.models import ModelVersion
from coldchain.release import release_sign
from devices.models import Reading
from ledger.services import log_seal
from tests.coldchain.api.conftest import client_for
from tests.coldchain.api.world import Side
from tests.contract_factories import make_delivered
from tests.shipment_factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db
API = "/api/v1/ledger/"


def reading_index(side: Side) -> int:
    return Reading.objects.filter(device_id=side.device.id).first().ledger_entry.index


def entry(user, index: int):
    return client_for(user).get(f"{API}entries/{index}")


def test_a_party_reads_the_entry_of_its_own_reading(world):
    reading = Reading.objects.filter(device_id=world.a.device.id).first()
    response = entry(world.a.users["carrier"], reading.ledger_entry.index)
    assert response.status_code == 200
    assert base64.b64decode(response.json()["data"]) == bytes(reading.jws)


def test_another_partys_reading_entry_is_not_found(world):
    response = entry(world.a.users["carrier"], reading_index(world.b))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("role", ["shipper", "insurer", "bank"])
def test_a_party_reads_its_own_assessment_and_alert_note_entries_only(world, role):
    user = world.a.users[role]
    own = [world.a.assessment.ledger_entry, world.a.alert.notes.get().ledger_entry]
    theirs = [world.b.assessment.ledger_entry, world.b.alert.notes.get().ledger_entry]
    assert [entry(user, e.index).status_code for e in own] == [200, 200]
    assert [entry(user, e.index).status_code for e in theirs] == [404, 404]


def test_model_registrations_are_readable_by_every_party(world):
    version = ModelVersion.objects.first()
    assert entry(world.b.users["bank"], version.registration_entry.index).status_code == 200


def test_a_partys_device_registration_is_readable_by_it_only(world):
    registration = world.a.device.device.registration_entry.index
    assert entry(world.a.users["receiver"], registration).status_code == 200
    assert entry(world.b.users["receiver"], registration).status_code == 404


@pytest.mark.parametrize("who", ["auditor", "staff"])
def test_auditors_and_staff_read_every_entry(world, who):
    user = getattr(world, who)
    assert entry(user, reading_index(world.a)).status_code == 200
    assert entry(user, reading_index(world.b)).status_code == 200


def test_a_user_without_a_party_reads_no_entry(world):
    assert entry(world.partyless, reading_index(world.a)).status_code == 404


def test_anonymous_gets_checkpoints_and_proofs_but_not_entry_bytes(world):
    index = reading_index(world.a)
    anonymous = client_for(None)
    checkpoint = anonymous.get(API + "checkpoint")
    size = int(checkpoint.content.decode().splitlines()[1])
    proof = anonymous.get(API + "proof/inclusion", {"index": index, "size": size})
    assert (checkpoint.status_code, proof.status_code) == (200, 200)
    assert anonymous.get(f"{API}entries/{index}").status_code == 401


def contract_entries(side) -> list:
    shipment = side.shipment
    return [
        shipment.contract.ledger_entry,
        *(transition.ledger_entry for transition in shipment.transitions.all()),
        *(action.ledger_entry for action in shipment.actions.all()),
    ]


@pytest.mark.parametrize("role", ["shipper", "carrier", "receiver", "insurer", "bank"])
def test_a_party_reads_its_shipments_contract_transition_and_action_entries(contracts, role):
    user = contracts.a.users[role]
    assert {entry(user, e.index).status_code for e in contract_entries(contracts.a)} == {200}
    assert {entry(user, e.index).status_code for e in contract_entries(contracts.b)} == {404}


def test_the_parties_read_the_release_signature_entry_and_others_do_not(contracts):
    shipment, _ = make_delivered([5.0] * 180)
    signature = release_sign(
        shipment=shipment, user=make_user(shipment.receiver), password=PASSWORD, decision="released"
    )
    log_seal()
    index = signature.ledger_entry.index
    assert entry(make_user(shipment.carrier), index).status_code == 200
    assert entry(contracts.a.users["carrier"], index).status_code == 404
