"""Evaluating a shipment from its stored, signed readings: assessments, anchoring, alerts."""

import itertools
from datetime import timedelta

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from analytics.scoring import decision_input, input_window_sha256
from coldchain.cargo import shipment_readings
from coldchain.evaluation import shipment_evaluate
from coldchain.models import Alert, Assessment
from ledger.platform_entries import platform_entry_open, platform_public_key
from ledger.services import log_seal
from tests.coldchain.rule_models import register_rule_models
from tests.coldchain.trips import DEPARTURE, make_trip, steady

pytestmark = pytest.mark.django_db

TRIP = range(90)


def warming(device, minute):
    """The whole load warms 6 °C/h from minute 30: in range until minute 60, then out."""
    return 5.0 + max(0, minute - 30) * 0.1


def spike_on(device_id):
    """One probe reads 30 °C from minute 40 to 49; the others hold 5 °C."""
    return lambda device, minute: 30.0 if device == device_id and 40 <= minute < 50 else 5.0


@pytest.fixture
def models():
    return register_rule_models()


def evaluated_trip(profile, minutes=TRIP):
    trip = make_trip()
    trip.ingest(minutes, profile)
    log_seal()
    return trip, shipment_evaluate(trip.shipment)


def flags(shipment):
    return list(
        Assessment.objects.filter(shipment=shipment)
        .order_by("evaluated_at")
        .values_list("flag", flat=True)
    )


def test_every_five_minutes_of_the_trip_is_assessed_once(models):
    trip, result = evaluated_trip(steady(5.0))
    times = list(
        Assessment.objects.filter(shipment=trip.shipment)
        .order_by("evaluated_at")
        .values_list("evaluated_at", flat=True)
    )
    assert result.assessments == len(times) == 17  # 08:05 ... 09:25 (last reading 09:29:05)
    assert times[0] == DEPARTURE + timedelta(minutes=5)
    assert all(b - a == timedelta(minutes=5) for a, b in itertools.pairwise(times))
    assert set(flags(trip.shipment)) == {"ok"}


def test_a_warming_load_is_first_about_to_breach_then_breached(models):
    trip, _ = evaluated_trip(warming)
    seen = flags(trip.shipment)
    assert seen[0] == "ok"
    assert seen[-1] == "breach"
    assert seen.index("breach_soon") < seen.index("breach")


def test_a_warming_load_opens_a_breach_soon_alert_then_a_breach_alert(models):
    trip, result = evaluated_trip(warming)
    alerts = {alert.kind: alert for alert in Alert.objects.filter(shipment=trip.shipment)}
    assert set(alerts) == {"breach_soon", "breach"}
    assert alerts["breach_soon"].opened_at < alerts["breach"].opened_at
    breach = alerts["breach"]
    assert breach.status == Alert.Status.OPEN
    assert breach.opened_by.flag == "breach"
    assert breach.last_assessment.evaluated_at == DEPARTURE + timedelta(minutes=85)
    assert result.alerts_opened == 2


def test_a_lone_spike_on_one_probe_is_a_sensor_fault_not_a_breach(models):
    trip = make_trip()
    spiking = trip.device_ids[1]
    trip.ingest(TRIP, spike_on(spiking))
    log_seal()
    shipment_evaluate(trip.shipment)
    during = Assessment.objects.get(
        shipment=trip.shipment, evaluated_at=DEPARTURE + timedelta(minutes=45)
    )
    assert during.flag == "sensor_fault"
    assert during.flagged_devices == [spiking]
    assert any(f"probe {spiking} reads" in factor["text"] for factor in during.top_factors)
    assert during.validated_c == 5.0
    assert "breach" not in flags(trip.shipment)
    assert list(Alert.objects.filter(shipment=trip.shipment).values_list("kind", flat=True)) == [
        "sensor_fault"
    ]


