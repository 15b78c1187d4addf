"""The shipment report PDF: what it shows, from which readings, and that it is reproducible.

Page streams are left uncompressed (``compress=False``) where a test reads the
text, so the PDF's own bytes show what was drawn.
"""

from __future__ import annotations

import dataclasses
import math
import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

from coldchain.excursions import excursion_summary
from coldchain.models import Alert, Assessment, DeviceAttachment
from coldchain.report import render_report_pdf, shipment_report_pdf
from coldchain.report_data import (
    Allowances,
    ContractActionRow,
    Header,
    ReleaseRow,
    ReportData,
    report_data,
    validated_temperature,
)
from devices.ingest import SOURCE_HTTP, IncomingMessage, readings_ingest
from ledger.services import checkpoint_latest, log_seal
from tests.analytics.boosters import register_both
from tests.factories import make_device
from tests.shipment_factories import make_shipment

T0 = datetime(2026, 1, 5, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
WARM = range(30, 45)  # minutes at which both loggers read above 8 °C


@pytest.fixture(autouse=True)
def model_dir(settings, tmp_path):
    settings.ANALYTICS_MODEL_DIR = tmp_path / "models"


def ingest(device, minutes, temp_c):
    tokens = [device.signed(m + 1, ts=T0 + m * MINUTE, temp_c=temp_c(m)) for m in minutes]
    report = readings_ingest(
        messages=[IncomingMessage(t, timezone.now(), SOURCE_HTTP) for t in tokens]
    )
    assert report.accepted == len(tokens)


@pytest.fixture
def trip(db):
    """Two loggers and a reefer probe, one reading a minute for 90 minutes, delivered
    at minute 90; the loggers read 9.5 and 9.7 °C for minutes 30-44, else 5.0 and 5.2."""
    logger_a = make_device(device_id="truck-7-logger-a")
    logger_b = make_device(device_id="truck-7-logger-b")
    reefer = make_device(device_id="truck-7-reefer", kind="reefer_controller")
    shipment = make_shipment(
        devices=[logger_a.device, logger_b.device, reefer.device],
        departure_at=T0,
        delivered_at=T0 + 90 * MINUTE,
        status="delivered",
    )
    ingest(logger_a, range(95), lambda m: 9.5 if m in WARM else 5.0)
    ingest(logger_b, range(95), lambda m: 9.7 if m in WARM else 5.2)
    ingest(reefer, range(95), lambda m: 4.0)
    log_seal()
    return shipment


def text_of(pdf: bytes) -> str:
    """The strings drawn on the pages of an uncompressed PDF, joined by spaces.

    reportlab writes text in WinAnsi (cp1252) with PDF string escapes: ``\\ddd``
    (octal) for bytes outside ASCII, ``\\(``, ``\\)`` and ``\\\\`` for the rest.
    """
    drawn = re.findall(rb"\(((?:[^\\)]|\\.)*)\) Tj", pdf, flags=re.DOTALL)
    return " ".join(_unescaped(s).decode("cp1252") for s in drawn)


def _unescaped(string: bytes) -> bytes:
    def byte(match: re.Match) -> bytes:
        code = match.group(1)
        return bytes([int(code, 8)]) if code[:1].isdigit() else code

    return re.sub(rb"\\([0-7]{1,3}|.)", byte, string, flags=re.DOTALL)


def hand_mkt(temps_c, weights):
    terms = [w * math.exp(-10_000 / (t + 273.15)) for t, w in zip(temps_c, weights, strict=True)]
    return 10_000 / -math.log(sum(terms) / sum(weights)) - 273.15


# --- the data behind the report -------------------------------------------------------


def test_the_report_counts_readings_until_delivery_only(trip):
    data = report_data(trip)
    assert data.readings["ts"].max() == pd.Timestamp(T0 + 89 * MINUTE)
    assert len(data.readings) == 3 * 90


def test_a_device_counts_only_while_attached(trip):
    DeviceAttachment.objects.filter(device_id="truck-7-reefer").update(
        attached_until=T0 + 60 * MINUTE
    )
    reefer = report_data(trip).readings.query("device == 'truck-7-reefer'")
    assert reefer["ts"].max() == pd.Timestamp(T0 + 59 * MINUTE)


def test_the_validated_temperature_is_the_loggers_quorum(trip):
    data = report_data(trip)
    assert data.quorum_devices == ("truck-7-logger-a", "truck-7-logger-b")
    # (9.5 + 9.7) / 2 during the warm quarter hour, (5.0 + 5.2) / 2 otherwise.
    assert data.validated[pd.Timestamp(T0 + 30 * MINUTE)] == pytest.approx(9.6)
    assert data.validated[pd.Timestamp(T0 + 10 * MINUTE)] == pytest.approx(5.1)


def test_the_excursion_accounting_is_of_the_validated_temperature(trip):
    summary = report_data(trip).summary
    (excursion,) = summary.excursions
    assert (excursion.start, excursion.end) == (T0 + 30 * MINUTE, T0 + 45 * MINUTE)
    assert summary.cumulative_minutes == 15
    # 75 min at 5.1 °C and 15 min at 9.6 °C.
    assert summary.mkt_c == pytest.approx(hand_mkt([5.1, 9.6], [75, 15]))


def test_the_report_names_the_latest_checkpoint(trip):
    assert report_data(trip).checkpoint.size == checkpoint_latest().size


def test_readings_not_yet_in_a_checkpoint_wait_for_the_next_one(trip):
    late = make_device(device_id="truck-7-logger-c")
    DeviceAttachment.objects.create(shipment=trip, device=late.device, attached_from=T0)
    ingest(late, range(10), lambda m: 5.1)
    waiting = report_data(trip)
    assert "truck-7-logger-c" not in set(waiting.readings["device"])
    assert waiting.readings_pending == 10
    log_seal()
    sealed = report_data(trip)
    assert "truck-7-logger-c" in set(sealed.readings["device"])
    assert sealed.readings_pending == 0


# --- the PDF ------------------------------------------------------------------------


def test_the_report_is_a_pdf(trip):
    pdf = shipment_report_pdf(trip)
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")


def test_the_same_shipment_gives_the_same_bytes(trip):
    assert shipment_report_pdf(trip) == shipment_report_pdf(trip)


def test_the_report_names_the_shipment_and_its_mkt(trip):
    data = report_data(trip)
    text = text_of(render_report_pdf(data, compress=False))
    assert f"Shipment report {trip.reference}" in text
    assert f"{data.summary.mkt_c:.2f}" in text
    assert "Rotterdam" in text
    assert "Milan" in text


def test_the_report_lists_each_excursion(trip):
    text = text_of(render_report_pdf(report_data(trip), compress=False))
    assert "2026-01-05 00:30 UTC" in text
    assert "2026-01-05 00:45 UTC" in text
    assert "15.0 min" in text
    assert "9.60" in text


def test_the_report_names_its_checkpoint(trip):
    checkpoint = checkpoint_latest()
    text = text_of(render_report_pdf(report_data(trip), compress=False))
    assert checkpoint.root_hash.hex() in text
    # The signed note's lines: origin, size, root hash, blank, signature.
    assert all(line in text for line in checkpoint.note.splitlines())


def test_the_report_shows_alerts_with_model_versions_and_factors(trip):
    breach, soon = register_both()
    assessment = Assessment.objects.create(
        shipment=trip,
        evaluated_at=T0 + 35 * MINUTE,
        breach_model=breach,
        breach_soon_model=soon,
        input_sha256="0" * 64,
        breach_prob=0.93,
        breach_soon_prob=0.5,
        sensor_fault_prob=0.01,
        flag=Assessment.Flag.BREACH,
        top_factors=[
            {
                "feature": "gap_to_max_c",
                "value": -1.6,
                "contribution": 2.1,
                "text": "cargo 1.6 above the range",
            }
        ],
    )
    Alert.objects.create(
        shipment=trip,
        kind=Alert.Kind.BREACH,
        opened_at=T0 + 35 * MINUTE,
        opened_by=assessment,
        last_assessment=assessment,
    )
    text = text_of(render_report_pdf(report_data(trip), compress=False))
    assert f"breach v{breach.version}, breach soon v{soon.version}" in text
    assert "cargo 1.6 above the range" in text
    assert "2026-01-05 00:35 UTC" in text


def test_contract_actions_and_the_release_signature_are_shown(trip):
    data = dataclasses.replace(
        report_data(trip),
        contract_actions=(
            ContractActionRow("insurance claim", T0 + 91 * MINUTE, "15 min above 8 °C", 412),
        ),
        release=ReleaseRow("Rejected", "R. Receiver", "rejection of the load", T0, "warm", 413),
    )
    text = text_of(render_report_pdf(data, compress=False))
    assert "insurance claim" in text
    assert "412" in text
    assert "R. Receiver" in text


def test_a_shipment_without_readings_still_has_a_report(db):
    text = text_of(render_report_pdf(report_data(make_shipment()), compress=False))
    assert "No readings were received." in text
    assert "No excursion." in text


def test_a_report_before_the_first_checkpoint_says_its_readings_wait_for_one(db):
    logger = make_device()
    shipment = make_shipment(devices=[logger.device], departure_at=T0)
    ingest(logger, range(3), lambda m: 5.0)
    text = text_of(render_report_pdf(report_data(shipment), compress=False))
    assert "None of the 3 readings received is in a signed checkpoint yet" in text
    assert "The log has no signed checkpoint yet." in text


# --- long shipments -----------------------------------------------------------------


def long_trip(minutes: int) -> ReportData:
    """Three loggers a reading a minute; a daily warm hour above 8 °C."""
    rng = np.random.default_rng(7)
    ts = pd.date_range(T0, periods=minutes, freq="1min", tz="UTC")
    warm = (np.arange(minutes) % 1440) < 60
    base = np.where(warm, 9.0, 5.0)
    readings = pd.concat(
        pd.DataFrame(
            {"device": f"logger-{n}", "ts": ts, "temp_c": base + rng.normal(0, 0.1, minutes)}
        )
        for n in range(3)
    )
    validated = validated_temperature(readings)
    header = Header(
        reference="SHP-LONG",
        product="Vaccine",
        temp_min_c=2.0,
        temp_max_c=8.0,
        band_min_c=0.0,
        band_max_c=12.0,
        parties=(("Shipper", "Acme Pharma"),),
        origin="Rotterdam",
        destination="Singapore",
        departure_at=T0,
        deadline_at=T0 + timedelta(days=40),
        delivered_at=None,
        status="In transit",
    )
    summary = excursion_summary(
        validated, temp_min_c=2.0, temp_max_c=8.0, band_min_c=0.0, band_max_c=12.0
    )
    return ReportData(
        header=header,
        allowances=Allowances(30.0, 60.0, 8.0),
        readings=readings.reset_index(drop=True),
        readings_pending=0,
        validated=validated,
        summary=summary,
        alerts=(),
        checkpoint=None,
        quorum_devices=("logger-0", "logger-1", "logger-2"),
    )


def test_a_long_shipment_gives_a_small_pdf():
    data = long_trip(40_000)  # 120,000 readings, 28 days
    pdf = render_report_pdf(data)
    assert len(data.readings) == 120_000
    assert len(pdf) < 400_000
