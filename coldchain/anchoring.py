"""The ledger entries of the shipment domain's decisions: what each one claims.

One function per entry kind builds the claims from the stored row, so that
the entry is signed from exactly what is stored and ``verify_ledger``
(coldchain.ledger_checks) can rebuild them to compare. Formats in
docs/evaluation.md.
"""

from __future__ import annotations

from datetime import UTC, datetime

from analytics.models import ModelVersion
from coldchain.models import AlertNote, Assessment
from ledger.platform_entries import platform_timestamp

ASSESSMENT_KIND = "assessment"
ALERT_NOTE_KIND = "alert.note"


def entry_instant(moment: datetime | None = None) -> datetime:
    """``moment`` (default now) in the precision entries sign, milliseconds, so
    row and entry hold the same instant."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _model(version: ModelVersion) -> dict:
    return {"version": version.version, "artifact_sha256": version.artifact_sha256}


def assessment_claims(
    assessment: Assessment,
    *,
    shipment_reference: str,
    breach_model: ModelVersion,
    breach_soon_model: ModelVersion,
) -> dict:
    """The claims of an ``assessment`` entry, as the row holds them."""
    return {
        "shipment": shipment_reference,
        "evaluated_at": platform_timestamp(assessment.evaluated_at),
        "models": {"breach": _model(breach_model), "breach_soon": _model(breach_soon_model)},
        "input_sha256": assessment.input_sha256,
        "probabilities": {
            "breach": assessment.breach_prob,
            "breach_soon": assessment.breach_soon_prob,
            "sensor_fault": assessment.sensor_fault_prob,
        },
        "flag": assessment.flag,
        "validated_c": assessment.validated_c,
        "flagged_devices": assessment.flagged_devices,
        "top_factors": assessment.top_factors,
        "reading_indices": assessment.reading_indices,
    }


def alert_note_claims(note: AlertNote, *, shipment_reference: str, alert_kind: str) -> dict:
    """The claims of an ``alert.note`` entry, as the note holds them."""
    return {
        "shipment": shipment_reference,
        "alert": note.alert_id,
        "alert_kind": alert_kind,
        "note": note.kind,
        "author": note.author.get_username(),
        "author_id": note.author_id,
        "text": note.text,
    }
