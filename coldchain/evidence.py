"""A shipment's evidence: every sealed log entry recorded about it, as a bundle.

The entries are the readings of its devices within their attachment periods,
its assessments and the registrations of the model versions that made them,
the acknowledgements and comments on its alerts, its contract's activation
(the terms), its recorded transitions, the contract engine's actions and the
receiver's release signature. The devices app adds the signing devices'
registrations (and rotations, revocations) as context, so the bundle checks
offline with ``python -m ledger.verify``. Registered as the ``shipment``
selector of ``manage.py export_evidence``.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from analytics.models import ModelVersion
from coldchain.cargo import attachment_filter
from coldchain.models import (
    AlertNote,
    Assessment,
    Contract,
    ContractAction,
    ReleaseSignature,
    Shipment,
    ShipmentTransition,
)
from devices.models import Reading
from ledger.evidence import EvidenceError, evidence_bundle
from ledger.services import checkpoint_latest

INDEX = "ledger_entry__sealed__index"


def _between(field: str, since: datetime | None, until: datetime | None) -> Q:
    condition = Q()
    if since is not None:
        condition &= Q(**{f"{field}__gte": since})
    if until is not None:
        condition &= Q(**{f"{field}__lt": until})
    return condition


def _sealed(rows: QuerySet, index: str = INDEX) -> set[int]:
    return set(rows.filter(**{f"{index}__isnull": False}).values_list(index, flat=True))


def shipment_evidence_indices(
    shipment: Shipment, *, since: datetime | None = None, until: datetime | None = None
) -> list[int]:
    """The log indices of the shipment's sealed entries, recorded in ``[since, until)``
    (readings by their signed time, the others by the instant they record)."""
    assessments = Assessment.objects.filter(
        _between("evaluated_at", since, until), shipment=shipment
    )
    models = ModelVersion.objects.filter(
        Q(pk__in=assessments.values("breach_model"))
        | Q(pk__in=assessments.values("breach_soon_model"))
    )
    indices = set()
    indices |= _sealed(
        Reading.objects.filter(attachment_filter(shipment), _between("ts", since, until))
    )
    indices |= _sealed(assessments)
    indices |= _sealed(models, "registration_entry__sealed__index")
    indices |= _sealed(
        AlertNote.objects.filter(_between("at", since, until), alert__shipment=shipment)
    )
    indices |= _sealed(
        Contract.objects.filter(_between("activated_at", since, until), shipment=shipment)
    )
    for model in (ShipmentTransition, ContractAction):
        indices |= _sealed(model.objects.filter(_between("at", since, until), shipment=shipment))
    indices |= _sealed(
        ReleaseSignature.objects.filter(_between("signed_at", since, until), shipment=shipment)
    )
    return sorted(indices)


def shipments_evidence_bundle(shipments: list[Shipment]) -> dict:
    """One bundle of the shipments' entries, against the latest checkpoint
    (entries sealed after it wait for the next one). Raises ``EvidenceError``."""
    checkpoint = checkpoint_latest()
    if checkpoint is None:
        raise EvidenceError("the log has no checkpoint yet")
    indices = {
        index
        for shipment in shipments
        for index in shipment_evidence_indices(shipment)
        if index < checkpoint.size
    }
    if not indices:
        raise EvidenceError("nothing about these shipments is sealed yet")
    # Without the per-entry C2SP tlog-proofs, which would repeat the signed note for
    # each of thousands of readings; export_evidence --tlog-proof-dir writes them.
    return evidence_bundle(indices, size=checkpoint.size, tlog_proofs=False)


def select_shipment(value: str, since: datetime | None, until: datetime | None) -> list[int]:
    """``export_evidence --select shipment=REFERENCE``."""
    shipment = Shipment.objects.filter(reference=value).first()
    if shipment is None:
        raise EvidenceError(f"no shipment {value}")
    return shipment_evidence_indices(shipment, since=since, until=until)
