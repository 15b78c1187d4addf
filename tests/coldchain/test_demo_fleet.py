"""The demo's fleet: fixed on the first run, driven by the simulator exactly as planned."""

import csv
import json
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from coldchain.demo_fleet import demo_fleet_config, simulator_arguments
from devices.simulator.plan import fleet_trips
from devices.simulator.probes import timestamp

NOW = datetime(2026, 6, 1, 12, 0, 7, tzinfo=UTC).timestamp()


def test_the_first_run_fixes_the_fleet_six_hours_back_on_the_reporting_grid(tmp_path):
    config = demo_fleet_config(tmp_path / "fleet.json", trucks=3, interval_s=10.0, now=NOW)
    assert config.start == NOW - 7 - 6 * 3600
    assert (config.trucks, config.loggers, config.interval_s) == (3, 2, 10.0)
    assert json.loads((tmp_path / "fleet.json").read_text())["trucks"] == 3


def test_a_later_run_keeps_the_fleet_already_driving(tmp_path):
    first = demo_fleet_config(tmp_path / "fleet.json", trucks=3, interval_s=10.0, now=NOW)
    later = demo_fleet_config(tmp_path / "fleet.json", trucks=5, interval_s=60.0, now=NOW + 9e4)
    assert later == first


def test_the_simulator_given_the_demo_arguments_drives_the_planned_trips(tmp_path):
    config = demo_fleet_config(tmp_path / "fleet.json", trucks=2, interval_s=10.0, now=NOW)
    call_command(
        "simulate", *simulator_arguments(config), "--offline", str(tmp_path / "out"), "--trips", "2"
    )
    with (tmp_path / "out" / "trips.csv").open(newline="") as handle:
        driven = [(r["truck"], r["product"], r["start"], r["end"]) for r in csv.DictReader(handle)]
    planned = [
        (truck, trip.product.name, timestamp(trip.start), timestamp(trip.end))
        for truck, trips in fleet_trips(config, until=NOW + 86_400.0).items()
        for trip in trips[:2]
    ]
    assert sorted(driven) == sorted(planned)


@pytest.mark.django_db
def test_demo_trips_asks_for_the_demo_first_when_there_is_no_fleet(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    with pytest.raises(CommandError, match=r"run manage\.py demo first"):
        call_command("demo_trips")
