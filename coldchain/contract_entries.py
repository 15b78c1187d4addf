"""The ledger entries of contracts: their kinds, and their claims as the rows hold them.

One function per kind builds the claims from the stored row; the service signs
exactly those claims and ``verify_ledger`` (coldchain.contract_checks) compares
them with the logged ones, so a row changed behind the log's back shows.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from coldchain.models import Contract, ContractAction, ReleaseSignature, ShipmentTransition
from ledger.models import Entry
from ledger.platform_entries import platform_entry_sign
from ledger.services import entry_append

CONTRACT_ACTIVATED = "contract.activated"
SHIPMENT_TRANSITION = "shipment.transition"
CONTRACT_ACTION = "contract.action"
RELEASE_SIGNED = "release.signed"


def activation_claims(contract: Contract) -> dict:
    template = contract.template
    return {
        "shipment": contract.shipment.reference,
        "template": None if template is None else f"{template.name} v{template.version}",
        "terms": contract.terms,
        "terms_sha256": contract.terms_sha256,
    }


def transition_claims(transition: ShipmentTransition) -> dict:
    return {
        "shipment": transition.shipment.reference,
        "from": transition.from_status or None,
        "to": transition.to_status,
        "reason": transition.reason,
        "actor": None if transition.actor is None else transition.actor.get_username(),
    }


def action_claims(action: ContractAction, models: list[dict]) -> dict:
    """``models``: ``{task, version, artifact_sha256}`` of the model versions involved."""
    return {
        "shipment": action.shipment.reference,
        "action": action.kind,
        "idempotency_key": action.idempotency_key,
        "reason": action.reason,
        "terms_sha256": action.terms_sha256,
        "facts_sha256": action.facts_sha256,
        "reading_indices": action.reading_indices,
        "assessment_indices": action.assessment_indices,
        "models": models,
        "amount": None if action.amount is None else str(action.amount),
        "currency": action.currency,
        "payer": None if action.payer is None else action.payer.slug,
        "payee": None if action.payee is None else action.payee.slug,
        "details": action.details,
    }


def release_claims(signature: ReleaseSignature) -> dict:
    return {
        "shipment": signature.shipment.reference,
        "signer": signature.signer.get_username(),
        "printed_name": signature.printed_name,
        "meaning": signature.meaning,
        "decision": signature.decision,
        "released_fraction": str(signature.released_fraction),
        "reason": signature.reason,
    }


def anchor(*, kind: str, claims: dict, at: datetime) -> Entry:
    """Append the platform-signed entry; call in the transaction storing its row."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("anchor() must run in the transaction that stores the row")
    return entry_append(data=platform_entry_sign(kind=kind, claims=claims, at=at), kind=kind)
