"""Two shipments under contract, each breached in transit: the engine filed a
claim at delivery and withheld the payment after the dispute window; the
claim's evidence bundle is built. The two share no party."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth.models import User

from coldchain.claims import claims_evidence_attach
from coldchain.contracts import contract_evaluate
from coldchain.models import ContractAction, InsuranceClaim, Shipment
from ledger.services import log_seal
from tests.coldchain.api.world import ROLES
from tests.contract_factories import BREACH, DELIVERED, make_delivered
from tests.shipment_factories import make_user

AFTER_DISPUTE_WINDOW = DELIVERED + timedelta(hours=49)


@dataclass
class ContractSide:
    shipment: Shipment
    claim: InsuranceClaim
    payment: ContractAction
    users: dict[str, User] = field(default_factory=dict)


def make_contract_side() -> ContractSide:
    shipment, _ = make_delivered(BREACH)
    (claim_action,) = contract_evaluate(shipment, now=DELIVERED)
    (payment,) = contract_evaluate(shipment, now=AFTER_DISPUTE_WINDOW)
    log_seal()
    users = {role: make_user(getattr(shipment, role)) for role in ROLES}
    return ContractSide(shipment, claim_action.claim, payment, users)


@dataclass
class ContractWorld:
    a: ContractSide
    b: ContractSide


def make_contract_world() -> ContractWorld:
    world = ContractWorld(a=make_contract_side(), b=make_contract_side())
    claims_evidence_attach()
    for side in (world.a, world.b):
        side.claim.refresh_from_db()
    return world
