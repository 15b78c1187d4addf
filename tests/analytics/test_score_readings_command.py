"""``manage.py score_readings``: registered models, a readings CSV in, a flags CSV out."""

from __future__ import annotations

import json
from io import StringIO

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from analytics.features import features
from analytics.readings import readings_frame
from analytics.selectors import SCORING_THREADS, scoring_models_get
from tests.analytics.boosters import register_both

pytestmark = pytest.mark.django_db

T0 = pd.Timestamp("2026-01-05T00:00:00Z")
OUTPUT = ["shipment", "t", "breach_prob", "breach_soon_prob", "sensor_fault_prob", "flag"]


@pytest.fixture(autouse=True)
def model_dir(settings, tmp_path):
    settings.ANALYTICS_MODEL_DIR = tmp_path / "models"


@pytest.fixture
def readings_csv(tmp_path):
    """Two shipments, three devices each, one reading a minute for an hour; s2 warms up."""
    rows = [
        {
            "shipment": shipment,
            "device": device,
            "ts": (T0 + pd.Timedelta(minutes=i)).isoformat(),
            "temp_c": 5.0 + slope * i,
            "door_open": "false",
            "temp_min": 2.0,
            "temp_max": 8.0,
            "setpoint_c": 5.0,
        }
        for shipment, slope in (("s1", 0.0), ("s2", 0.1))
        for device in ("reefer", "logger-1", "logger-2")
        for i in range(61)
    ]
    path = tmp_path / "readings.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def run(*args: str) -> str:
    out = StringIO()
    call_command("score_readings", *args, stdout=out)
    return out.getvalue()


def test_round_trip_one_row_per_shipment_and_evaluated_time(readings_csv, tmp_path):
    register_both()
    out = tmp_path / "flags.csv"

    summary = run(str(readings_csv), "--out", str(out))

    flags = pd.read_csv(out)
    expected_rows = len(features(readings_frame(readings_csv)))
    assert list(flags.columns) == OUTPUT
    assert len(flags) == expected_rows == 26  # 13 instants (every 5 min) x 2 shipments
    assert flags["t"].iloc[0] == "2026-01-05T00:00:00Z"
    assert set(flags["flag"]) <= {"ok", "breach_soon", "breach", "sensor_fault"}
    assert (
        f"scored {expected_rows} rows of 2 shipment(s) with breach v1 and breach_soon v1" in summary
    )


def test_explain_adds_the_top_factors_in_words(readings_csv, tmp_path):
    register_both()
    out = tmp_path / "flags.csv"

    run(str(readings_csv), "--out", str(out), "--explain")

    flags = pd.read_csv(out)
    assert list(flags.columns) == [*OUTPUT, "top_factors"]
    assert flags["top_factors"].str.count("; ").eq(2).all()  # three factors each
    assert flags["top_factors"].str.contains(r"\((?:raises|lowers) ").all()


def test_the_thresholds_of_the_registered_versions_decide_the_flag(readings_csv, tmp_path):
    register_both(breach_decision={"breach": 0.0})  # every probability reaches 0
    out = tmp_path / "flags.csv"

    run(str(readings_csv), "--out", str(out))

    assert set(pd.read_csv(out)["flag"]) == {"breach"}


def test_a_named_version_is_used_instead_of_the_active_one(readings_csv, tmp_path):
    register_both(breach_decision={"breach": 0.0})
    register_both(breach_decision={"breach": 1.1})  # now active: never a breach
    out = tmp_path / "flags.csv"

    summary = run(str(readings_csv), "--out", str(out), "--model-breach", "1")

    assert "breach v1 and breach_soon v2" in summary
    assert set(pd.read_csv(out)["flag"]) == {"breach"}


def test_no_registered_model_is_a_clear_error(readings_csv, tmp_path):
    with pytest.raises(CommandError, match=r"^no active breach model: run manage.py train_model$"):
        run(str(readings_csv), "--out", str(tmp_path / "flags.csv"))


def test_an_unknown_version_is_a_clear_error(readings_csv, tmp_path):
    register_both()
    with pytest.raises(CommandError, match="no breach_soon model version 9 is registered"):
        run(str(readings_csv), "--out", str(tmp_path / "f.csv"), "--model-breach-soon", "9")


def test_a_csv_missing_a_column_is_a_clear_error(readings_csv, tmp_path):
    register_both()
    pd.read_csv(readings_csv).drop(columns="temp_c").to_csv(readings_csv, index=False)
    out = tmp_path / "flags.csv"

    with pytest.raises(CommandError, match=r"missing required column.* temp_c"):
        run(str(readings_csv), "--out", str(out))
    assert not out.exists()


def test_a_csv_without_readings_is_a_clear_error(tmp_path):
    register_both()
    empty = tmp_path / "empty.csv"
    empty.write_text("shipment,device,ts,temp_c\n")

    with pytest.raises(CommandError, match="no readings, only a header line"):
        run(str(empty), "--out", str(tmp_path / "flags.csv"))


def test_a_bad_value_is_reported_with_its_line(readings_csv, tmp_path):
    register_both()
    frame = pd.read_csv(readings_csv, dtype=str)
    frame.loc[4, "temp_c"] = "warm"
    frame.to_csv(readings_csv, index=False)

    with pytest.raises(CommandError, match="'temp_c' must be numeric: line 6: 'warm'"):
        run(str(readings_csv), "--out", str(tmp_path / "flags.csv"))


def test_the_registered_boosters_are_loaded_to_predict_on_one_thread():
    breach, soon = register_both(breach_soon_decision={"breach_soon": 0.25})

    models = scoring_models_get()

    assert (models.breach, models.breach_soon) == (breach, soon)
    assert models.thresholds == {
        "breach": 0.5,
        "sensor_fault": 0.5,
        "breach_soon": 0.25,
        "persistence": 1.0,
        "breach_soon_at_once": None,
    }
    for booster in (models.breach_model, models.breach_soon_model):
        config = json.loads(booster.save_config())
        assert config["learner"]["generic_param"]["nthread"] == str(SCORING_THREADS)
