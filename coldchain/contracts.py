"""Contract services: activate a shipment's terms and evaluate its contract,
recording each action exactly once.

Evaluation locks the shipment's row (``select_for_update``), so evaluations
of one shipment run one at a time; each action's idempotency key is also
UNIQUE in the database, so a retried or concurrent evaluation can never
record an action twice. Each action is a row plus a platform-signed ledger
entry in one transaction, and an integration event
(``coldchain.signals.shipment_event``) sent once the transaction commits.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from analytics.models import ModelVersion
from coldchain import engine
from coldchain.anchoring import entry_instant
from coldchain.contract_entries import (
    CONTRACT_ACTION,
    CONTRACT_ACTIVATED,
    action_claims,
    activation_claims,
    anchor,
)
from coldchain.contract_facts import contract_facts
from coldchain.models import (
    Contract,
    ContractAction,
    ContractTemplate,
    InsuranceClaim,
    Party,
    Shipment,
)
from coldchain.shipment_states import (
    ContractError,
    dispute_window_end,
    event_on_commit,
    shipment_locked,
    transition_record,
)
from coldchain.terms import sha256_json, terms_defaults, terms_merge, terms_validate
from ledger.services import checkpoint_latest

EVENT_TYPES = {
    ContractAction.Kind.BREACH_WARNING: "contract.breach_warning",
    ContractAction.Kind.INSURANCE_CLAIM: "contract.claim_filed",
    ContractAction.Kind.PAYMENT_RELEASED: "contract.payment_released",
    ContractAction.Kind.PAYMENT_WITHHELD: "contract.payment_withheld",
}


def _check_parties(shipment: Shipment, terms: dict) -> None:
    parties = {party.slug for party in shipment.parties().values()}
    named = {
        "payment.payer": terms["payment"]["payer"],
        "payment.payee": terms["payment"]["payee"],
    }
    if terms["insurance"] is not None:
        named["insurance.insurer"] = terms["insurance"]["insurer"]
    strangers = [f"{field} {slug!r}" for field, slug in named.items() if slug not in parties]
    if strangers:
        raise ContractError(
            f"{', '.join(strangers)} must be parties of shipment {shipment.reference}"
        )


def shipment_default_terms(shipment: Shipment, *, template: ContractTemplate | None = None) -> dict:
    """Terms before overrides and validation: the product's range and allowances,
    the shipment's parties, the template's values on top. Without a contract,
    pages and reports account a shipment's cargo under these."""
    product = shipment.product
    return terms_defaults(
        product_limits={
            "temp_min_c": product.temp_min_c,
            "temp_max_c": product.temp_max_c,
            "excursion_min_c": product.excursion_min_c,
            "excursion_max_c": product.excursion_max_c,
            "max_single_excursion_min": product.max_single_excursion_min,
            "max_cumulative_excursion_min": product.max_cumulative_excursion_min,
            "mkt_limit_c": product.mkt_limit_c,
        },
        payer=shipment.shipper.slug,
        payee=shipment.carrier.slug,
        insurer=shipment.insurer.slug if shipment.insurer else None,
        template_terms=template.terms if template else None,
    )


def shipment_accounting_terms(shipment: Shipment) -> dict:
    """The terms the shipment's cargo is accounted under: its contract's, or
    without a contract the defaults one would get."""
    contract = Contract.objects.filter(shipment=shipment).first()
    return contract.terms if contract is not None else shipment_default_terms(shipment)


def contract_terms(
    shipment: Shipment, *, template: ContractTemplate | None = None, overrides: dict | None = None
) -> dict:
    """The validated terms a contract for ``shipment`` would get (``TermsError`` if invalid)."""
    defaults = shipment_default_terms(shipment, template=template)
    terms = terms_validate(terms_merge(defaults, overrides or {}))
    _check_parties(shipment, terms)
    return terms


def contract_activate(
    shipment: Shipment,
    *,
    template: ContractTemplate | None = None,
    overrides: dict | None = None,
) -> Contract:
    """Fix the shipment's terms: validated, hashed and anchored; the shipment is active."""
    terms = contract_terms(shipment, template=template, overrides=overrides)
    with transaction.atomic():
        shipment = shipment_locked(shipment)
        if Contract.objects.filter(shipment=shipment).exists():
            raise ContractError(f"shipment {shipment.reference} already has a contract")
        if shipment.status != Shipment.Status.ACTIVE:
            raise ContractError(f"shipment {shipment.reference} is {shipment.status}, not active")
        contract = Contract(
            shipment=shipment,
            template=template,
            terms=terms,
            terms_sha256=sha256_json(terms),
            activated_at=entry_instant(),
        )
        contract.ledger_entry = anchor(
            kind=CONTRACT_ACTIVATED, claims=activation_claims(contract), at=contract.activated_at
        )
        contract.save()
    return contract


