"""The contract engine: from terms, facts and state to actions and the next state.

Pure and deterministic: no database, no clock, no randomness. The same terms,
facts, state and set of already recorded idempotency keys always give the
same decision, so anyone holding a contract action's terms and facts (both in
the ledger entry's hashes, both kept with the action) can recompute it. The
rules are documented in ``docs/contracts.md``, section "Contract engine".

Facts (built by :mod:`coldchain.contract_facts`) are a JSON-ready dict:
``shipment`` (reference), ``now``, ``departed_at``, ``delivered_at``,
``deadline_at`` (RFC 3339 or null), ``excursions`` (the excursion summary's
facts, or null without readings), ``excursion_reading_indices`` (one list per
excursion), ``reading_indices``, ``assessments`` (``evaluated_at``, ``flag``,
``ledger_index``, ``reading_indices``, ``breach_model``, ``breach_soon_model``)
and ``release`` (``decision``, ``fraction``, ``signed_at``, or null).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

ACTIVE = "active"
IN_TRANSIT = "in_transit"
DELIVERED = "delivered"
RELEASED = "released"
PARTIALLY_RELEASED = "partially_released"
REJECTED = "rejected"
SETTLED = "settled"
DISPUTED = "disputed"

BREACH_WARNING = "breach_warning"
INSURANCE_CLAIM = "insurance_claim"
PAYMENT_RELEASED = "payment_released"
PAYMENT_WITHHELD = "payment_withheld"
PAYMENT_KINDS = (PAYMENT_RELEASED, PAYMENT_WITHHELD)

# After delivery: once the dispute window has passed, these states settle.
PAYABLE_STATES = (DELIVERED, RELEASED, PARTIALLY_RELEASED, REJECTED)
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ModelRef:
    task: str
    version: int
    artifact_sha256: str

    def as_claims(self) -> dict:
        return {"task": self.task, "version": self.version, "artifact_sha256": self.artifact_sha256}


@dataclass(frozen=True)
class Action:
    """One thing the contract does, identified by ``key`` for exactly-once delivery."""

    kind: str
    key: str
    reason: str
    reading_indices: tuple[int, ...] = ()
    assessment_indices: tuple[int, ...] = ()
    models: tuple[ModelRef, ...] = ()
    amount: Decimal | None = None
    currency: str = ""
    payer: str | None = None
    payee: str | None = None
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    actions: tuple[Action, ...]  # only those whose key is not yet done
    state: str  # the state after these actions
    violations: tuple[str, ...]  # how the cargo went beyond tolerance, in words


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def _money(text: str | None) -> Decimal:
    return ZERO if text is None else Decimal(text)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def tolerance_violations(terms: dict, summary: dict | None) -> tuple[str, ...]:
    """How the validated cargo temperature went beyond the terms' tolerance."""
    if summary is None:
        return ()
    limits = terms["excursions"]
    found = []
    for excursion in summary["excursions"]:
        if excursion["minutes"] > limits["max_single_min"]:
            found.append(
                f"the {excursion['direction']} excursion from {excursion['start']} lasted "
                f"{excursion['minutes']:g} min, more than the {limits['max_single_min']:g} min "
                "allowed"
            )
        if not excursion["within_band"]:
            found.append(
                f"the {excursion['direction']} excursion from {excursion['start']} reached "
                f"{excursion['peak_c']:g} °C, outside the allowed band"
            )
    if summary["cumulative_minutes"] > limits["max_cumulative_min"]:
        found.append(
            f"{summary['cumulative_minutes']:g} min out of range in all, more than the "
            f"{limits['max_cumulative_min']:g} min allowed"
        )
    limit = limits["mkt_limit_c"]
    if limit is not None and summary["mkt_c"] is not None and summary["mkt_c"] > limit:
        found.append(
            f"mean kinetic temperature {summary['mkt_c']:g} °C above the {limit:g} °C limit"
        )
    return tuple(found)


def _model(ref: dict) -> ModelRef:
    return ModelRef(ref["task"], ref["version"], ref["artifact_sha256"])


def breach_warnings(facts: dict) -> list[Action]:
    """One warning to the carrier per run of consecutive breach-soon assessments,
    keyed by the run's first instant (re-scoring the same run warns no more)."""
    warnings = []
    previous = None
    for assessment in sorted(facts["assessments"], key=lambda a: a["evaluated_at"]):
        starts_run = assessment["flag"] == "breach_soon" and previous != "breach_soon"
        previous = assessment["flag"]
        if not starts_run:
            continue
        warnings.append(
            Action(
                kind=BREACH_WARNING,
                key=f"{facts['shipment']}/{BREACH_WARNING}/{assessment['evaluated_at']}",
                reason="the model expects a breach soon "
                f"(assessment of {assessment['evaluated_at']})",
                reading_indices=tuple(sorted(assessment["reading_indices"])),
                assessment_indices=(assessment["ledger_index"],),
                models=(_model(assessment["breach_soon_model"]),),
            )
        )
    return warnings


def _released_fraction(release: dict | None) -> Decimal:
    """The share of the load the receiver accepted; none until the receiver signs."""
    if release is None or release["decision"] == REJECTED:
        return Decimal(0)
    if release["decision"] == RELEASED:
        return Decimal(1)
    return Decimal(release["fraction"])


