"""The shipment page's excursion summary, contract timeline, claim evidence and report PDF."""

import json

import pytest

from coldchain.claims import claims_evidence_attach
from coldchain.contracts import contract_evaluate
from coldchain.models import Membership, Party
from ledger.services import log_seal
from tests.contract_factories import BREACH, DELIVERED, make_contract_shipment, make_delivered
from tests.shipment_factories import make_party, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def claimed():
    """A load delivered after a 45-minute excursion, claimed by the contract."""
    shipment, _ = make_delivered(BREACH)
    contract_evaluate(shipment, now=DELIVERED)
    return shipment


def page(client, user, shipment) -> str:
    client.force_login(user)
    response = client.get(f"/shipments/{shipment.reference}/")
    assert response.status_code == 200
    return response.content.decode()


def excursion_panel(client, user, shipment) -> str:
    client.force_login(user)
    response = client.get(f"/shipments/{shipment.reference}/excursions")
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_loads_its_excursion_summary_after_it_is_shown(client, claimed):
    html = page(client, make_user(claimed.carrier), claimed)
    assert f'hx-get="/shipments/{claimed.reference}/excursions" hx-trigger="load"' in html


def test_the_excursion_summary_sets_each_figure_against_its_allowance(client, claimed):
    html = excursion_panel(client, make_user(claimed.carrier), claimed)
    assert '<td>Longest excursion</td>\n        <td class="num">45 min</td>' in html
    assert "≤ 30 min" in html
    assert '<span class="badge bad">exceeded</span>' in html
    assert "10.50 °C" in html
    assert '<span class="badge warn">within band</span>' in html
    assert "against the contract's limits" in html


def test_a_shipment_without_sealed_readings_says_its_accounting_waits_for_them(client):
    shipment, _ = make_contract_shipment()
    html = excursion_panel(client, make_user(shipment.carrier), shipment)
    assert "No readings sealed in the ledger yet" in html


def test_the_contract_shows_its_terms_hash_transitions_and_actions_with_ledger_indices(
    client, claimed
):
    log_seal()
    html = page(client, make_user(claimed.shipper), claimed)
    contract = claimed.contract
    assert contract.terms_sha256 in html
    assert f'href="/ledger/?verify={contract.ledger_entry.index}"' in html
    assert "In transit → <strong>Delivered</strong>" in html
    action = claimed.actions.get()
    assert action.get_kind_display() == "Insurance claim"
    assert f'href="/ledger/?verify={action.ledger_entry.index}"' in html
    assert f"{action.amount} EUR" in html
    assert action.payer == claimed.insurer
    assert f"{action.payer} → {action.payee}" in html


def test_a_claim_waits_for_its_evidence_until_a_checkpoint_seals_it(client, claimed):
    html = page(client, make_user(claimed.shipper), claimed)
    assert "evidence waits for the next checkpoint" in html
    log_seal()
    claims_evidence_attach()
    claim = claimed.actions.get().claim
    html = page(client, make_user(claimed.insurer), claimed)
    assert "evidence attached" in html
    assert f"/shipments/{claimed.reference}/claims/{claim.pk}/evidence.json" in html


def test_the_insurer_downloads_the_claims_evidence_bundle(client, claimed):
    log_seal()
    claims_evidence_attach()
    claim = claimed.actions.get().claim
    client.force_login(make_user(claimed.insurer))
    response = client.get(f"/shipments/{claimed.reference}/claims/{claim.pk}/evidence.json")
    assert response.status_code == 200
    assert json.loads(response.content) == claim.evidence
    assert "evidence.json" in response["Content-Disposition"]


def test_the_bank_neither_sees_nor_downloads_the_claims_evidence(client, claimed):
    log_seal()
    claims_evidence_attach()
    claim = claimed.actions.get().claim
    bank_user = make_user(claimed.bank)
    assert "evidence bundle (JSON)" not in page(client, bank_user, claimed)
    response = client.get(f"/shipments/{claimed.reference}/claims/{claim.pk}/evidence.json")
    assert response.status_code == 404


def test_another_party_cannot_download_the_claims_evidence(client, claimed):
    log_seal()
    claims_evidence_attach()
    claim = claimed.actions.get().claim
    client.force_login(make_user(make_party(Party.Kind.INSURER)))
    response = client.get(f"/shipments/{claimed.reference}/claims/{claim.pk}/evidence.json")
    assert response.status_code == 404


def test_the_report_pdf_downloads_with_the_shipments_name(client, claimed):
    log_seal()
    client.force_login(make_user(claimed.receiver, role=Membership.Role.VIEWER))
    response = client.get(f"/shipments/{claimed.reference}/report.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="shipment-report-{claimed.reference}.pdf"' in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF-")


def test_the_page_links_its_report(client, claimed):
    html = page(client, make_user(claimed.carrier), claimed)
    assert f'href="/shipments/{claimed.reference}/report.pdf"' in html


def test_another_partys_report_does_not_exist(client, claimed):
    client.force_login(make_user(make_party(Party.Kind.CARRIER)))
    assert client.get(f"/shipments/{claimed.reference}/report.pdf").status_code == 404


def test_the_report_needs_a_signed_in_user(client, claimed):
    response = client.get(f"/shipments/{claimed.reference}/report.pdf")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
