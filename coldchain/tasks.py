"""Celery tasks of the shipment domain: thin wrappers around the contract services."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from coldchain.claims import claims_evidence_attach
from coldchain.contracts import contract_evaluate, contracts_due
from coldchain.models import Shipment


@shared_task(
    name="coldchain.evaluate_contract",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=None,
)
def evaluate_contract(shipment_id: int) -> dict:
    """Evaluate one shipment's contract (after scoring, delivery or a release)."""
    shipment = Shipment.objects.filter(pk=shipment_id).first()
    if shipment is None:
        return {"shipment": shipment_id, "missing": True}
    actions = contract_evaluate(shipment)
    return {"shipment": shipment.reference, "actions": [a.idempotency_key for a in actions]}


@shared_task(name="coldchain.evaluate_due_contracts", acks_late=True, ignore_result=True)
def evaluate_due_contracts() -> dict:
    """Beat: settle the shipments whose dispute window has ended; build pending claim evidence."""
    settled = [action for shipment in contracts_due() for action in contract_evaluate(shipment)]
    return {"actions": len(settled), "evidence_attached": claims_evidence_attach()}