def test_an_alert_closes_after_the_quiet_period(models, settings):
    settings.ALERT_CLOSE_AFTER_S = 900
    trip = make_trip()
    trip.ingest(TRIP, spike_on(trip.device_ids[1]))
    log_seal()
    result = shipment_evaluate(trip.shipment)
    alert = Alert.objects.get(shipment=trip.shipment)
    assert alert.status == Alert.Status.CLOSED
    last_fault = alert.last_assessment.evaluated_at
    assert alert.closed_at == last_fault + timedelta(minutes=15)
    assert alert.closed_by.flag == "ok"
    assert (result.alerts_opened, result.alerts_closed) == (1, 1)


def test_an_alert_stays_open_while_its_flag_recurs_within_the_quiet_period(models, settings):
    settings.ALERT_CLOSE_AFTER_S = 3600
    trip = make_trip()
    trip.ingest(TRIP, spike_on(trip.device_ids[1]))
    log_seal()
    shipment_evaluate(trip.shipment)
    alert = Alert.objects.get(shipment=trip.shipment)
    assert alert.status == Alert.Status.OPEN


def test_evaluating_again_without_new_readings_creates_nothing(models):
    trip, first = evaluated_trip(warming)
    entries = Assessment.objects.filter(shipment=trip.shipment).count()
    again = shipment_evaluate(trip.shipment)
    assert again.assessments == 0
    assert Assessment.objects.filter(shipment=trip.shipment).count() == entries
    assert Alert.objects.filter(shipment=trip.shipment).count() == first.alerts_opened


def test_new_readings_are_assessed_from_the_last_assessed_instant_on(models):
    trip = make_trip()
    trip.ingest(range(30), steady(5.0))
    log_seal()
    first = shipment_evaluate(trip.shipment).assessments
    trip.ingest(range(30, 60), steady(5.0))
    log_seal()
    second = shipment_evaluate(trip.shipment).assessments
    assert (first, second) == (5, 6)
    times = Assessment.objects.filter(shipment=trip.shipment).values_list("evaluated_at", flat=True)
    assert len(set(times)) == 11


def test_an_instant_waits_until_every_device_reported_past_it(models, settings):
    settings.EVALUATION_SETTLE_S = 24 * 3600 * 365 * 10  # only the devices can settle it
    trip = make_trip()
    trip.ingest(range(20), steady(5.0))
    trip.devices.pop()  # behind: its readings from 08:20 on are still on the truck
    trip.ingest(range(20, 40), steady(5.0))
    log_seal()
    result = shipment_evaluate(trip.shipment)
    assert result.assessments == 3  # 08:05 ... 08:15; all three devices reported up to 08:19:05
    assert result.retry_at is not None


def test_a_device_silent_for_the_settle_time_no_longer_holds_instants_back(models, settings):
    settings.EVALUATION_SETTLE_S = 600
    trip = make_trip()
    trip.ingest(range(20), steady(5.0))
    trip.devices.pop()  # silent from 08:20 on
    trip.ingest(range(20, 90), steady(5.0))
    log_seal()
    shipment_evaluate(trip.shipment, now=DEPARTURE + timedelta(minutes=90))
    last = Assessment.objects.filter(shipment=trip.shipment).latest("evaluated_at")
    assert last.evaluated_at == DEPARTURE + timedelta(minutes=85)  # the others reported to 09:29:05


def test_readings_waiting_for_the_sequencer_hold_their_instants_back(models):
    trip = make_trip()
    trip.ingest(range(20), steady(5.0))
    log_seal()
    trip.ingest(range(20, 40), steady(5.0))
    result = shipment_evaluate(trip.shipment)
    assert result.assessments == 4  # 08:05 ... 08:20; 08:20:05 on waits for its indices
    assert result.retry_at is not None


def test_the_work_per_run_is_capped(models, settings):
    settings.EVALUATION_MAX_INSTANTS = 4
    trip, result = evaluated_trip(steady(5.0))
    assert (result.assessments, result.more) == (4, True)
    assert shipment_evaluate(trip.shipment).assessments == 4


