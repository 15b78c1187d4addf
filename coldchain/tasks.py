"""Celery tasks of the shipment domain: thin wrappers around its services."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from coldchain.alerts import alerts_escalate
from coldchain.claims import claims_evidence_attach
from coldchain.contracts import contract_evaluate, contracts_due
from coldchain.evaluation_queue import dirty_shipment_evaluate, dirty_shipments_queue
from coldchain.models import Shipment

logger = logging.getLogger(__name__)


@shared_task(
    name="coldchain.evaluate_shipment",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=10,
)
def evaluate_shipment_task(shipment_id: int) -> dict:
    result = dirty_shipment_evaluate(shipment_id)
    if result is None:
        return {"shipment": shipment_id, "marked": False}
    if result.assessments:
        enqueue_contract_evaluation(shipment_id)
    return {
        "shipment": result.shipment,
        "assessments": result.assessments,
        "alerts_opened": result.alerts_opened,
        "alerts_closed": result.alerts_closed,
        "skipped": result.skipped,
    }


def enqueue_evaluation(shipment_id: int) -> None:
    # No publish retries: the mark stays queued and the tick queues it again
    # after EVALUATION_REQUEUE_AFTER_S if this message is lost.
    evaluate_shipment_task.apply_async(args=[shipment_id], retry=False)


@shared_task(name="coldchain.evaluate_dirty_shipments", ignore_result=True)
def evaluate_dirty_shipments_task() -> int:
    return dirty_shipments_queue(enqueue=enqueue_evaluation)


@shared_task(name="coldchain.escalate_alerts", ignore_result=True)
def escalate_alerts_task() -> int:
    return alerts_escalate()


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


def enqueue_contract_evaluation(shipment_id: int) -> None:
    """Queue the shipment's contract evaluation; never fails the caller.

    A lost message delays actions, never loses them: the next scoring run or
    release queues it again, and the due-contracts tick settles every
    shipment whose dispute window has ended.
    """
    try:
        evaluate_contract.apply_async(args=[shipment_id], retry=False)
    except Exception:
        logger.exception("coldchain: could not queue the contract evaluation of %s", shipment_id)
