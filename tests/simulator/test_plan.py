"""The trip plan computed without simulating is the one the simulator drives."""

import csv
import itertools
from datetime import UTC, datetime

from devices.simulator.fleet import Fleet, FleetConfig
from devices.simulator.offline import generate
from devices.simulator.plan import fleet_trips, truck_trips
from devices.simulator.probes import timestamp

START = datetime(2026, 3, 2, tzinfo=UTC).timestamp()
CONFIG = FleetConfig(
    start=START, trucks=3, seed=11, interval_s=60.0, trip_hours=(2.0, 5.0), fault_rate_per_day=4.0
)


def test_the_plan_lists_the_trips_of_the_offline_files(tmp_path):
    generate(CONFIG, tmp_path, trips=4)
    with (tmp_path / "trips.csv").open(newline="") as handle:
        written = [
            (
                r["truck"],
                int(r["trip"]),
                r["start"],
                r["end"],
                r["product"],
                r["origin"],
                r["destination"],
            )
            for r in csv.DictReader(handle)
        ]
    last_start = max(row[2] for row in written)
    until = datetime.fromisoformat(last_start).timestamp() + 1.0
    planned = [
        (
            truck,
            trip.index,
            timestamp(trip.start),
            timestamp(trip.end),
            trip.product.name,
            trip.origin[0],
            trip.destination[0],
        )
        for truck, trips in fleet_trips(CONFIG, until=until).items()
        for trip in trips
        if trip.index < 4
    ]
    assert sorted(planned) == sorted(written)
    assert len(written) == 3 * 4


def test_each_trip_loads_where_the_last_one_ended_without_gaps():
    trips = truck_trips(CONFIG, "truck-002", until=START + 86_400.0)
    assert trips[0].start == START
    for before, after in itertools.pairwise(trips):
        assert after.start == before.end
        assert after.origin == before.destination
    assert trips[-1].start < START + 86_400.0 <= trips[-1].end


def test_the_online_fleet_carries_the_planned_load_at_every_instant():
    plan = fleet_trips(CONFIG, until=START + 12 * 3600.0)
    fleet = Fleet(CONFIG)
    for _ in range(12 * 60):
        t, truths, _ = fleet.tick()
        for truth in truths:
            trip = next(trip for trip in plan[truth.truck] if trip.start <= t < trip.end)
            assert (truth.trip, truth.product.name) == (trip.index, trip.product.name)


def test_a_resumed_fleet_stays_on_the_plan():
    plan = fleet_trips(CONFIG, until=START + 30 * 3600.0)
    fleet = Fleet(CONFIG)
    fleet.skip_to(START + 20 * 3600.0 + 1.0)
    t, truths, _ = fleet.tick()
    assert t == START + 20 * 3600.0 + 60.0
    for truth in truths:
        trip = next(trip for trip in plan[truth.truck] if trip.start <= t < trip.end)
        assert (truth.trip, truth.product.name) == (trip.index, trip.product.name)
