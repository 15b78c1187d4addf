"""Contract services on real PostgreSQL: activation, the state machine, the
release signature, exactly-once actions anchored in the ledger, claim evidence."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from coldchain.celery import app
from coldchain.claims import claim_evidence_attach, claims_evidence_attach
from coldchain.contract_entries import (
    CONTRACT_ACTION,
    activation_claims,
    release_claims,
)
from coldchain.contracts import (
    contract_activate,
    contract_evaluate,
    contract_facts_recheck,
    contracts_due,
    shipment_accounting_terms,
    shipment_default_terms,
)
from coldchain.models import (
    ContractAction,
    InsuranceClaim,
    Membership,
    Party,
    ShipmentTransition,
)
from coldchain.release import SignatureRefused, release_manifestation, release_sign
from coldchain.shipment_states import (
    ContractError,
    dispute_open,
    shipment_deliver,
    shipment_depart,
)
from coldchain.signals import shipment_event
from coldchain.tasks import evaluate_due_contracts
from coldchain.terms import TermsError, sha256_json
from devices.models import Reading
from ledger.log_key import log_vkey
from ledger.platform_entries import platform_entry_open, platform_public_key
from ledger.services import log_seal
from ledger.verify import verify_bundle
from tests.analytics.boosters import register_both
from tests.contract_factories import (
    BREACH,
    DELIVERED,
    DEPARTURE,
    load_readings,
    make_assessment,
    make_contract_shipment,
    make_delivered,
    make_template,
)
from tests.shipment_factories import PASSWORD, make_party, make_shipment, make_user

REPO = Path(__file__).resolve().parents[2]
THREE_HOURS_CLEAN = [5.0] * 180
# The door open six minutes: 9.5 °C, inside the band, well within every allowance.
DOOR_OPEN = [5.0] * 60 + [9.5] * 6 + [5.0] * 114
AFTER_WINDOW = DELIVERED + timedelta(hours=48, minutes=1)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def model_dir(settings, tmp_path):
    settings.ANALYTICS_MODEL_DIR = tmp_path / "models"


@pytest.fixture
def events():
    seen = []

    def receive(sender, **kwargs):
        seen.append((kwargs["event_type"], kwargs["key"]))

    shipment_event.connect(receive, weak=False)
    yield seen
    shipment_event.disconnect(receive)


def recently_delivered(temps):
    """Delivered an hour ago, so that a release signed now precedes the evaluations;
    (shipment, the instant the dispute window has passed)."""
    shipment, _ = make_delivered(temps, at=timezone.now() - timedelta(hours=1))
    return shipment, shipment.delivered_at + timedelta(hours=48, minutes=1)


def receiver_manager(shipment, role=Membership.Role.MANAGER):
    return make_user(shipment.receiver, role=role)


def logged(entry) -> dict:
    return platform_entry_open(bytes(entry.data), platform_public_key())


# --------------------------------------------------------------------------- activation


def test_activation_stores_validated_terms_with_their_hash_and_anchors_them():
    shipment, _ = make_contract_shipment()
    contract = shipment.contract
    assert contract.terms["payment"]["amount"] == "10000.00"
    assert contract.terms["temperature"]["max_c"] == shipment.product.temp_max_c
    assert contract.terms["payment"]["payer"] == shipment.shipper.slug
    assert contract.terms["insurance"]["insurer"] == shipment.insurer.slug
    assert contract.terms_sha256 == sha256_json(contract.terms)
    claims = logged(contract.ledger_entry)
    assert claims["kind"] == "contract.activated"
    assert claims["terms_sha256"] == contract.terms_sha256
    assert {k: claims[k] for k in activation_claims(contract)} == activation_claims(contract)


def test_activation_refuses_invalid_terms_naming_the_field():
    shipment = make_shipment()
    with pytest.raises(TermsError, match=r"quorum\.k"):
        contract_activate(shipment, template=make_template(), overrides={"quorum": {"k": 1}})
    assert not hasattr(shipment, "contract")


def test_activation_refuses_a_payee_who_is_not_a_party_of_the_shipment():
    shipment = make_shipment()
    stranger = make_party(Party.Kind.CARRIER)
    with pytest.raises(ContractError, match=f"payment.payee '{stranger.slug}'"):
        contract_activate(
            shipment, template=make_template(), overrides={"payment": {"payee": stranger.slug}}
        )


def test_a_shipment_is_accounted_under_its_contracts_terms():
    shipment, _ = make_contract_shipment(overrides={"excursions": {"max_single_min": 20}})
    terms = shipment_accounting_terms(shipment)
    assert terms == shipment.contract.terms
    assert terms["excursions"]["max_single_min"] == 20


def test_without_a_contract_a_shipment_is_accounted_under_its_products_limits():
    shipment = make_shipment()
    terms = shipment_accounting_terms(shipment)
    assert terms == shipment_default_terms(shipment)
    assert terms["excursions"]["max_single_min"] == shipment.product.max_single_excursion_min


def test_a_shipment_has_one_contract():
    shipment, _ = make_contract_shipment()
    with pytest.raises(ContractError, match="already has a contract"):
        contract_activate(shipment, template=make_template())


def test_a_shipment_without_a_contract_cannot_depart():
    with pytest.raises(ContractError, match="no contract"):
        shipment_depart(make_shipment(), at=DEPARTURE)


# --------------------------------------------------------------------------- state machine


def test_every_transition_is_recorded_and_anchored(events):
    shipment, _ = make_delivered(THREE_HOURS_CLEAN)
    transitions = list(shipment.transitions.order_by("id"))
    assert [(t.from_status, t.to_status) for t in transitions] == [
        ("active", "in_transit"),
        ("in_transit", "delivered"),
    ]
    assert transitions[1].at == DELIVERED
    claims = logged(transitions[1].ledger_entry)
    assert (claims["kind"], claims["from"], claims["to"]) == (
        "shipment.transition",
        "in_transit",
        "delivered",
    )


def test_a_delivered_shipment_cannot_be_delivered_again():
    shipment, _ = make_delivered(THREE_HOURS_CLEAN)
    with pytest.raises(ContractError, match="is delivered: it cannot become delivered"):
        shipment_deliver(shipment, at=DELIVERED)


def test_a_delivered_shipment_cannot_depart():
    shipment, _ = make_delivered(THREE_HOURS_CLEAN)
    with pytest.raises(ContractError, match="is delivered: it cannot become in_transit"):
        shipment_depart(shipment, at=DELIVERED)


def test_a_delivery_time_in_the_future_is_refused():
    shipment, _ = make_contract_shipment()
    with pytest.raises(ContractError, match="in the future"):
        shipment_deliver(shipment, at=timezone.now() + timedelta(hours=1))


# --------------------------------------------------------------------------- release signature


def test_the_receivers_manager_signs_the_release_with_name_time_and_meaning():
    shipment, _ = make_delivered(THREE_HOURS_CLEAN)
    user = receiver_manager(shipment)
    signature = release_sign(shipment=shipment, user=user, password=PASSWORD, decision="released")
    assert signature.printed_name == user.get_full_name()
    assert signature.meaning.startswith("I release this load")
    assert signature.released_fraction == Decimal(1)
    shipment.refresh_from_db()
    assert shipment.status == "released"
    transition = shipment.transitions.latest("id")
    assert (transition.to_status, transition.actor) == ("released", user)
    claims = logged(signature.ledger_entry)
    assert claims["kind"] == "release.signed"
    assert {k: claims[k] for k in release_claims(signature)} == release_claims(signature)
    shown = release_manifestation(signature)
    assert user.get_full_name() in shown
    assert "UTC" in shown
    assert signature.meaning in shown


def test_a_wrong_password_signs_nothing():
    shipment, _ = make_delivered(THREE_HOURS_CLEAN)
    with pytest.raises(SignatureRefused, match="password"):
        release_sign(
            shipment=shipment,
            user=receiver_manager(shipment),
            password="guess",
            decision="released",
        )
    shipment.refresh_from_db()
    assert shipment.status == "delivered"
    assert not hasattr(shipment, "release_signature")


@pytest.mark.parametrize("who", ["carrier_manager", "receiver_operator"])
def test_only_a_manager_of_the_receiver_may_sign(who):
    shipment, _ = make_delivered(THREE_HOURS_CLEAN)
    user = (
        make_user(shipment.carrier)
        if who == "carrier_manager"
        else receiver_manager(shipment, Membership.Role.OPERATOR)
    )
    with pytest.raises(SignatureRefused, match="only a manager of the receiver"):
        release_sign(shipment=shipment, user=user, password=PASSWORD, decision="released")


@pytest.mark.parametrize(
    ("decision", "fraction", "reason", "message"),
    [
        ("partially_released", None, "crushed boxes", "released fraction"),
        ("partially_released", "1.5", "crushed boxes", "released fraction"),
        ("partially_released", "0.5", "", "needs a reason"),
        ("rejected", None, "", "needs a reason"),
        ("accepted", None, "", "decision must be one of"),
    ],
)
def test_an_incomplete_release_decision_is_refused(decision, fraction, reason, message):
    shipment, _ = make_delivered(THREE_HOURS_CLEAN)
    with pytest.raises(ContractError, match=message):
        release_sign(
            shipment=shipment,
            user=receiver_manager(shipment),
            password=PASSWORD,
            decision=decision,
            fraction=fraction,
            reason=reason,
        )


def test_a_load_still_in_transit_cannot_be_released():
    shipment, _ = make_contract_shipment()
    with pytest.raises(ContractError, match="only a delivered load"):
        release_sign(
            shipment=shipment,
            user=receiver_manager(shipment),
            password=PASSWORD,
            decision="released",
        )


# --------------------------------------------------------------------------- payment


def test_a_clean_delivery_is_paid_once_after_the_dispute_window(
    events, django_capture_on_commit_callbacks
):
    shipment, _ = make_delivered(THREE_HOURS_CLEAN)
    with django_capture_on_commit_callbacks(execute=True):
        assert contract_evaluate(shipment, now=DELIVERED + timedelta(hours=47)) == []
        (payment,) = contract_evaluate(shipment, now=AFTER_WINDOW)
        assert contract_evaluate(shipment, now=AFTER_WINDOW + timedelta(hours=1)) == []
    assert payment.kind == "payment_released"
    assert payment.amount == Decimal("10000.00")
    assert (payment.payer, payment.payee) == (shipment.shipper, shipment.carrier)
    shipment.refresh_from_db()
    assert shipment.status == "settled"
    assert shipment.transitions.latest("id").reason == payment.reason
    assert events.count(("contract.payment_released", f"{shipment.reference}/payment")) == 1
    assert ("shipment.status_changed", f"{shipment.reference}/status/settled") in events


def test_a_payment_entry_names_terms_facts_and_readings():
    shipment, _ = make_delivered(THREE_HOURS_CLEAN)
    (payment,) = contract_evaluate(shipment, now=AFTER_WINDOW)
    claims = logged(payment.ledger_entry)
    assert claims["kind"] == CONTRACT_ACTION
    assert claims["idempotency_key"] == f"{shipment.reference}/payment"
    assert claims["terms_sha256"] == shipment.contract.terms_sha256
    assert claims["facts_sha256"] == sha256_json(payment.facts) == payment.facts_sha256
    sealed = sorted(
        Reading.objects.filter(ledger_entry__sealed__isnull=False).values_list(
            "ledger_entry__sealed__index", flat=True
        )
    )
    assert claims["reading_indices"] == sealed
    assert claims["amount"] == "10000.00"


def test_shipments_whose_dispute_window_ended_are_due():
    shipment, _ = make_delivered(THREE_HOURS_CLEAN)
    assert contracts_due(DELIVERED + timedelta(hours=47)) == []
    assert contracts_due(AFTER_WINDOW) == [shipment]


def test_a_dispute_within_the_window_stops_the_payment_decision():
    shipment, _ = make_delivered(THREE_HOURS_CLEAN, at=timezone.now() - timedelta(hours=1))
    dispute_open(shipment=shipment, user=make_user(shipment.shipper), reason="wrong count")
    shipment.refresh_from_db()
    assert shipment.status == "disputed"
    assert contract_evaluate(shipment, now=shipment.delivered_at + timedelta(hours=49)) == []


def test_only_a_manager_of_one_of_the_shipments_parties_may_dispute():
    shipment, _ = make_delivered(THREE_HOURS_CLEAN, at=timezone.now() - timedelta(hours=1))
    outsider = make_user(make_party(Party.Kind.SHIPPER))
    with pytest.raises(ContractError, match="only a manager of one of the shipment's parties"):
        dispute_open(shipment=shipment, user=outsider, reason="not ours")


def test_a_dispute_after_the_window_is_refused():
    shipment, _ = make_delivered(THREE_HOURS_CLEAN)
    with pytest.raises(ContractError, match="not within its dispute window"):
        dispute_open(shipment=shipment, user=make_user(shipment.shipper), reason="too late")


# --------------------------------------------------------------------------- breach and claim


def test_breach_warns_the_carrier_then_files_a_claim_whose_evidence_verifies_offline(
    events, django_capture_on_commit_callbacks, tmp_path
):
    models = register_both()
    shipment, devices = make_contract_shipment()
    load_readings(devices, BREACH[:55])
    soon = make_assessment(shipment, 54, "breach_soon", models)
    with django_capture_on_commit_callbacks(execute=True):
        (warning,) = contract_evaluate(shipment, now=DEPARTURE + timedelta(minutes=55))
    assert warning.kind == "breach_warning"
    assert warning.assessment_indices == [soon.ledger_entry.index]
    assert list(warning.model_versions.all()) == [models[1]]
    assert logged(warning.ledger_entry)["models"] == [
        {"task": "breach_soon", "version": 1, "artifact_sha256": models[1].artifact_sha256}
    ]

    load_readings(devices, BREACH[55:], first_minute=55)
    breach = make_assessment(shipment, 100, "breach", models)
    with django_capture_on_commit_callbacks(execute=True):
        (claim_action,) = contract_evaluate(shipment, now=DEPARTURE + timedelta(minutes=180))
    claim = claim_action.claim
    assert claim_action.kind == "insurance_claim"
    assert "lasted 45 min" in claim_action.reason
    assert claim.claimed_amount == Decimal("195000.00")
    assert (claim.insurer, claim.policy) == (shipment.insurer, "POL-2026-17")
    assert breach.ledger_entry.index in claim_action.assessment_indices
    assert [e for e, _ in events if e.startswith("contract.")] == [
        "contract.breach_warning",
        "contract.claim_filed",
    ]

    # Filed before its entry was sealed: the bundle comes once it is.
    assert claim.evidence is None
    assert claims_evidence_attach() == 0
    log_seal()
    assert claims_evidence_attach() == 1
    claim.refresh_from_db()
    bundle = claim.evidence
    subjects = {e["index"] for e in bundle["entries"] if e["role"] == "subject"}
    assert claim_action.ledger_entry.index in subjects
    assert shipment.contract.ledger_entry.index in subjects
    assert set(claim_action.reading_indices) <= subjects
    assert models[0].registration_entry.index in subjects
    assert verify_bundle(bundle, log_vkey=log_vkey()).verified

    path = tmp_path / "claim.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE"))}
    result = subprocess.run(
        [sys.executable, "-m", "ledger.verify", str(path), "--log-vkey", log_vkey()],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_claims_evidence_is_built_once():
    shipment, _ = make_delivered(BREACH)
    (claim_action,) = contract_evaluate(shipment, now=DELIVERED)
    log_seal()
    claim = claim_action.claim
    assert claim_evidence_attach(claim)
    built = InsuranceClaim.objects.get(pk=claim.pk).evidence_built_at
    assert claim_evidence_attach(claim)
    assert InsuranceClaim.objects.get(pk=claim.pk).evidence_built_at == built


def test_a_claim_bundle_with_a_changed_entry_fails_offline_verification():
    shipment, _ = make_delivered(BREACH)
    (claim_action,) = contract_evaluate(shipment, now=DELIVERED)
    log_seal()
    claim_evidence_attach(claim_action.claim)
    bundle = InsuranceClaim.objects.get(pk=claim_action.claim.pk).evidence
    item = next(e for e in bundle["entries"] if e["index"] == claim_action.ledger_entry.index)
    token = base64.b64decode(item["data"])
    forged = token.replace(b".", b".e", 1)  # another payload, same signature
    item["data"] = base64.b64encode(forged).decode()
    report = verify_bundle(bundle, log_vkey=log_vkey())
    assert not report.verified
    assert any(f"entry {claim_action.ledger_entry.index}" in text for text in report.failures)


def test_a_door_open_transient_within_allowance_files_no_claim():
    shipment, _ = make_delivered(DOOR_OPEN)
    assert contract_evaluate(shipment, now=DELIVERED) == []
    (payment,) = contract_evaluate(shipment, now=AFTER_WINDOW)
    assert payment.kind == "payment_released"
    assert not ContractAction.objects.filter(kind="insurance_claim").exists()


def test_readings_in_the_adaptation_period_are_ignored():
    warm_start = [12.5] * 9 + [5.0] * 171  # nine minutes beyond the band while loading
    shipment, _ = make_delivered(warm_start)
    (payment,) = contract_evaluate(shipment, now=AFTER_WINDOW)
    assert payment.kind == "payment_released"


def test_a_rejected_load_is_claimed_and_its_payment_withheld():
    shipment, after_window = recently_delivered(THREE_HOURS_CLEAN)
    release_sign(
        shipment=shipment,
        user=receiver_manager(shipment),
        password=PASSWORD,
        decision="rejected",
        reason="seal broken",
    )
    (claim,) = contract_evaluate(shipment, now=shipment.delivered_at + timedelta(hours=2))
    assert claim.details["grounds"] == ["the receiver rejected the load"]
    (payment,) = contract_evaluate(shipment, now=after_window)
    assert (payment.kind, payment.reason) == ("payment_withheld", "the receiver rejected the load")


def test_a_partial_release_pays_the_share_less_its_penalties():
    shipment, after_window = recently_delivered(THREE_HOURS_CLEAN)
    release_sign(
        shipment=shipment,
        user=receiver_manager(shipment),
        password=PASSWORD,
        decision="partially_released",
        fraction="0.8",
        reason="two pallets crushed",
    )
    (payment,) = contract_evaluate(shipment, now=after_window)  # no breach: no claim
    assert payment.kind == "payment_released"
    assert payment.details["base"] == "8000.00"  # 10,000 x 0.8
    assert payment.details["partial_release_penalty"] == "250.00"
    assert payment.details["late_penalty"] == "500.00"  # months after the deadline: the cap
    assert payment.amount == Decimal("7250.00")


# --------------------------------------------------------------------------- exactly once


def test_the_same_facts_evaluated_twice_give_one_claim_and_one_payment():
    shipment, after_window = recently_delivered(BREACH)
    release_sign(
        shipment=shipment,
        user=receiver_manager(shipment),
        password=PASSWORD,
        decision="released",
    )
    first = contract_evaluate(shipment, now=after_window)
    second = contract_evaluate(shipment, now=after_window)
    assert [a.kind for a in first] == ["insurance_claim", "payment_released"]
    assert second == []
    assert ContractAction.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_evaluations_record_each_action_once():
    shipment, after_window = recently_delivered(BREACH)
    release_sign(
        shipment=shipment,
        user=receiver_manager(shipment),
        password=PASSWORD,
        decision="released",
    )
    barrier = threading.Barrier(3)
    recorded: list[list] = []

    def evaluate() -> None:
        try:
            barrier.wait()
            recorded.append(contract_evaluate(shipment, now=after_window))
        finally:
            connection.close()

    threads = [threading.Thread(target=evaluate) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(actions) for actions in recorded) == [0, 0, 2]
    assert sorted(ContractAction.objects.values_list("kind", flat=True)) == [
        "insurance_claim",
        "payment_released",
    ]
    assert ShipmentTransition.objects.filter(shipment=shipment, to_status="settled").count() == 1


# --------------------------------------------------------------------------- tampering


def test_an_untouched_contract_history_verifies(capsys):
    shipment, _ = make_delivered(BREACH)
    contract_evaluate(shipment, now=AFTER_WINDOW)
    log_seal()
    call_command("verify_ledger")
    (claim,) = ContractAction.objects.filter(kind="insurance_claim")
    assert contract_facts_recheck(claim) == []


def test_a_tampered_stored_reading_no_longer_matches_the_claims_evidence():
    shipment, _ = make_delivered(BREACH)
    (claim,) = contract_evaluate(shipment, now=DELIVERED)
    log_seal()
    reading = Reading.objects.filter(ledger_entry__sealed__index=claim.reading_indices[5]).get()
    Reading.objects.filter(pk=reading.pk).update(temp_c=5.0)
    problems = contract_facts_recheck(claim)
    assert problems
    assert any(p.startswith("excursions:") for p in problems)
    with pytest.raises(CommandError, match="temp_c"):
        call_command("verify_ledger")


def test_a_tampered_stored_action_fails_verify_ledger():
    shipment, _ = make_delivered(THREE_HOURS_CLEAN)
    (payment,) = contract_evaluate(shipment, now=AFTER_WINDOW)
    log_seal()
    ContractAction.objects.filter(pk=payment.pk).update(amount=Decimal("99999.00"))
    with pytest.raises(CommandError, match=r"amount logged '10000.00', stored '99999.00'"):
        call_command("verify_ledger")


def test_a_tampered_release_signature_fails_verify_ledger():
    shipment, _ = make_delivered(THREE_HOURS_CLEAN)
    signature = release_sign(
        shipment=shipment,
        user=receiver_manager(shipment),
        password=PASSWORD,
        decision="partially_released",
        fraction="0.5",
        reason="half spoiled",
    )
    log_seal()
    type(signature).objects.filter(pk=signature.pk).update(released_fraction=Decimal("0.9"))
    with pytest.raises(CommandError, match="released_fraction"):
        call_command("verify_ledger")


def test_a_delivery_before_the_departure_is_refused():
    shipment, _ = make_contract_shipment()
    with pytest.raises(ContractError, match="before the departure"):
        shipment_deliver(shipment, at=DEPARTURE - timedelta(minutes=1))


# --------------------------------------------------------------------------- running it


def test_the_beat_task_settles_due_shipments_and_attaches_claim_evidence():
    clean, _ = make_delivered(THREE_HOURS_CLEAN)
    breached, _ = make_delivered(BREACH)
    contract_evaluate(breached, now=DELIVERED)  # the claim, filed on delivery
    log_seal()
    result = evaluate_due_contracts()
    assert result == {"actions": 2, "evidence_attached": 1}
    clean.refresh_from_db()
    breached.refresh_from_db()
    assert (clean.status, breached.status) == ("settled", "settled")
    assert ContractAction.objects.get(shipment=breached, kind="payment_withheld")


def test_the_command_evaluates_the_named_shipments(capsys):
    shipment, _ = make_delivered(THREE_HOURS_CLEAN)
    call_command("evaluate_contracts", shipment.reference)
    out = capsys.readouterr().out
    assert f"{shipment.reference}/payment: payment_released" in out


def test_the_command_names_an_unknown_shipment():
    with pytest.raises(CommandError, match="no shipment NOPE"):
        call_command("evaluate_contracts", "NOPE")


@pytest.fixture
def eager_celery():
    """Tasks run in the caller at once (Celery's own eager mode), so a queued
    evaluation can be observed without a worker."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_a_rejection_files_its_claim_at_once(eager_celery, django_capture_on_commit_callbacks):
    shipment, _ = recently_delivered(THREE_HOURS_CLEAN)
    with django_capture_on_commit_callbacks(execute=True):
        release_sign(
            shipment=shipment,
            user=receiver_manager(shipment),
            password=PASSWORD,
            decision="rejected",
            reason="seal broken",
        )
    claim = ContractAction.objects.get(shipment=shipment)
    assert claim.kind == "insurance_claim"
    assert claim.details["grounds"] == ["the receiver rejected the load"]


def test_a_tampered_claim_row_fails_verify_ledger():
    shipment, _ = make_delivered(BREACH)
    (claim_action,) = contract_evaluate(shipment, now=DELIVERED)
    log_seal()
    InsuranceClaim.objects.filter(action=claim_action).update(policy="POL-OTHER")
    with pytest.raises(CommandError, match="the claim's policy is 'POL-OTHER'"):
        call_command("verify_ledger")
