"""``manage.py evaluate_model``: three detectors graded on a data set and on its twin."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from analytics.dataset import dataset_build
from tests.analytics.boosters import register_both

pytestmark = pytest.mark.django_db

CAUSED = "sensor_fault_events_causing_breach_alarm_share"
SMALL = {"trucks": 2, "days": 1, "seed": 5, "fault_rate": 4.0}


@pytest.fixture(autouse=True)
def models(settings, tmp_path):
    settings.ANALYTICS_MODEL_DIR = tmp_path / "models"
    settings.ANALYTICS_DATASET_DIR = tmp_path / "datasets"
    register_both(
        breach_decision={"breach": 0.5, "sensor_fault": 0.5, "persistence": 1},
        breach_soon_decision={"breach_soon": 0.5},
    )


def run(**options) -> tuple[dict[str, list[str]], str]:
    """The printed report (each figure's cells: model, threshold, extrapolation) and the text."""
    out = StringIO()
    call_command("evaluate_model", stdout=out, **options)
    text = out.getvalue()
    rows = [line.split() for line in text.splitlines()[2:]]
    return {row[0]: row[1:] for row in rows if len(row) == 1 + 3}, text


def test_the_causal_figure_comes_from_the_twin_built_next_to_the_data_set(tmp_path):
    dataset_build(out_dir=tmp_path / "eval", **SMALL)

    report, text = run(data=tmp_path / "eval")

    assert "and its twin" in text
    assert (tmp_path / "eval-twin" / "manifest.json").exists()
    assert len(report[CAUSED]) == 3
    for caused, co_occurring in zip(
        report[CAUSED], report["sensor_fault_events_with_breach_alarm_share"], strict=True
    ):
        assert float(caused) <= float(co_occurring)


def test_the_simulated_data_set_of_the_options_gets_its_twin_too(tmp_path):
    report, _ = run(**SMALL)
    assert (tmp_path / "datasets" / "t2-d1-s5-f4-twin" / "manifest.json").exists()
    assert "n/a" not in report[CAUSED]


def test_without_the_simulator_configuration_the_causal_figure_is_n_a_with_a_note(tmp_path):
    dataset_build(out_dir=tmp_path / "eval", **SMALL)
    manifest_path = tmp_path / "eval" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["simulator"]
    manifest_path.write_text(json.dumps(manifest))

    report, text = run(data=tmp_path / "eval")

    assert report[CAUSED] == ["n/a"] * 3
    assert "no simulator configuration to build its twin from" in text
    assert not (tmp_path / "eval-twin").exists()
