"""Evidence bundles for insurance claims.

A claim is recorded (and its entry appended) when the engine decides it; its
entry is sealed by the next checkpoint, seconds later. The bundle needs that
checkpoint, so it is built afterwards: ``claims_evidence_attach`` (run by the
``coldchain.evaluate_due_contracts`` beat task) builds it for every claim
whose entry is sealed, against the latest checkpoint. The bundle holds the
claim's entry, the contract's activation entry (the terms), every reading and
assessment entry the claim names and the registrations of the model versions
involved, plus the device registrations the devices app adds as context; the
offline verifier (``python -m ledger.verify``) checks all of it.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from coldchain.models import InsuranceClaim
from ledger.evidence import EvidenceError, evidence_bundle
from ledger.services import checkpoint_latest

logger = logging.getLogger(__name__)


def claim_evidence_indices(claim: InsuranceClaim) -> list[int]:
    """The ledger indices the claim's bundle proves (its own entry first among them)."""
    action = claim.action
    indices = {
        action.ledger_entry.index,
        action.shipment.contract.ledger_entry.index,
        *action.reading_indices,
        *action.assessment_indices,
    }
    indices.update(version.registration_entry.index for version in action.model_versions.all())
    return sorted(indices)


def claim_evidence_attach(claim: InsuranceClaim) -> bool:
    """Build and keep the claim's bundle if its entry is sealed; whether it now has one."""
    with transaction.atomic():
        claim = (
            InsuranceClaim.objects.select_for_update(of=("self",))
            .select_related("action__ledger_entry__sealed", "action__shipment__contract")
            .get(pk=claim.pk)
        )
        if claim.evidence is not None:
            return True
        index = claim.action.ledger_entry.index
        checkpoint = checkpoint_latest()
        if index is None or checkpoint is None or checkpoint.size <= index:
            return False
        claim.evidence = evidence_bundle(claim_evidence_indices(claim), size=checkpoint.size)
        claim.evidence_built_at = timezone.now()
        claim.save(update_fields=["evidence", "evidence_built_at"])
    return True


def claims_evidence_attach() -> int:
    """Attach bundles to every claim still without one whose entry is sealed; how many."""
    attached = 0
    for claim in InsuranceClaim.objects.filter(evidence__isnull=True).order_by("id"):
        try:
            attached += claim_evidence_attach(claim)
        except EvidenceError:
            # One broken claim (a tree that fails its own proofs) must not stop the others;
            # verify_ledger names the cause.
            logger.exception("coldchain: cannot build the evidence of claim %s", claim.pk)
    return attached