def _party(slug: str | None) -> Party | None:
    return None if slug is None else Party.objects.get(slug=slug)


def _record(
    shipment: Shipment, contract: Contract, action: engine.Action, facts: dict, at: datetime
) -> ContractAction:
    versions = [
        ModelVersion.objects.get(task=ref.task, version=ref.version) for ref in action.models
    ]
    row = ContractAction(
        shipment=shipment,
        kind=action.kind,
        idempotency_key=action.key,
        reason=action.reason,
        at=at,
        terms_sha256=contract.terms_sha256,
        facts_sha256=sha256_json(facts),
        facts=facts,
        reading_indices=list(action.reading_indices),
        assessment_indices=list(action.assessment_indices),
        amount=action.amount,
        currency=action.currency,
        payer=_party(action.payer),
        payee=_party(action.payee),
        details=action.details,
    )
    claims = action_claims(row, [ref.as_claims() for ref in action.models])
    row.ledger_entry = anchor(kind=CONTRACT_ACTION, claims=claims, at=at)
    row.save()
    row.model_versions.set(versions)
    if action.kind == engine.INSURANCE_CLAIM:
        InsuranceClaim.objects.create(
            action=row,
            insurer=row.payer,
            policy=action.details["policy"],
            insured_value=Decimal(action.details["insured_value"]),
            deductible=Decimal(action.details["deductible"]),
            claimed_amount=action.amount,
            currency=action.currency,
        )
    event_on_commit(
        shipment, EVENT_TYPES[action.kind], {**claims, "at": at.isoformat()}, action.key
    )
    return row


def _log_size() -> int:
    checkpoint = checkpoint_latest()
    return 0 if checkpoint is None else checkpoint.size


def contract_evaluate(shipment: Shipment, *, now: datetime | None = None) -> list[ContractAction]:
    """Run the engine on the shipment's current facts; record and anchor each new
    action once, and the state it leads to. The actions recorded by this call
    (none when a previous or concurrent run already recorded them)."""
    now = entry_instant(now)
    with transaction.atomic():
        shipment = shipment_locked(shipment)
        contract = Contract.objects.filter(shipment=shipment).first()
        if contract is None or shipment.status == Shipment.Status.SETTLED:
            return []
        facts = contract_facts(shipment, contract.terms, now=now, log_size=_log_size())
        done = set(
            ContractAction.objects.filter(shipment=shipment).values_list(
                "idempotency_key", flat=True
            )
        )
        decision = engine.contract_actions(contract.terms, facts, shipment.status, done)
        recorded = [_record(shipment, contract, action, facts, now) for action in decision.actions]
        if decision.state != shipment.status:
            settling = next(a for a in recorded if a.kind in engine.PAYMENT_KINDS)
            transition_record(shipment, decision.state, at=now, reason=settling.reason)
    return recorded


def contracts_due(now: datetime | None = None) -> list[Shipment]:
    """Delivered shipments whose dispute window has ended and that are not settled."""
    now = now or timezone.now()
    candidates = Shipment.objects.filter(
        status__in=engine.PAYABLE_STATES, delivered_at__isnull=False, contract__isnull=False
    ).select_related("contract")
    return [
        shipment
        for shipment in candidates
        if dispute_window_end(shipment, shipment.contract.terms) <= now
    ]


def contract_facts_recheck(action: ContractAction) -> list[str]:
    """Gather the action's facts again from stored data, as of the same log size
    and instant; what differs (nothing if the stored data are unchanged)."""
    facts = action.facts
    terms = action.shipment.contract.terms
    again = contract_facts(
        action.shipment,
        terms,
        now=datetime.fromisoformat(facts["now"].replace("Z", "+00:00")),
        log_size=facts["log_size"],
    )
    problems = [
        f"{name}: recorded {facts.get(name)!r}, stored data now give {again.get(name)!r}"
        for name in sorted(facts.keys() | again.keys())
        if facts.get(name) != again.get(name)
    ]
    if sha256_json(facts) != action.facts_sha256:
        problems.append("the recorded facts no longer hash to the action's facts_sha256")
    return problems
