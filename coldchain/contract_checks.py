"""What contracts store must equal what the log holds (run by verify_ledger).

For every contract entry the stored row must give exactly the logged claims;
an action's stored facts must still hash to the facts_sha256 it was logged
with, and its terms hash must be its contract's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django.db import models

from coldchain.contract_entries import (
    action_claims,
    activation_claims,
    release_claims,
    transition_claims,
)
from coldchain.models import Contract, ContractAction, ReleaseSignature, ShipmentTransition
from coldchain.terms import sha256_json
from ledger.checkers import EntryRow, Problem
from ledger.jws import JwsError
from ledger.platform_entries import platform_entry_open, platform_public_key, platform_timestamp


def _differences(logged: dict, stored: dict) -> list[str]:
    return [
        f"{name} logged {logged.get(name)!r}, stored {stored.get(name)!r}"
        for name in sorted(logged.keys() | stored.keys())
        if logged.get(name) != stored.get(name)
    ]


def _model_refs(action: ContractAction) -> list[dict]:
    return [
        {"task": v.task, "version": v.version, "artifact_sha256": v.artifact_sha256}
        for v in sorted(action.model_versions.all(), key=lambda v: (v.task, v.version))
    ]


def _claim_differences(action: ContractAction) -> list[str]:
    """The claim row must say what the logged action says."""
    claim = getattr(action, "claim", None)
    if claim is None:
        return ["the insurance claim row is missing"]
    details = action.details
    stored = {
        "insurer": (claim.insurer_id, action.payer_id),
        "policy": (claim.policy, details.get("policy")),
        "insured_value": (str(claim.insured_value), details.get("insured_value")),
        "deductible": (str(claim.deductible), details.get("deductible")),
        "claimed_amount": (claim.claimed_amount, action.amount),
        "currency": (claim.currency, action.currency),
    }
    return [
        f"the claim's {name} is {mine!r}, the action's {logged!r}"
        for name, (mine, logged) in stored.items()
        if mine != logged
    ]


def _action_stored(action: ContractAction) -> tuple[dict, list[str]]:
    extra = []
    if sha256_json(action.facts) != action.facts_sha256:
        extra.append("the stored facts do not hash to the action's facts_sha256")
    if action.terms_sha256 != action.shipment.contract.terms_sha256:
        extra.append("the action's terms hash is not its contract's")
    if action.kind == ContractAction.Kind.INSURANCE_CLAIM:
        extra += _claim_differences(action)
    return {
        **action_claims(action, _model_refs(action)),
        "at": platform_timestamp(action.at),
    }, extra


def _checker(
    model: type[models.Model],
    what: str,
    stored_claims: Callable[[models.Model], tuple[dict, list[str]]],
    related: tuple[str, ...],
    prefetch: tuple[str, ...] = (),
) -> Callable[[list[EntryRow]], Iterator[Problem]]:
    def check(rows: list[EntryRow]) -> Iterator[Problem]:
        stored = {
            row.ledger_entry_id: row
            for row in model.objects.filter(ledger_entry_id__in=[r.entry_id for r in rows])
            .select_related(*related)
            .prefetch_related(*prefetch)
        }
        for row in rows:
            try:
                claims = platform_entry_open(row.data, platform_public_key())
            except JwsError as error:
                yield Problem(row.index, f"{what} entry invalid: {error.detail}")
                continue
            instance = stored.get(row.entry_id)
            if instance is None:
                yield Problem(
                    row.index, f"a {what} of {claims.get('shipment')} is logged but not stored"
                )
                continue
            expected, extra = stored_claims(instance)
            differing = _differences(claims, {"kind": claims.get("kind"), **expected}) + extra
            if differing:
                yield Problem(
                    row.index,
                    f"the stored {what} of {claims.get('shipment')} differs from the log: "
                    + "; ".join(differing),
                )

    return check


check_activations = _checker(
    Contract,
    "contract",
    lambda c: ({**activation_claims(c), "at": platform_timestamp(c.activated_at)}, []),
    ("shipment", "template"),
)
check_transitions = _checker(
    ShipmentTransition,
    "status transition",
    lambda t: ({**transition_claims(t), "at": platform_timestamp(t.at)}, []),
    ("shipment", "actor"),
)
check_actions = _checker(
    ContractAction,
    "contract action",
    _action_stored,
    ("shipment__contract", "payer", "payee", "claim"),
    ("model_versions",),
)
check_releases = _checker(
    ReleaseSignature,
    "release signature",
    lambda s: ({**release_claims(s), "at": platform_timestamp(s.signed_at)}, []),
    ("shipment", "signer"),
)
