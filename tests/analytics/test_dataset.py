"""Data sets: the same seed gives the same bytes, and the manifest records them."""

import hashlib
import json

from analytics.dataset import MID_TRIP_FAULTS, dataset_build, mid_trip_faults
from analytics.readings import readings_frame

FILES = ("readings.csv", "labels.csv", "sensor_faults.csv", "manifest.json")


def build(path, seed=5):
    return dataset_build(out_dir=path, trucks=2, days=1, seed=seed, fault_rate=4.0)


def test_the_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path):
    build(tmp_path / "a")
    build(tmp_path / "b")
    build(tmp_path / "c", seed=6)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / "labels.csv").read_bytes() != (
        tmp_path / "c" / "labels.csv"
    ).read_bytes()


def test_the_manifest_records_each_file_hash_and_readings_load_as_the_canonical_frame(tmp_path):
    manifest = build(tmp_path)
    assert manifest == json.loads((tmp_path / "manifest.json").read_text())
    for name, entry in manifest["files"].items():
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == entry["sha256"]
    frame = readings_frame(tmp_path / "readings.csv")
    assert len(frame) == manifest["files"]["readings.csv"]["rows"]
    assert frame["shipment"].str.fullmatch(r"truck-\d{3}/\d+").all()


def test_mid_trip_faults_are_seeded_long_equipment_failures_within_the_days():
    specs = mid_trip_faults(trucks=20, days=2, seed=3)
    assert specs == mid_trip_faults(trucks=20, days=2, seed=3)
    assert specs != mid_trip_faults(trucks=20, days=2, seed=4)
    assert {spec.kind for spec in specs} == {fault.kind for fault in MID_TRIP_FAULTS}
    limits = {fault.kind: fault.duration_h for fault in MID_TRIP_FAULTS}
    for spec in specs:
        low, high = limits[spec.kind]
        assert low * 3600 <= spec.duration_s <= high * 3600
        assert 0 <= spec.offset_s < 2 * 86_400


def test_the_manifest_records_the_mid_trip_faults_and_the_simulator_applies_them(tmp_path):
    manifest = build(tmp_path)
    assert manifest["config"]["mid_trip_faults"][0]["kind"] == MID_TRIP_FAULTS[0].kind
    faults = (tmp_path / "raw" / "faults.csv").read_text()
    expected = [(spec.kind, spec.target) for spec in mid_trip_faults(trucks=2, days=1, seed=5)]
    applied = [
        (row[1], row[2])
        for row in (line.split(",") for line in faults.splitlines())
        if row[-1] == "flag"
    ]
    # A failure drawn after the last trip has ended never takes effect.
    assert applied
    assert set(applied) <= set(expected)
