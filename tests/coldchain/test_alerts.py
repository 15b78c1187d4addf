"""Alerts: events as they open and close, acknowledgements and comments (anchored), escalation."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import TestCase
from django.utils import timezone

from coldchain.alerts import (
    NOTE_MAX_CHARS,
    AlertError,
    AlertPermissionError,
    alert_acknowledge,
    alert_comment,
    alerts_escalate,
)
from coldchain.evaluation import shipment_evaluate
from coldchain.models import Alert, AlertNote, Membership, Party
from coldchain.signals import shipment_event
from ledger.platform_entries import platform_entry_open, platform_public_key
from ledger.services import log_seal
from tests.coldchain.rule_models import register_rule_models
from tests.coldchain.trips import make_trip
from tests.shipment_factories import make_party, make_user
from tests.support.module_data import module_transaction, own_copy

pytestmark = pytest.mark.django_db


@pytest.fixture
def events():
    """Every shipment_event sent, as (event_type, key, payload)."""
    sent = []

    def receive(sender, shipment, event_type, payload, key, **kwargs):
        sent.append((event_type, key, payload))

    shipment_event.connect(receive, dispatch_uid="test-alerts-events")
    yield sent
    shipment_event.disconnect(dispatch_uid="test-alerts-events")


def spiking_trip(minutes, *, spike_from=40):
    """A trip whose second logger reads 30 °C from ``spike_from`` on: a sensor-fault alert."""
    trip = make_trip()
    spiking = trip.device_ids[1]
    trip.ingest(
        minutes,
        lambda device, minute: 30.0 if device == spiking and minute >= spike_from else 5.0,
    )
    log_seal()
    shipment_evaluate(trip.shipment)
    return trip


@pytest.fixture(scope="module")
def built_alert(django_db_setup, django_db_blocker):
    with module_transaction(django_db_blocker):
        register_rule_models()
        with TestCase.captureOnCommitCallbacks(execute=True):
            trip = spiking_trip(range(60))
        yield Alert.objects.get(shipment=trip.shipment)


@pytest.fixture
def alert(db, built_alert):
    return own_copy(built_alert)


def operator_of(party: Party):
    return make_user(party, role=Membership.Role.OPERATOR)


def test_an_alert_opening_is_announced_after_commit_with_a_key_naming_it(
    django_capture_on_commit_callbacks, events
):
    register_rule_models()
    with django_capture_on_commit_callbacks(execute=True):
        trip = spiking_trip(range(60))
    alert = Alert.objects.get(shipment=trip.shipment)
    assert [(kind, key) for kind, key, _ in events] == [
        ("alert.opened", f"alert.opened:{alert.pk}")
    ]
    payload = events[0][2]
    assert payload["shipment"] == trip.shipment.reference
    assert payload["kind"] == "sensor_fault"
    assert payload["opened_by"]["flag"] == "sensor_fault"


def test_an_alert_closing_is_announced(django_capture_on_commit_callbacks, events, settings):
    settings.ALERT_CLOSE_AFTER_S = 600
    register_rule_models()
    trip = make_trip()
    spiking = trip.device_ids[1]
    trip.ingest(range(90), lambda d, m: 30.0 if d == spiking and 30 <= m < 40 else 5.0)
    log_seal()
    with django_capture_on_commit_callbacks(execute=True):
        shipment_evaluate(trip.shipment)
    alert = Alert.objects.get(shipment=trip.shipment)
    assert [kind for kind, _, _ in events] == ["alert.opened", "alert.closed"]
    assert events[1][1] == f"alert.closed:{alert.pk}"
    assert events[1][2]["closed_by"]["flag"] == "ok"


def test_an_alert_closed_and_raised_again_in_one_evaluation_opens_a_second_alert(settings):
    settings.ALERT_CLOSE_AFTER_S = 600
    register_rule_models()
    trip = make_trip()
    spiking = trip.device_ids[1]
    spikes = (range(10, 20), range(60, 70))  # 40 quiet minutes between: the first one closes
    trip.ingest(
        range(90), lambda d, m: 30.0 if d == spiking and any(m in s for s in spikes) else 5.0
    )
    log_seal()
    shipment_evaluate(trip.shipment)
    first, second = Alert.objects.filter(shipment=trip.shipment).order_by("opened_at")
    assert (first.kind, second.kind) == (Alert.Kind.SENSOR_FAULT, Alert.Kind.SENSOR_FAULT)
    assert first.status == Alert.Status.CLOSED
    assert first.closed_at <= second.opened_at


def test_an_operator_of_a_party_of_the_shipment_acknowledges_and_the_note_is_anchored(alert):
    user = operator_of(alert.shipment.carrier)
    note = alert_acknowledge(alert, user, "driver checks the probe")
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED
    claims = platform_entry_open(bytes(note.ledger_entry.data), platform_public_key())
    assert claims["kind"] == "alert.note"
    assert claims["note"] == "ack"
    assert claims["alert"] == alert.pk
    assert claims["author"] == user.get_username()
    assert claims["text"] == "driver checks the probe"


def test_acknowledging_twice_keeps_one_acknowledgement(alert):
    user = operator_of(alert.shipment.carrier)
    first = alert_acknowledge(alert, user)
    again = alert_acknowledge(alert, user, "clicked twice")
    assert again.pk == first.pk
    assert AlertNote.objects.filter(alert=alert, kind="ack").count() == 1


def test_a_viewer_may_not_acknowledge(alert):
    viewer = make_user(alert.shipment.carrier, role=Membership.Role.VIEWER)
    with pytest.raises(AlertPermissionError):
        alert_acknowledge(alert, viewer)


def test_a_party_outside_the_shipment_may_not_acknowledge(alert):
    outsider = operator_of(make_party(Party.Kind.CARRIER))
    with pytest.raises(AlertPermissionError):
        alert_acknowledge(alert, outsider)
    assert not AlertNote.objects.filter(alert=alert).exists()


def test_an_auditor_reads_but_does_not_acknowledge(alert):
    auditor = operator_of(make_party(Party.Kind.AUDITOR))
    with pytest.raises(AlertPermissionError):
        alert_acknowledge(alert, auditor)


def test_a_closed_alert_cannot_be_acknowledged(alert):
    Alert.objects.filter(pk=alert.pk).update(status=Alert.Status.CLOSED)
    with pytest.raises(AlertError, match="closed"):
        alert_acknowledge(alert, operator_of(alert.shipment.carrier))


def test_comments_are_anchored_one_note_each(alert):
    user = operator_of(alert.shipment.shipper)
    alert_comment(alert, user, "probe replaced at the depot")
    alert_comment(alert, user, "readings back to normal")
    texts = list(
        AlertNote.objects.filter(alert=alert, kind="comment").values_list("text", flat=True)
    )
    assert texts == ["probe replaced at the depot", "readings back to normal"]
    assert AlertNote.objects.filter(alert=alert, ledger_entry__isnull=True).count() == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [("   ", "needs a text"), ("x" * (NOTE_MAX_CHARS + 1), "at most"), ("a\x00b", "NUL")],
)
def test_a_comment_with_a_bad_text_is_refused_clearly(alert, text, message):
    with pytest.raises(AlertError, match=message):
        alert_comment(alert, operator_of(alert.shipment.carrier), text)


def test_an_alert_unacknowledged_past_the_limit_is_escalated_once(
    alert, settings, django_capture_on_commit_callbacks, events
):
    settings.ALERT_ESCALATE_AFTER_S = 900
    later = timezone.now() + timedelta(seconds=901)
    with django_capture_on_commit_callbacks(execute=True):
        assert alerts_escalate(timezone.now()) == 0
        assert alerts_escalate(later) == 1
        assert alerts_escalate(later + timedelta(hours=1)) == 0
    alert.refresh_from_db()
    assert alert.escalated_at == later
    assert [(kind, key) for kind, key, _ in events] == [
        ("alert.escalated", f"alert.escalated:{alert.pk}")
    ]


def test_an_acknowledged_alert_is_not_escalated(alert, settings):
    settings.ALERT_ESCALATE_AFTER_S = 900
    alert_acknowledge(alert, operator_of(alert.shipment.carrier))
    assert alerts_escalate(timezone.now() + timedelta(hours=2)) == 0


def test_verify_ledger_finds_a_changed_note(alert):
    note = alert_comment(alert, operator_of(alert.shipment.carrier), "all good")
    log_seal()
    call_command("verify_ledger")
    AlertNote.objects.filter(pk=note.pk).update(text="nothing to see")
    with pytest.raises(CommandError) as error:
        call_command("verify_ledger")
    assert f"entry {note.ledger_entry.index}:" in str(error.value)
    assert "text" in str(error.value)
