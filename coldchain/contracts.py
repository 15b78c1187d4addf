"""Contract services: activate terms, move a shipment through its states, sign
the release, and evaluate the contract, recording each action exactly once.

Every change is a row plus a platform-signed ledger entry in one transaction,
and an integration event (``coldchain.signals.shipment_event``) sent once the
transaction commits. Changes to one shipment are serialised by locking its
row (``select_for_update``); each action's idempotency key is also UNIQUE in
the database, so a retried or concurrent evaluation can never record an
action twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from analytics.models import ModelVersion
from coldchain import engine
from coldchain.anchoring import entry_instant
from coldchain.contract_entries import (
    CONTRACT_ACTION,
    CONTRACT_ACTIVATED,
    RELEASE_SIGNED,
    SHIPMENT_TRANSITION,
    action_claims,
    activation_claims,
    anchor,
    release_claims,
    transition_claims,
)
from coldchain.contract_facts import contract_facts, departed_at
from coldchain.models import (
    Contract,
    ContractAction,
    ContractTemplate,
    InsuranceClaim,
    Membership,
    Party,
    ReleaseSignature,
    Shipment,
    ShipmentTransition,
)
from coldchain.signals import shipment_event
from coldchain.terms import sha256_json, terms_defaults, terms_merge, terms_validate
from ledger.services import checkpoint_latest

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

EVENT_TYPES = {
    ContractAction.Kind.BREACH_WARNING: "contract.breach_warning",
    ContractAction.Kind.INSURANCE_CLAIM: "contract.claim_filed",
    ContractAction.Kind.PAYMENT_RELEASED: "contract.payment_released",
    ContractAction.Kind.PAYMENT_WITHHELD: "contract.payment_withheld",
}

# What the signer's signature means (21 CFR Part 11 §11.50(a)(3)), shown before signing.
MEANINGS = {
    ReleaseSignature.Decision.RELEASED: "I release this load: I accept all of it as conforming",
    ReleaseSignature.Decision.PARTIALLY_RELEASED: (
        "I release {percent} of this load and reject the rest"
    ),
    ReleaseSignature.Decision.REJECTED: "I reject this load: I do not accept any of it",
}


class ContractError(ValueError):
    """The request cannot be carried out as asked; the message says why."""


class SignatureRefused(ContractError):
    """The user may not sign, or did not authenticate (wrong password)."""


def _locked(shipment: Shipment) -> Shipment:
    return Shipment.objects.select_for_update().select_related("product").get(pk=shipment.pk)


def _send_on_commit(shipment: Shipment, event_type: str, payload: dict, key: str) -> None:
    transaction.on_commit(
        lambda: shipment_event.send(
            sender=Shipment, shipment=shipment, event_type=event_type, payload=payload, key=key
        )
    )


def _transition(
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
    _send_on_commit(
        shipment,
        "shipment.status_changed",
        {**claims, "at": transition.at.isoformat()},
        f"{shipment.reference}/status/{to}",
    )
    return transition


def _check_parties(shipment: Shipment, terms: dict) -> None:
    parties = {
        party.slug
        for party in (
            shipment.shipper,
            shipment.carrier,
            shipment.receiver,
            shipment.insurer,
            shipment.bank,
        )
        if party is not None
    }
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


def contract_terms(
    shipment: Shipment, *, template: ContractTemplate | None = None, overrides: dict | None = None
) -> dict:
    """The validated terms a contract for ``shipment`` would get (``TermsError`` if invalid)."""
    product = shipment.product
    defaults = terms_defaults(
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
        shipment = _locked(shipment)
        if Contract.objects.filter(shipment=shipment).exists():
            raise ContractError(f"shipment {shipment.reference} already has a contract")
        if shipment.status != Status.ACTIVE:
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


def shipment_depart(shipment: Shipment, *, at: datetime | None = None, actor=None) -> Shipment:
    """The load left: in transit from ``at`` (the adaptation period starts then)."""
    with transaction.atomic():
        shipment = _locked(shipment)
        if not Contract.objects.filter(shipment=shipment).exists():
            raise ContractError(f"shipment {shipment.reference} has no contract: activate one")
        _transition(
            shipment, Status.IN_TRANSIT, at=at or timezone.now(), reason="departed", actor=actor
        )
    return shipment


def shipment_deliver(shipment: Shipment, *, at: datetime, actor=None) -> Shipment:
    """The load arrived at ``at``: the dispute window starts, the receiver may sign."""
    with transaction.atomic():
        shipment = _locked(shipment)
        at = entry_instant(at)
        if at > timezone.now() + timedelta(minutes=5):
            raise ContractError("a delivery time cannot be in the future")
        departed = departed_at(shipment)
        if departed is not None and at < departed:
            raise ContractError(f"a delivery time cannot be before the departure ({departed})")
        shipment.delivered_at = at
        _transition(shipment, Status.DELIVERED, at=at, reason="delivered", actor=actor)
        shipment.save(update_fields=["delivered_at"])
    return shipment


def _fraction(decision: str, fraction: object) -> Decimal:
    if decision == ReleaseSignature.Decision.RELEASED:
        return Decimal(1)
    if decision == ReleaseSignature.Decision.REJECTED:
        return Decimal(0)
    try:
        value = Decimal(str(fraction))
    except InvalidOperation:
        value = Decimal("NaN")
    if fraction is None or isinstance(fraction, bool) or not (0 < value < 1):
        raise ContractError("a partial release needs the released fraction, between 0 and 1")
    return value.quantize(Decimal("0.0001"))


def release_meaning(decision: str, fraction: Decimal) -> str:
    """The meaning of the signature, as shown to the signer and recorded with it."""
    return MEANINGS[decision].format(percent=f"{fraction * 100:.2f} %")


def release_manifestation(signature: ReleaseSignature) -> str:
    """The signature as every display and printout shows it (§11.50): printed
    name, date and time (UTC) and meaning."""
    return (
        f"Signed by {signature.printed_name} on "
        f"{signature.signed_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC. "
        f"Meaning: {signature.meaning}."
        + (f" Reason: {signature.reason}" if signature.reason else "")
    )


def _check_signer(shipment: Shipment, user, password: str) -> None:
    membership = Membership.objects.filter(user=user).select_related("party").first()
    if (
        not user.is_active
        or membership is None
        or membership.party_id != shipment.receiver_id
        or membership.role != Membership.Role.MANAGER
    ):
        raise SignatureRefused(
            f"only a manager of the receiver ({shipment.receiver}) may sign the release"
        )
    # §11.200(a)(1): each signing re-enters the password, even within a session.
    if not isinstance(password, str) or not user.check_password(password):
        raise SignatureRefused("the password is not correct: the release was not signed")


def release_sign(
    *,
    shipment: Shipment,
    user,
    password: str,
    decision: str,
    fraction: object = None,
    reason: str = "",
) -> ReleaseSignature:
    """The receiver's release decision, signed with the user's password and anchored."""
    if decision not in ReleaseSignature.Decision.values:
        raise ContractError(
            f"decision must be one of {', '.join(ReleaseSignature.Decision.values)}"
        )
    released = _fraction(decision, fraction)
    reason = (reason or "").strip()
    if decision != ReleaseSignature.Decision.RELEASED and not reason:
        raise ContractError("a partial release or a rejection needs a reason")
    _check_signer(shipment, user, password)
    with transaction.atomic():
        shipment = _locked(shipment)
        if shipment.status != Status.DELIVERED:
            raise ContractError(
                f"shipment {shipment.reference} is {shipment.status}: only a delivered load "
                "can be released or rejected"
            )
        signature = ReleaseSignature(
            shipment=shipment,
            signer=user,
            printed_name=(user.get_full_name() or user.get_username()).strip(),
            meaning=release_meaning(decision, released),
            decision=decision,
            released_fraction=released,
            reason=reason,
            signed_at=entry_instant(),
        )
        claims = release_claims(signature)
        signature.ledger_entry = anchor(kind=RELEASE_SIGNED, claims=claims, at=signature.signed_at)
        signature.save()
        _transition(
            shipment, decision, at=signature.signed_at, reason=signature.meaning, actor=user
        )
        _send_on_commit(
            shipment,
            "shipment.release_signed",
            {**claims, "at": signature.signed_at.isoformat()},
            f"{shipment.reference}/release",
        )
    return signature


def _dispute_window_end(shipment: Shipment, terms: dict) -> datetime | None:
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
        shipment = _locked(shipment)
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
        end = None if contract is None else _dispute_window_end(shipment, contract.terms)
        now = timezone.now()
        if end is None or now >= end:
            raise ContractError(f"shipment {shipment.reference} is not within its dispute window")
        return _transition(shipment, Status.DISPUTED, at=now, reason=reason, actor=user)


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
    _send_on_commit(
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
        shipment = _locked(shipment)
        contract = Contract.objects.filter(shipment=shipment).first()
        if contract is None or shipment.status == Status.SETTLED:
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
            _transition(shipment, decision.state, at=now, reason=settling.reason)
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
        if _dispute_window_end(shipment, shipment.contract.terms) <= now
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
