"""When a shipment's contract is evaluated besides the due-contracts tick: on
delivery and on the receiver's release signature (scoring runs queue it too,
see ``coldchain.tasks.evaluate_shipment_task``)."""

from __future__ import annotations

from coldchain.models import Shipment

TRIGGERING_STATES = frozenset(
    {
        Shipment.Status.DELIVERED,
        Shipment.Status.RELEASED,
        Shipment.Status.PARTIALLY_RELEASED,
        Shipment.Status.REJECTED,
    }
)


def contract_evaluation_on_event(
    sender, *, shipment: Shipment, event_type: str, payload: dict, **kwargs
) -> None:
    """``shipment_event`` receiver: a delivery or a release decision may file a
    claim (a rejected load) at once, without waiting for the next tick."""
    if event_type == "shipment.status_changed" and payload.get("to") in TRIGGERING_STATES:
        from coldchain.tasks import enqueue_contract_evaluation  # tasks import the services

        enqueue_contract_evaluation(shipment.pk)
