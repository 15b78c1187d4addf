"""The twin of an offline run: the same fleet, its probe faults labelled but not applied."""

import csv
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from analytics.labels import SENSOR_FAULTS
from devices.simulator.faults import parse_fault_spec
from devices.simulator.fleet import FleetConfig
from devices.simulator.offline import generate

START = datetime(2026, 7, 6, tzinfo=UTC).timestamp()
SAME_FILES = ("truth.csv", "faults.csv", "trips.csv", "devices.csv")
# Every probe fault kind for sure, overlapping each other and the message
# faults and clock skew that the twin keeps, besides the random schedule.
SPECS = (
    "probe_spike:truck-001-reefer@1h+20m=20",
    "stuck_probe:truck-001-logger@1h10m+2h",
    "probe_drift:truck-002-logger@30m+3h=1.5",
    "dropout:truck-001-reefer@1h15m+40m",
    "replayed_message:truck-001-reefer@1h30m+30m",
    "forged_signature:truck-001-reefer@1h05m+20m",
    "clock_skew:truck-001-reefer@1h20m+1h=600",
    "dropout:truck-002-logger-2@2h+30m",
)


def config(**overrides):
    return FleetConfig(
        start=START,
        trucks=2,
        loggers=2,
        seed=11,
        trip_hours=(6.0, 10.0),
        faults=tuple(parse_fault_spec(spec) for spec in SPECS),
        fault_rate_per_day=8.0,
        **overrides,
    )


def rows(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("twin")
    generate(config(), root / "run", trips=2)
    generate(config(probe_faults_applied=False), root / "twin", trips=2)
    generate(config(probe_faults_applied=False), root / "twin-again", trips=2)
    return root


def probe_faults(run_dir):
    """Per device: the (start, end) of its probe faults, as RFC 3339 text (which sorts as time)."""
    out = {}
    for fault in rows(run_dir / "faults.csv"):
        if fault["kind"] in SENSOR_FAULTS:
            out.setdefault(fault["device"], []).append((fault["start"], fault["end"]))
    return out


def under_probe_fault(faults, device, t):
    return any(start <= t < end for start, end in faults.get(device, ()))


def test_truth_faults_and_trips_are_the_same_bytes_and_the_manifest_names_the_twin(runs):
    for name in SAME_FILES:
        assert (runs / "run" / name).read_bytes() == (runs / "twin" / name).read_bytes(), name
    assert (runs / "run" / "readings.csv").read_bytes() != (
        runs / "twin" / "readings.csv"
    ).read_bytes()
    assert "probe_faults_applied" not in (runs / "run" / "manifest.json").read_text()
    assert '"probe_faults_applied": false' in (runs / "twin" / "manifest.json").read_text()


def test_the_twin_of_the_twin_is_the_same_bytes(runs):
    for name in (*SAME_FILES, "readings.csv", "manifest.json"):
        assert (runs / "twin" / name).read_bytes() == (runs / "twin-again" / name).read_bytes(), (
            name
        )


def test_readings_differ_only_where_a_probe_fault_acts_on_that_device(runs):
    faults = probe_faults(runs / "run")
    run, twin = rows(runs / "run" / "readings.csv"), rows(runs / "twin" / "readings.csv")
    # A replay repeats an earlier reading: it differs if that one did.
    genuine_t = {(r["device"], r["seq"]): r["t"] for r in run if not r["injected"]}

    def instant(row):
        replayed = row["injected"] == "replayed_message"
        return genuine_t[(row["device"], row["seq"])] if replayed else row["t"]

    def keyed(table):
        return {(r["device"], r["t"], r["injected"]): r for r in table}

    run_rows, twin_rows = keyed(run), keyed(twin)
    assert len(run_rows) == len(run)
    assert len(twin_rows) == len(twin)
    assert set(run_rows) <= set(twin_rows)
    differing = [key for key in run_rows if run_rows[key] != twin_rows[key]]
    assert differing
    for key in differing:
        row = run_rows[key]
        assert under_probe_fault(faults, row["device"], instant(row)), key
    differing_labels = {run_rows[key]["faults"] for key in differing}
    for kind in ("probe_spike", "stuck_probe", "probe_drift"):
        assert any(kind in labels for labels in differing_labels), kind

    # Readings only the twin has: the genuine ones a dropout withheld.
    extra = [twin_rows[key] for key in set(twin_rows) - set(run_rows)]
    assert extra
    for row in extra:
        assert row["injected"] == ""
        assert "dropout" in row["faults"].split(";")
        assert under_probe_fault(faults, row["device"], row["t"])


def test_dropout_instants_have_readings_in_the_twin(runs):
    twin = rows(runs / "twin" / "readings.csv")
    reported = {(r["device"], r["t"]) for r in twin if not r["injected"]}
    truth_instants = {(r["truck"], r["t"]) for r in rows(runs / "twin" / "truth.csv")}
    dropouts = [f for f in rows(runs / "twin" / "faults.csv") if f["kind"] == "dropout"]
    assert len(dropouts) >= 2
    for fault in dropouts:
        inside = [
            t
            for truck, t in truth_instants
            if truck == fault["truck"] and fault["start"] <= t < fault["end"]
        ]
        assert inside, fault
        assert all((fault["device"], t) in reported for t in inside), fault


def test_the_command_writes_a_twin_offline_and_refuses_one_online(tmp_path):
    call_command("simulate", "--offline", tmp_path, "--trucks", "1", "--twin", "--jobs", "1")
    assert '"probe_faults_applied": false' in (tmp_path / "manifest.json").read_text()
    with pytest.raises(CommandError, match="only applies to --offline"):
        call_command("simulate", "--twin")
