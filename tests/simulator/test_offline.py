"""Offline data sets: deterministic, joinable, valid on the wire, fast."""

import csv
import hashlib
import json
import statistics
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from devices.simulator.faults import parse_fault_spec
from devices.simulator.fleet import FleetConfig
from devices.simulator.offline import generate
from devices.wire import (
    DEVICE_ID_PATTERN,
    WireError,
    b64url_decode,
    decode_payload,
    parse_compact,
    verify_signature,
)

START = datetime(2026, 1, 5, tzinfo=UTC).timestamp()
FILES = ("readings.csv", "truth.csv", "faults.csv", "trips.csv", "devices.csv", "manifest.json")


def rows(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def config(**overrides):
    return FleetConfig(
        **{"start": START, "trucks": 3, "seed": 7, "fault_rate_per_day": 3.0} | overrides
    )


def test_the_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path):
    generate(config(), tmp_path / "a", trips=2)
    generate(config(), tmp_path / "b", trips=2)
    generate(config(seed=8), tmp_path / "c", trips=2)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    for name in ("readings.csv", "truth.csv", "faults.csv", "trips.csv"):
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes(), name


def test_worker_processes_write_the_same_bytes_as_one_process(tmp_path):
    generate(config(trucks=10), tmp_path / "one", jobs=1)
    generate(config(trucks=10), tmp_path / "two", jobs=2)
    for name in FILES:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_signed_files_are_deterministic_and_every_genuine_jws_verifies(tmp_path):
    generate(config(trucks=1), tmp_path / "a", sign=True)
    generate(config(trucks=1), tmp_path / "b", sign=True)
    assert (tmp_path / "a" / "readings.csv").read_bytes() == (
        tmp_path / "b" / "readings.csv"
    ).read_bytes()
    keys = {
        row["device"]: b64url_decode(row["public_key"].encode())
        for row in rows(tmp_path / "a" / "devices.csv")
    }
    readings = rows(tmp_path / "a" / "readings.csv")
    injected = 0
    for row in readings:
        message = parse_compact(row["jws"].encode())
        payload = decode_payload(message.payload)
        assert (payload.device, payload.seq, payload.temp_c) == (
            row["device"],
            int(row["seq"]),
            float(row["temp_c"]),
        )
        if row["injected"] == "forged_signature":
            injected += 1
            with pytest.raises(WireError):
                verify_signature(message, keys[row["device"]])
        else:
            verify_signature(message, keys[row["device"]])
    assert injected or not any("forged_signature" in r["faults"] for r in readings)


def test_files_join_on_truck_and_time_and_the_manifest_describes_them(tmp_path):
    out = tmp_path / "set"
    manifest = generate(config(loggers=2), out, trips=2)
    truth = rows(out / "truth.csv")
    readings = rows(out / "readings.csv")
    trips = rows(out / "trips.csv")
    devices = rows(out / "devices.csv")
    assert len(trips) == 6
    assert len(devices) == 9
    assert {d["kind"] for d in devices} == {"reefer_controller", "independent_logger"}
    assert all(DEVICE_ID_PATTERN.match(d["device"]) for d in devices)
    assert "truck-001-logger-2" in {d["device"] for d in devices}
    truth_at = {(row["truck"], row["t"]): row for row in truth}
    assert len(truth_at) == len(truth) == 3 * 2 * 24 * 60
    logger_errors = []
    for row in readings:
        joined = truth_at[(row["truck"], row["t"])]
        assert float(joined["temp_min"]) < float(joined["temp_max"])
        if row["device_kind"] == "independent_logger" and not row["faults"]:
            logger_errors.append(abs(float(row["temp_c"]) - float(joined["cargo_c"])))
    # The logger sits in the load: close to the cargo except around door openings.
    assert statistics.median(logger_errors) < 0.3
    stored = json.loads((out / "manifest.json").read_text())
    assert stored == manifest
    for name, entry in manifest["files"].items():
        data = (out / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert data.count(b"\n") - 1 == entry["rows"]
    assert str(tmp_path) not in (out / "manifest.json").read_text()
    labels = rows(out / "faults.csv")
    assert labels
    assert {"kind", "truck", "device", "start", "end"} <= set(labels[0])


def test_every_genuine_reading_passes_the_platform_schema_even_under_faults(tmp_path):
    generate(config(trucks=4, fault_rate_per_day=8.0, products=("frozen", "vaccines")), tmp_path)
    fields = ("temp_c", "ambient_c", "humidity_pct", "lat", "lon", "setpoint_c", "battery_pct")
    seqs: dict[str, list[int]] = {}
    for row in rows(tmp_path / "readings.csv"):
        document = {"v": 1, "device": row["device"], "seq": int(row["seq"]), "ts": row["ts"]}
        document |= {name: float(row[name]) for name in fields if row[name]}
        document |= {name: row[name] == "true" for name in ("door_open", "reefer_on") if row[name]}
        decode_payload(json.dumps(document).encode())
        if not row["injected"]:
            seqs.setdefault(row["device"], []).append(int(row["seq"]))
    for device, numbers in seqs.items():
        assert numbers == list(range(1, len(numbers) + 1)), device


def test_flagged_faults_are_labelled_in_the_files(tmp_path):
    faults = (
        parse_fault_spec("reefer_failure:truck-002@2h+3h"),
        parse_fault_spec("stuck_probe:truck-001-logger@30m+1h"),
    )
    generate(config(fault_rate_per_day=0.0, faults=faults), tmp_path)
    labels = rows(tmp_path / "faults.csv")
    assert [(f["kind"], f["truck"], f["device"], f["start"], f["end"]) for f in labels] == [
        (
            "stuck_probe",
            "truck-001",
            "truck-001-logger",
            "2026-01-05T00:30:00.000Z",
            "2026-01-05T01:30:00.000Z",
        ),
        ("reefer_failure", "truck-002", "", "2026-01-05T02:00:00.000Z", "2026-01-05T05:00:00.000Z"),
    ]
    failed = [r for r in rows(tmp_path / "truth.csv") if r["reefer_mode"] == "failed"]
    assert len(failed) == 180
    assert {r["truck"] for r in failed} == {"truck-002"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--speedup", "10"], "only apply to online mode"),
        (["--fault", "dropout:truck-001@1h"], "targets a device"),
        (["--fault", "nonsense"], "expected KIND:TARGET"),
        (["--trip-hours", "30-8"], "MIN <= MAX"),
        (["--products", "icecream"], "unknown icecream"),
        (["--start", "yesterday"], "--start"),
        (["--fault-rate", "-1"], "must not be negative"),
    ],
)
def test_the_command_refuses_bad_arguments_with_a_clear_message(tmp_path, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("simulate", "--offline", tmp_path, *arguments)


def test_the_command_writes_the_offline_set(tmp_path, capsys):
    call_command(
        "simulate",
        "--offline",
        tmp_path,
        "--trucks",
        "2",
        "--trips",
        "2",
        "--trip-hours",
        "6-10",
        "--seed",
        "3",
        "--sign",
        "--fault",
        "clock_skew:truck-002-reefer@1h+1h=300",
    )
    assert "trips/s" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["signed"]
    assert manifest["trips_per_truck"] == 2
    assert manifest["files"]["trips.csv"]["rows"] == 4
    skewed = [r for r in rows(tmp_path / "readings.csv") if r["faults"] == "clock_skew"]
    assert skewed
    assert all(r["ts"] != r["t"] for r in skewed)