def insurance_claim(
    terms: dict, facts: dict, state: str, violations: tuple[str, ...]
) -> Action | None:
    """At most one claim per insured shipment: on a breach beyond tolerance or a rejected load."""
    insurance = terms["insurance"]
    rejected = (facts["release"] or {}).get("decision") == REJECTED
    if insurance is None or not (violations or rejected):
        return None
    grounds = list(violations) + (["the receiver rejected the load"] if rejected else [])
    excursion_readings = sorted(
        {index for indices in facts["excursion_reading_indices"] for index in indices}
    )
    breach_assessments = [a for a in facts["assessments"] if a["flag"] == "breach"]
    models = sorted(
        {_model(a["breach_model"]) for a in breach_assessments}, key=lambda m: (m.task, m.version)
    )
    insured, deductible = _money(insurance["insured_value"]), _money(insurance["deductible"])
    lost = insured * (1 - _released_fraction(facts["release"]))
    claimed = max(ZERO, _cents(lost - deductible))
    return Action(
        kind=INSURANCE_CLAIM,
        key=f"{facts['shipment']}/{INSURANCE_CLAIM}",
        reason="; ".join(grounds),
        reading_indices=tuple(excursion_readings or facts["reading_indices"]),
        assessment_indices=tuple(sorted(a["ledger_index"] for a in breach_assessments)),
        models=tuple(models),
        amount=claimed,
        currency=terms["payment"]["currency"],
        payer=insurance["insurer"],
        payee=terms["payment"]["payer"],
        details={
            "insurer": insurance["insurer"],
            "policy": insurance["policy"],
            "insured_value": insurance["insured_value"],
            "deductible": insurance["deductible"],
            "grounds": grounds,
        },
    )


def late_penalty(terms: dict, facts: dict) -> tuple[int, Decimal]:
    """Minutes late and the penalty: per started hour after the deadline, capped."""
    delivered, deadline = _moment(facts["delivered_at"]), _moment(facts["deadline_at"])
    late = max(timedelta(0), delivered - deadline) if delivered and deadline else timedelta(0)
    minutes = math.ceil(late.total_seconds() / 60)
    payment = terms["payment"]
    penalty = _money(payment["late_penalty_per_hour"]) * math.ceil(minutes / 60)
    cap = payment["late_penalty_max"]
    return minutes, penalty if cap is None else min(penalty, _money(cap))


def payment_decision(
    terms: dict, facts: dict, state: str, violations: tuple[str, ...]
) -> Action | None:
    """Once the dispute window after delivery has passed: release the payment,
    less penalties, or withhold it. One decision per shipment (one key for both)."""
    delivered = _moment(facts["delivered_at"])
    if state not in PAYABLE_STATES or delivered is None:
        return None
    if _moment(facts["now"]) < delivered + timedelta(hours=terms["dispute_window_h"]):
        return None
    payment = terms["payment"]
    common = {
        "key": f"{facts['shipment']}/payment",
        "reading_indices": tuple(facts["reading_indices"]),
        "currency": payment["currency"],
        "payer": payment["payer"],
        "payee": payment["payee"],
    }
    if state == REJECTED:
        return Action(kind=PAYMENT_WITHHELD, reason="the receiver rejected the load", **common)
    summary = facts["excursions"]
    if summary is None or summary["validated_samples"] == 0:
        return Action(
            kind=PAYMENT_WITHHELD,
            reason="there is no validated temperature record to show a clean delivery",
            **common,
        )
    if state == DELIVERED and violations:
        return Action(
            kind=PAYMENT_WITHHELD,
            reason="the cargo went beyond tolerance and the receiver did not release it",
            **common,
        )
    fraction = _released_fraction(facts["release"]) if state == PARTIALLY_RELEASED else Decimal(1)
    base = _cents(_money(payment["amount"]) * fraction)
    late_minutes, late = late_penalty(terms, facts)
    partial = _money(payment["partial_release_penalty"]) if state == PARTIALLY_RELEASED else ZERO
    net = max(ZERO, _cents(base - late - partial))
    details = {
        "base": str(base),
        "released_fraction": str(fraction),
        "late_minutes": late_minutes,
        "late_penalty": str(_cents(late)),
        "partial_release_penalty": str(_cents(partial)),
    }
    if net == ZERO:
        return Action(
            kind=PAYMENT_WITHHELD,
            reason="the penalties take the whole payment",
            amount=ZERO,
            details=details,
            **common,
        )
    reason = "clean delivery" if state != PARTIALLY_RELEASED else "partial release"
    if late_minutes:
        reason += f", delivered {late_minutes} min late"
    return Action(kind=PAYMENT_RELEASED, reason=reason, amount=net, details=details, **common)


def contract_actions(terms: dict, facts: dict, state: str, done: set[str]) -> Decision:
    """The actions the contract takes now that are not yet ``done``, and the next state."""
    violations = tolerance_violations(terms, facts["excursions"])
    actions: list[Action] = []
    if state in (ACTIVE, IN_TRANSIT):
        actions += breach_warnings(facts)
    claim = insurance_claim(terms, facts, state, violations)
    if claim is not None:
        actions.append(claim)
    next_state = state
    payment = payment_decision(terms, facts, state, violations)
    if payment is not None:
        actions.append(payment)
        next_state = SETTLED
    return Decision(
        actions=tuple(action for action in actions if action.key not in done),
        state=next_state,
        violations=violations,
    )