def test_a_newly_activated_model_scores_the_next_instants(models):
    trip, _ = evaluated_trip(steady(5.0), minutes=range(20))
    newer = register_rule_models()
    trip.ingest(range(20, 40), steady(5.0))
    log_seal()
    shipment_evaluate(trip.shipment)
    versions = list(
        Assessment.objects.filter(shipment=trip.shipment)
        .order_by("evaluated_at")
        .values_list("breach_model__version", "breach_soon_model__version")
    )
    assert versions[0] == (models[0].version, models[1].version)
    assert versions[-1] == (newer[0].version, newer[1].version)
    assert newer[0].version == models[0].version + 1


def test_without_an_active_model_nothing_is_recorded_and_a_warning_is_logged(caplog):
    trip, result = evaluated_trip(steady(5.0), minutes=range(20))
    assert result.assessments == 0
    assert "no active breach model" in result.skipped
    assert not Assessment.objects.filter(shipment=trip.shipment).exists()
    assert f"shipment {trip.shipment.reference} not evaluated" in caplog.text


def test_an_assessment_records_its_input_window_and_newest_readings(models):
    trip, _ = evaluated_trip(steady(5.0), minutes=range(20))
    assessment = Assessment.objects.filter(shipment=trip.shipment).order_by("evaluated_at")[1]
    readings = shipment_readings(trip.shipment)
    t = pd.Timestamp(assessment.evaluated_at)
    window = decision_input(readings, shipment=trip.shipment.reference, t=t)
    assert assessment.input_sha256 == input_window_sha256(window)
    newest = readings[(readings["ts"] > t - pd.Timedelta(minutes=5)) & (readings["ts"] <= t)]
    assert assessment.reading_indices == sorted(newest["ledger_index"].astype(int))
    assert assessment.breach_model.active
    assert assessment.breach_soon_model.active
    assert len(assessment.top_factors) == 3


def test_each_assessment_is_a_platform_signed_entry_of_what_is_stored(models):
    trip, _ = evaluated_trip(warming)
    assessment = Assessment.objects.filter(shipment=trip.shipment, flag="breach").first()
    claims = platform_entry_open(bytes(assessment.ledger_entry.data), platform_public_key())
    assert claims["kind"] == "assessment"
    assert claims["shipment"] == trip.shipment.reference
    assert claims["flag"] == "breach"
    assert claims["probabilities"]["breach"] == assessment.breach_prob
    assert claims["models"]["breach"]["artifact_sha256"] == assessment.breach_model.artifact_sha256
    assert claims["input_sha256"] == assessment.input_sha256
    assert claims["reading_indices"] == assessment.reading_indices


def test_verify_ledger_proves_the_stored_assessments_equal_the_logged_ones(models):
    evaluated_trip(warming)
    log_seal()
    call_command("verify_ledger")


def test_a_changed_assessment_is_found_by_verify_ledger(models):
    trip, _ = evaluated_trip(warming)
    log_seal()
    assessment = Assessment.objects.filter(shipment=trip.shipment, flag="breach").first()
    Assessment.objects.filter(pk=assessment.pk).update(flag="ok")
    with pytest.raises(CommandError) as error:
        call_command("verify_ledger")
    assert f"entry {assessment.ledger_entry.index}:" in str(error.value)
    assert "flag" in str(error.value)


def test_the_command_catches_a_shipment_up_past_the_cap(models, settings, capsys):
    settings.EVALUATION_MAX_INSTANTS = 5
    trip = make_trip()
    trip.ingest(TRIP, warming)
    log_seal()
    call_command("evaluate_shipments", trip.shipment.reference)
    assert Assessment.objects.filter(shipment=trip.shipment).count() == 17
    assert (
        f"{trip.shipment.reference}: 17 assessment(s), 2 alert(s) opened" in capsys.readouterr().out
    )


def test_the_command_names_an_unknown_shipment():
    with pytest.raises(CommandError, match="no shipment SHP-NOPE"):
        call_command("evaluate_shipments", "SHP-NOPE")


def test_the_command_says_when_there_is_no_model():
    trip, _ = evaluated_trip(steady(5.0), minutes=range(10))
    with pytest.raises(CommandError, match="no active breach model"):
        call_command("evaluate_shipments", trip.shipment.reference)
