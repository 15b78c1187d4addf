"""Contracts, contract actions, claims and payments through the API: a party
sees those of its own shipments, staff and auditors all, nobody writes them;
another party's row is a 404. Claim evidence: not the bank."""

import pytest

from coldchain.contracts import contract_evaluate
from coldchain.models import ContractAction
from tests.coldchain.api.conftest import client_for
from tests.coldchain.api.contract_world import ContractSide
from tests.coldchain.api.world import ROLES
from tests.contract_factories import BREACH, DELIVERED, make_delivered
from tests.shipment_factories import make_user

pytestmark = pytest.mark.django_db

RESOURCES = ["contracts", "contract-actions", "claims", "payments"]
PARTY_USERS = [("a", role) for role in ROLES] + [("b", "carrier")]
KEYS = {"contracts": "shipment"}


def own(side: ContractSide, resource: str) -> set:
    return {
        "contracts": {side.shipment.reference},
        "contract-actions": set(
            ContractAction.objects.filter(shipment=side.shipment).values_list("id", flat=True)
        ),
        "claims": {side.claim.id},
        "payments": {side.payment.id},
    }[resource]


def listed(client, resource: str, **query) -> set:
    response = client.get(f"/api/v1/{resource}/", query)
    assert response.status_code == 200, response.content
    return {item[KEYS.get(resource, "id")] for item in response.json()["results"]}


def first(side: ContractSide, resource: str):
    return sorted(own(side, resource))[0]


@pytest.mark.parametrize(("side_name", "role"), PARTY_USERS)
@pytest.mark.parametrize("resource", RESOURCES)
def test_a_party_lists_only_its_own_shipments_contract_rows(contracts, side_name, role, resource):
    side = getattr(contracts, side_name)
    assert listed(client_for(side.users[role]), resource) == own(side, resource)


