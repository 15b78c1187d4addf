"""Data sets: the same seed gives the same bytes, and the manifest records them."""

import hashlib
import json
from dataclasses import replace

from analytics import training
from analytics.dataset import MID_TRIP_FAULTS, dataset_build, mid_trip_faults, twin_arguments
from analytics.readings import readings_frame
from analytics.training import (
    DatasetSpec,
    dataset_ensure,
    dataset_twin_ensure,
    twin_differs,
)

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


def test_the_twin_has_the_same_labels_other_readings_and_rebuilds_from_the_manifest(tmp_path):
    manifest = build(tmp_path / "a")
    twin = dataset_build(
        out_dir=tmp_path / "twin",
        trucks=2,
        days=1,
        seed=5,
        fault_rate=4.0,
        probe_faults_applied=False,
    )
    for name in ("labels.csv", "sensor_faults.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "twin" / name).read_bytes()
    assert (tmp_path / "a" / "readings.csv").read_bytes() != (
        tmp_path / "twin" / "readings.csv"
    ).read_bytes()
    # Dropouts withhold readings in the data set, not in its twin.
    assert twin["files"]["readings.csv"]["rows"] >= manifest["files"]["readings.csv"]["rows"]
    assert "probe_faults_applied" not in manifest["config"]
    assert twin["config"]["probe_faults_applied"] is False

    dataset_build(out_dir=tmp_path / "rebuilt", jobs=1, **twin_arguments(manifest))
    for name in FILES:
        assert (tmp_path / "twin" / name).read_bytes() == (
            tmp_path / "rebuilt" / name
        ).read_bytes(), name
    assert twin_arguments({**manifest, "format": "coldchain-analytics-dataset/1"}) is None
    assert twin_arguments({key: manifest[key] for key in manifest if key != "simulator"}) is None


def test_the_twin_is_built_next_to_its_data_set_once_and_checked_against_it(tmp_path, monkeypatch):
    spec = DatasetSpec(trucks=2, days=1, seed=5, fault_rate=4.0)
    dataset = dataset_ensure(spec, tmp_path)
    by_spec = dataset_ensure(replace(spec, twin=True), tmp_path)
    assert (tmp_path / f"{spec.name}-twin" / "manifest.json").exists()
    twin = dataset_twin_ensure(dataset, tmp_path / spec.name)
    assert twin.sha256 == by_spec.sha256

    monkeypatch.setattr(training, "dataset_build", None)  # reused: nothing is built again
    assert dataset_twin_ensure(dataset, tmp_path / spec.name).sha256 == twin.sha256
    assert twin_differs(dataset, twin) is None
    assert "not applied" in twin_differs(dataset, dataset)
    other = build(tmp_path / "other", seed=6)
    assert "not its twin" in twin_differs(replace(dataset, manifest=other), twin)
