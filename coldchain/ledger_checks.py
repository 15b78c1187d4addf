"""What the shipment domain stores of its decisions must equal what the log holds
(run by verify_ledger): assessments and alert notes."""

from __future__ import annotations

from collections.abc import Iterator

from coldchain.anchoring import (
    ALERT_NOTE_KIND,
    ASSESSMENT_KIND,
    alert_note_claims,
    assessment_claims,
)
from coldchain.models import AlertNote, Assessment
from ledger.checkers import EntryRow, Problem
from ledger.jws import JwsError
from ledger.platform_entries import platform_entry_open, platform_public_key, platform_timestamp


def _logged_and_stored(
    rows: list[EntryRow], stored_by_entry: dict, what: str, claims_of
) -> Iterator[Problem]:
    """For each entry: its claims against the claims its stored row gives, field by field."""
    public_key = platform_public_key()
    for row in rows:
        try:
            logged = platform_entry_open(row.data, public_key)
        except JwsError as error:
            yield Problem(row.index, f"{what} entry invalid: {error.detail}")
            continue
        stored_row = stored_by_entry.get(row.entry_id)
        if stored_row is None:
            yield Problem(
                row.index,
                f"{what} of shipment {logged.get('shipment')} is logged but not stored",
            )
            continue
        stored = claims_of(stored_row)
        differing = [
            f"{name} logged {logged.get(name)!r}, stored {stored.get(name)!r}"
            for name in sorted(logged.keys() | stored.keys())
            if logged.get(name) != stored.get(name)
        ]
        if differing:
            yield Problem(
                row.index, f"the stored {what} differs from the logged one: " + "; ".join(differing)
            )


def check_assessments(rows: list[EntryRow]) -> Iterator[Problem]:
    stored = {
        a.ledger_entry_id: a
        for a in Assessment.objects.filter(
            ledger_entry_id__in=[row.entry_id for row in rows]
        ).select_related("shipment", "breach_model", "breach_soon_model")
    }

    def claims_of(assessment: Assessment) -> dict:
        return {
            "kind": ASSESSMENT_KIND,
            "at": platform_timestamp(assessment.created_at),
            **assessment_claims(
                assessment,
                shipment_reference=assessment.shipment.reference,
                breach_model=assessment.breach_model,
                breach_soon_model=assessment.breach_soon_model,
            ),
        }

    yield from _logged_and_stored(rows, stored, "assessment", claims_of)


def check_alert_notes(rows: list[EntryRow]) -> Iterator[Problem]:
    stored = {
        note.ledger_entry_id: note
        for note in AlertNote.objects.filter(
            ledger_entry_id__in=[row.entry_id for row in rows]
        ).select_related("alert__shipment", "author")
    }

    def claims_of(note: AlertNote) -> dict:
        return {
            "kind": ALERT_NOTE_KIND,
            "at": platform_timestamp(note.at),
            **alert_note_claims(
                note, shipment_reference=note.alert.shipment.reference, alert_kind=note.alert.kind
            ),
        }

    yield from _logged_and_stored(rows, stored, "alert note", claims_of)
