"""The shipment's state machine: every status change is a recorded, anchored transition.

Changes to one shipment are serialised by locking its row
(``select_for_update``); each transition is a row plus a platform-signed
ledger entry in one transaction, and a ``shipment.status_changed`` event
(``coldchain.signals.shipment_event``) sent once the transaction commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from coldchain.anchoring import entry_instant
from coldchain.contract_entries import SHIPMENT_TRANSITION, anchor, transition_claims
from coldchain.contract_facts import departed_at
from coldchain.models import Contract, Membership, Shipment, ShipmentTransition
from coldchain.signals import shipment_event

Status = Shipment.Status

# Which status may follow which; every change is recorded as a ShipmentTransition.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.ACTIVE: frozenset({Status.IN_TRANSIT}),
    Status.IN_TRANSIT: frozenset({Status.DELIVERED}),
    Status.DELIVERED: frozenset(
        {
            Status.RELEASED,
            Status.PARTIALLY_RELEASED,
            Status.REJECTED,
            Status.DISPUTED,
            Status.SETTLED,
        }
    ),
    Status.RELEASED: frozenset({Status.DISPUTED, Status.SETTLED}),
    Status.PARTIALLY_RELEASED: frozenset({Status.DISPUTED, Status.SETTLED}),
    Status.REJECTED: frozenset({Status.DISPUTED, Status.SETTLED}),
    Status.DISPUTED: frozenset(),
    Status.SETTLED: frozenset(),
}


class ContractError(ValueError):
    """The request cannot be carried out as asked; the message says why."""


def shipment_locked(shipment: Shipment) -> Shipment:
    """The shipment's row, locked until the end of the transaction, freshly read."""
    return Shipment.objects.select_for_update().select_related("product").get(pk=shipment.pk)


def event_on_commit(shipment: Shipment, event_type: str, payload: dict, key: str) -> None:
    """Announce the event once the current transaction commits (never a rolled-back one)."""
    transaction.on_commit(
        lambda: shipment_event.send(
            sender=Shipment, shipment=shipment, event_type=event_type, payload=payload, key=key
        )
    )


def transition_record(
    shipment: Shipment, to: str, *, at: datetime, reason: str, actor=None
) -> ShipmentTransition:
    """Record the move of the locked ``shipment`` to ``to``; anchored, announced on commit."""
    current = shipment.status
    if to not in TRANSITIONS[current]:
        raise ContractError(f"shipment {shipment.reference} is {current}: it cannot become {to}")
    transition = ShipmentTransition(
        shipment=shipment,
        from_status=current,
        to_status=to,
        at=entry_instant(at),
        reason=reason[:300],
        actor=actor,
    )
    claims = transition_claims(transition)
    transition.ledger_entry = anchor(kind=SHIPMENT_TRANSITION, claims=claims, at=transition.at)
    transition.save()
    shipment.status = to
    shipment.save(update_fields=["status"])
    event_on_commit(
        shipment,
        "shipment.status_changed",
        {**claims, "at": transition.at.isoformat()},
        f"{shipment.reference}/status/{to}",
    )
    return transition


def shipment_depart(shipment: Shipment, *, at: datetime | None = None, actor=None) -> Shipment:
    """The load left: in transit from ``at`` (the adaptation period starts then)."""
    with transaction.atomic():
        shipment = shipment_locked(shipment)
        if not Contract.objects.filter(shipment=shipment).exists():
            raise ContractError(f"shipment {shipment.reference} has no contract: activate one")
        transition_record(
            shipment, Status.IN_TRANSIT, at=at or timezone.now(), reason="departed", actor=actor
        )
    return shipment


def shipment_deliver(shipment: Shipment, *, at: datetime, actor=None) -> Shipment:
    """The load arrived at ``at``: the dispute window starts, the receiver may sign."""
    with transaction.atomic():
        shipment = shipment_locked(shipment)
        at = entry_instant(at)
        if at > timezone.now() + timedelta(minutes=5):
            raise ContractError("a delivery time cannot be in the future")
        departed = departed_at(shipment)
        if departed is not None and at < departed:
            raise ContractError(f"a delivery time cannot be before the departure ({departed})")
        shipment.delivered_at = at
        transition_record(shipment, Status.DELIVERED, at=at, reason="delivered", actor=actor)
        shipment.save(update_fields=["delivered_at"])
    return shipment


def dispute_window_end(shipment: Shipment, terms: dict) -> datetime | None:
    if shipment.delivered_at is None:
        return None
    return shipment.delivered_at + timedelta(hours=terms["dispute_window_h"])


def dispute_open(*, shipment: Shipment, user, reason: str) -> ShipmentTransition:
    """A party's manager disputes the outcome within the dispute window; the
    engine then takes no payment decision."""
    reason = (reason or "").strip()
    if not reason:
        raise ContractError("a dispute needs a reason")
    with transaction.atomic():
        shipment = shipment_locked(shipment)
        membership = Membership.objects.filter(user=user).first()
        parties = {
            shipment.shipper_id,
            shipment.carrier_id,
            shipment.receiver_id,
            shipment.insurer_id,
            shipment.bank_id,
        }
        if (
            membership is None
            or membership.party_id not in parties
            or membership.role != Membership.Role.MANAGER
        ):
            raise ContractError("only a manager of one of the shipment's parties may dispute it")
        contract = Contract.objects.filter(shipment=shipment).first()
        end = None if contract is None else dispute_window_end(shipment, contract.terms)
        now = timezone.now()
        if end is None or now >= end:
            raise ContractError(f"shipment {shipment.reference} is not within its dispute window")
        return transition_record(shipment, Status.DISPUTED, at=now, reason=reason, actor=user)
