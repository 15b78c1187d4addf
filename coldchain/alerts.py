"""Alerts: opened, kept and closed by assessments; acknowledged, commented and escalated.

Lifecycle (docs/evaluation.md): an alert of a kind opens on the first
assessment flagged with that kind, stays open (``last_assessment`` moves on)
while the flag recurs, and closes at the first assessment without it that
comes ``ALERT_CLOSE_AFTER_S`` (cargo time) after the last one with it. At
most one live alert per shipment and kind (a database constraint). Every
change is announced with ``coldchain.signals.shipment_event`` after commit,
under a key that names the alert and the change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from coldchain.access import acts_as_staff, shipments_visible_to
from coldchain.anchoring import ALERT_NOTE_KIND, alert_note_claims, entry_instant
from coldchain.models import Alert, AlertNote, Assessment, Membership, Party
from coldchain.signals import shipment_event
from ledger.platform_entries import platform_entry_sign, platform_timestamp
from ledger.services import entry_append

logger = logging.getLogger(__name__)

ALERT_OPENED = "alert.opened"
ALERT_CLOSED = "alert.closed"
ALERT_ESCALATED = "alert.escalated"
NOTE_MAX_CHARS = 2000
ACTING_ROLES = frozenset({Membership.Role.MANAGER, Membership.Role.OPERATOR})


class AlertError(ValueError):
    """The alert cannot take this note; the message says why."""


class AlertPermissionError(AlertError):
    """The user may not act on this alert."""


@dataclass
class AlertChanges:
    opened: list[Alert] = field(default_factory=list)
    closed: list[Alert] = field(default_factory=list)


def _assessment_summary(assessment: Assessment) -> dict:
    return {
        "id": assessment.pk,
        "evaluated_at": platform_timestamp(assessment.evaluated_at),
        "flag": assessment.flag,
        "probabilities": {
            "breach": assessment.breach_prob,
            "breach_soon": assessment.breach_soon_prob,
            "sensor_fault": assessment.sensor_fault_prob,
        },
        "validated_c": assessment.validated_c,
    }


def alert_event_payload(alert: Alert, event_type: str) -> dict:
    """What an event says about its alert: only what that change fixed, so a
    repeated key always carries the same payload."""
    payload = {
        "alert": alert.pk,
        "shipment": alert.shipment.reference,
        "kind": alert.kind,
        "opened_at": platform_timestamp(alert.opened_at),
        "opened_by": _assessment_summary(alert.opened_by),
    }
    if event_type == ALERT_CLOSED:
        payload["closed_at"] = platform_timestamp(alert.closed_at)
        payload["closed_by"] = _assessment_summary(alert.closed_by)
    if event_type == ALERT_ESCALATED:
        payload["escalated_at"] = platform_timestamp(alert.escalated_at)
    return payload


def _announce(alert: Alert, event_type: str) -> None:
    payload = alert_event_payload(alert, event_type)
    key = f"{event_type}:{alert.pk}"

    def send() -> None:
        for receiver, result in shipment_event.send_robust(
            sender=Alert, shipment=alert.shipment, event_type=event_type, payload=payload, key=key
        ):
            if isinstance(result, Exception):
                logger.error(
                    "shipment_event receiver %r failed on %s", receiver, key, exc_info=result
                )

    transaction.on_commit(send)


def alerts_follow(shipment_id: int, assessments: list[Assessment]) -> AlertChanges:
    """Open, keep or close the shipment's alerts for new assessments, oldest first.

    Call in the transaction that stores the assessments, with the shipment
    locked; events are sent when it commits.
    """
    quiet = timedelta(seconds=settings.ALERT_CLOSE_AFTER_S)
    live = {
        alert.kind: alert
        for alert in Alert.objects.select_for_update(of=("self",))
        .filter(shipment_id=shipment_id)
        .exclude(status=Alert.Status.CLOSED)
        .select_related("last_assessment")
    }
    changes = AlertChanges()
    touched: dict[int, Alert] = {}
    for assessment in assessments:
        for kind in Alert.Kind.values:
            alert = live.get(kind)
            if assessment.flag == kind:
                if alert is None:
                    alert = Alert.objects.create(
                        shipment_id=shipment_id,
                        kind=kind,
                        opened_at=assessment.evaluated_at,
                        opened_by=assessment,
                        last_assessment=assessment,
                    )
                    live[kind] = alert
                    changes.opened.append(alert)
                else:
                    alert.last_assessment = assessment
                    touched[alert.pk] = alert
            elif alert is not None and (
                assessment.evaluated_at - alert.last_assessment.evaluated_at >= quiet
            ):
                alert.status = Alert.Status.CLOSED
                alert.closed_at = assessment.evaluated_at
                alert.closed_by = assessment
                # Saved now, not with the others: a later assessment of this
                # batch may open the next alert of the kind, and only one may be live.
                alert.save(update_fields=["status", "closed_at", "closed_by", "last_assessment"])
                touched.pop(alert.pk, None)
                del live[kind]
                changes.closed.append(alert)
    for alert in touched.values():
        alert.save(update_fields=["status", "closed_at", "closed_by", "last_assessment"])
    for alert in changes.opened:
        _announce(alert, ALERT_OPENED)
    for alert in changes.closed:
        _announce(alert, ALERT_CLOSED)
    return changes


def alerts_actor(user) -> bool:
    """Whether the user acts on the alerts of the shipments they see: staff, or
    a manager or operator of a party. Auditors and viewers read; they do not acknowledge."""
    if not getattr(user, "is_authenticated", False):
        return False
    if acts_as_staff(user):
        return True
    membership = Membership.objects.filter(user=user).select_related("party").first()
    return (
        membership is not None
        and membership.party.kind != Party.Kind.AUDITOR
        and membership.role in ACTING_ROLES
    )


def _check_may_act(alert: Alert, user) -> None:
    if not getattr(user, "is_authenticated", False):
        raise AlertPermissionError("sign in to act on alerts")
    may_see = shipments_visible_to(user).filter(pk=alert.shipment_id).exists()
    if not may_see or not alerts_actor(user):
        raise AlertPermissionError(
            f"{user.get_username()} may not act on alerts of shipment {alert.shipment.reference}"
        )


def _clean_text(text: str, *, required: bool) -> str:
    if not isinstance(text, str):
        raise AlertError("the note's text must be a string")
    text = text.strip()
    if required and not text:
        raise AlertError("a comment needs a text")
    if len(text) > NOTE_MAX_CHARS:
        raise AlertError(f"a note holds at most {NOTE_MAX_CHARS} characters, got {len(text)}")
    if "\x00" in text:
        raise AlertError("the note's text must not contain NUL characters")
    return text


def _note_add(alert: Alert, user, kind: str, text: str) -> AlertNote:
    note = AlertNote(alert=alert, kind=kind, author=user, text=text, at=entry_instant())
    claims = alert_note_claims(
        note, shipment_reference=alert.shipment.reference, alert_kind=alert.kind
    )
    note.ledger_entry = entry_append(
        data=platform_entry_sign(kind=ALERT_NOTE_KIND, claims=claims, at=note.at),
        kind=ALERT_NOTE_KIND,
    )
    note.save()
    return note


def alert_acknowledge(alert: Alert, user, text: str = "") -> AlertNote:
    """Acknowledge an open alert, anchored; acknowledging it again returns the first note.

    A closed alert cannot be acknowledged (``AlertError``).
    """
    text = _clean_text(text, required=False)
    _check_may_act(alert, user)
    with transaction.atomic():
        locked = Alert.objects.select_for_update().select_related("shipment").get(pk=alert.pk)
        existing = locked.notes.filter(kind=AlertNote.Kind.ACKNOWLEDGEMENT).first()
        if existing is not None:
            return existing
        if locked.status == Alert.Status.CLOSED:
            raise AlertError(f"alert {locked.pk} is closed: there is nothing to acknowledge")
        note = _note_add(locked, user, AlertNote.Kind.ACKNOWLEDGEMENT, text)
        Alert.objects.filter(pk=locked.pk).update(status=Alert.Status.ACKNOWLEDGED)
    alert.status = Alert.Status.ACKNOWLEDGED
    return note


def alert_comment(alert: Alert, user, text: str) -> AlertNote:
    """Add a comment to an alert (open or closed), anchored."""
    text = _clean_text(text, required=True)
    _check_may_act(alert, user)
    with transaction.atomic():
        locked = Alert.objects.select_for_update().select_related("shipment").get(pk=alert.pk)
        return _note_add(locked, user, AlertNote.Kind.COMMENT, text)


def alerts_escalate(now: datetime | None = None) -> int:
    """Escalate the alerts open and unacknowledged for ``ALERT_ESCALATE_AFTER_S``; how many.

    Counted from when the opening assessment was made (wall clock), not from
    the cargo time it assessed: a late-delivered reading must not escalate at once.
    Each alert is escalated once.
    """
    now = now or timezone.now()
    due = now - timedelta(seconds=settings.ALERT_ESCALATE_AFTER_S)
    with transaction.atomic():
        alerts = list(
            Alert.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                status=Alert.Status.OPEN,
                escalated_at__isnull=True,
                opened_by__created_at__lte=due,
            )
            .select_related("shipment", "opened_by")
        )
        for alert in alerts:
            alert.escalated_at = now
        Alert.objects.filter(pk__in=[alert.pk for alert in alerts]).update(escalated_at=now)
        for alert in alerts:
            _announce(alert, ALERT_ESCALATED)
    return len(alerts)
