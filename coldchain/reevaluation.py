"""Evaluate shipments now, on request (the admin, ``manage.py evaluate_shipments``),
instead of waiting for the evaluation tick and the contract triggers."""

from __future__ import annotations

from dataclasses import dataclass

from coldchain.contracts import contract_evaluate
from coldchain.evaluation import EvaluationResult, shipment_evaluate
from coldchain.models import Shipment


def shipment_evaluate_all(shipment: Shipment) -> EvaluationResult:
    """Assess every ready instant, past the per-run cap (``EVALUATION_MAX_INSTANTS``);
    the totals of the runs. Stops at a skipped run (no active model)."""
    assessments = opened = closed = 0
    while True:
        result = shipment_evaluate(shipment)
        assessments += result.assessments
        opened += result.alerts_opened
        closed += result.alerts_closed
        if result.skipped or not result.more:
            return EvaluationResult(
                shipment.reference,
                assessments=assessments,
                alerts_opened=opened,
                alerts_closed=closed,
                retry_at=result.retry_at,
                skipped=result.skipped,
            )


@dataclass(frozen=True)
class Reevaluation:
    scoring: EvaluationResult
    actions: int  # contract actions recorded by this run


def shipment_reevaluate(shipment: Shipment) -> Reevaluation:
    """Assess the shipment's ready instants, then evaluate its contract (if it has one).

    Both steps are idempotent: instants already assessed and actions already
    recorded are left as they are, so running it again only adds what is new.
    """
    scoring = shipment_evaluate_all(shipment)
    return Reevaluation(scoring=scoring, actions=len(contract_evaluate(shipment)))