@pytest.mark.parametrize(("side_name", "role"), PARTY_USERS)
@pytest.mark.parametrize("resource", RESOURCES)
def test_another_partys_contract_row_is_not_found(contracts, side_name, role, resource):
    side = getattr(contracts, side_name)
    theirs = contracts.b if side_name == "a" else contracts.a
    client = client_for(side.users[role])
    assert client.get(f"/api/v1/{resource}/{first(side, resource)}/").status_code == 200
    response = client.get(f"/api/v1/{resource}/{first(theirs, resource)}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("resource", RESOURCES)
def test_staff_and_auditors_see_every_contract_row(contracts, world, resource):
    for user in (world.staff, world.auditor):
        assert listed(client_for(user), resource) == own(contracts.a, resource) | own(
            contracts.b, resource
        )


@pytest.mark.parametrize("resource", RESOURCES)
def test_a_user_without_a_party_sees_no_contract_row(contracts, world, resource):
    client = client_for(world.partyless)
    assert listed(client, resource) == set()
    assert client.get(f"/api/v1/{resource}/{first(contracts.a, resource)}/").status_code == 404


@pytest.mark.parametrize("resource", RESOURCES)
def test_anonymous_requests_for_contract_rows_are_told_to_authenticate(contracts, resource):
    response = client_for(None).get(f"/api/v1/{resource}/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_contract_evidence_is_read_only_even_for_staff(contracts, world, resource, method):
    one = first(contracts.a, resource)
    url = f"/api/v1/{resource}/" if method == "post" else f"/api/v1/{resource}/{one}/"
    response = getattr(client_for(world.staff), method)(url, {}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_the_insurer_sees_its_claim_with_amount_policy_and_evidence_flag(contracts):
    side = contracts.a
    (claim,) = client_for(side.users["insurer"]).get("/api/v1/claims/").json()["results"]
    assert claim["insurer"] == side.shipment.insurer.slug
    assert claim["shipment"] == side.shipment.reference
    assert claim["policy"] == side.claim.policy
    assert claim["claimed_amount"] == str(side.claim.claimed_amount)
    assert (claim["evidence_attached"], claim["status"]) == (True, "evidence_attached")


def test_the_bank_sees_its_shipments_payment_with_payer_payee_and_breakdown(contracts):
    side = contracts.a
    (payment,) = client_for(side.users["bank"]).get("/api/v1/payments/").json()["results"]
    assert payment["kind"] == ContractAction.Kind.PAYMENT_WITHHELD
    assert (payment["payer"], payment["payee"]) == (
        side.payment.payer.slug,
        side.payment.payee.slug,
    )
    assert payment["breakdown"] == side.payment.details
    assert payment["ledger_index"] == side.payment.ledger_entry.index


def test_the_contract_shows_its_terms_and_timeline_in_order(contracts):
    side = contracts.a
    body = client_for(side.users["carrier"]).get(f"/api/v1/contracts/{side.shipment.reference}/")
    contract = body.json()
    assert contract["terms_sha256"] == side.shipment.contract.terms_sha256
    assert contract["template"] == str(side.shipment.contract.template)
    assert contract["ledger_index"] == side.shipment.contract.ledger_entry.index
    assert [t["to_status"] for t in contract["transitions"]] == [
        "in_transit",
        "delivered",
        "settled",
    ]
    assert [a["kind"] for a in contract["actions"]] == ["insurance_claim", "payment_withheld"]


@pytest.mark.parametrize("role", ["shipper", "carrier", "receiver", "insurer"])
def test_the_parties_of_a_claim_download_its_evidence_bundle(contracts, role):
    side = contracts.a
    response = client_for(side.users[role]).get(f"/api/v1/claims/{side.claim.id}/evidence/")
    assert response.status_code == 200
    assert response.json() == side.claim.evidence
    assert response.json()["format"] == "coldchain-evidence/v1"


def test_the_bank_sees_the_claim_but_not_its_evidence(contracts):
    side = contracts.a
    client = client_for(side.users["bank"])
    assert client.get(f"/api/v1/claims/{side.claim.id}/").status_code == 200
    response = client.get(f"/api/v1/claims/{side.claim.id}/evidence/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_another_carrier_cannot_download_a_claims_evidence(contracts):
    response = client_for(contracts.b.users["carrier"]).get(
        f"/api/v1/claims/{contracts.a.claim.id}/evidence/"
    )
    assert response.status_code == 404


def test_contract_actions_filter_by_shipment_and_kind(contracts, world):
    side = contracts.a
    claims = listed(
        client_for(world.staff),
        "contract-actions",
        shipment=side.shipment.reference,
        kind="insurance_claim",
    )
    assert claims == {side.claim.action_id}


def test_payments_filter_by_date_range(contracts, world):
    at = contracts.a.payment.at
    client = client_for(world.staff)
    assert listed(client, "payments", at_before=at.isoformat()) == set()
    assert listed(client, "payments", at_after=at.isoformat()) == own(
        contracts.a, "payments"
    ) | own(contracts.b, "payments")


@pytest.mark.parametrize(("ordering", "kinds"), [
    ("at", ["insurance_claim", "payment_withheld"]),
    ("-at", ["payment_withheld", "insurance_claim"]),
])  # fmt: skip
def test_contract_actions_order_by_time(contracts, ordering, kinds):
    side = contracts.a
    response = client_for(side.users["shipper"]).get(
        "/api/v1/contract-actions/", {"ordering": ordering}
    )
    assert [action["kind"] for action in response.json()["results"]] == kinds


def test_a_claims_evidence_not_built_yet_is_a_conflict_to_retry():
    shipment, _ = make_delivered(BREACH)
    (claim_action,) = contract_evaluate(shipment, now=DELIVERED)
    insurer = make_user(shipment.insurer)
    response = client_for(insurer).get(f"/api/v1/claims/{claim_action.claim.id}/evidence/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "evidence_pending"
    claim = client_for(insurer).get(f"/api/v1/claims/{claim_action.claim.id}/").json()
    assert (claim["status"], claim["evidence_attached"]) == ("filed", False)
