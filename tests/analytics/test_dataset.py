"""Data sets: the same seed gives the same bytes, and the manifest records them."""

import hashlib
import json

from analytics.dataset import dataset_build
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
