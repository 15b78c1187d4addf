"""The thermal model behaves like a refrigerated box, not like noise around a setpoint."""

import itertools
import math

import pytest

from devices.simulator import physics
from devices.simulator.physics import PRODUCTS, Body
from devices.simulator.scenario import TruckSim

DT = 30.0
HOUR = 3600.0


def loaded(body, product="chilled", mass_kg=10_000.0, cargo_c=2.0, air_c=2.0):
    return physics.load_state(body, PRODUCTS[product], mass_kg, cargo_c, air_c)


def run(state, body, seconds, dt=DT, **conditions):
    """Integrate under constant conditions; one (cargo, air, power) per step."""
    conditions = {
        "ambient_c": 30.0,
        "skin_c": 30.0,
        "setpoint_c": 2.0,
        "capacity_fraction": 1.0,
        "fans_on": True,
        "door_open": False,
    } | conditions
    trace = []
    for _ in range(int(seconds / dt)):
        before = (state.cargo_c, state.air_c)
        power = physics.step(state, body, dt, **conditions)
        trace.append((before, (state.cargo_c, state.air_c), power))
    return trace


def test_a_working_reefer_pulls_warm_cargo_down_to_the_setpoint_and_holds_it():
    body = Body()
    state = loaded(body, cargo_c=15.0, air_c=15.0)
    trace = run(state, body, 6 * 24 * HOUR)
    cargo = [after[0] for _, after, _ in trace]
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(cargo)), "cargo only cools"
    assert cargo[int(HOUR / DT)] > 14.0, "ten tonnes do not cool in an hour"
    assert abs(state.cargo_c - 2.0) < 0.3
    assert abs(state.air_c - 2.0) < 0.3, "the PI controller removes the offset"


def test_cooling_never_removes_more_heat_than_the_unit_has_capacity_for():
    body = Body(cooling_capacity_w=6_000.0)
    state = loaded(body, cargo_c=20.0, air_c=30.0)
    trace = run(state, body, 12 * HOUR)
    capacity_ceiling = body.cooling_capacity_w * 1.3 * 1.2  # best evaporator x condenser factors
    saturated = 0
    for (cargo0, air0), (cargo1, air1), power in trace:
        removed = -(
            state.cargo_capacity_j_per_k * (cargo1 - cargo0)
            + body.air_capacity_j_per_k * (air1 - air0)
        )
        # Outside is warmer than the box: the leak adds heat, so the box can
        # lose at most what the unit removes.
        assert removed <= power * DT + 1e-6
        assert power <= physics.cooling_capacity(body, air0, 30.0) + 1e-6 <= capacity_ceiling
        saturated += power >= physics.cooling_capacity(body, air0, 30.0) - 1e-6
    assert saturated > 10, "a warm box runs the unit flat out"


def test_a_bigger_unit_pulls_down_faster():
    results = []
    for capacity in (4_000.0, 12_000.0):
        body = Body(cooling_capacity_w=capacity)
        state = loaded(body, cargo_c=20.0, air_c=30.0)
        run(state, body, 2 * HOUR)
        results.append(state.air_c)
    assert results[1] < results[0] - 3.0


def test_after_a_reefer_failure_the_cargo_warms_towards_ambient_with_the_thermal_time_constant():
    body = Body()
    state = loaded(body, mass_kg=10_000.0, cargo_c=2.0, air_c=2.0)
    ambient = 30.0
    # Fans still run after a compressor failure: their heat ends up in the box.
    equilibrium = ambient + body.fan_heat_w / body.ua_w_per_k
    # Two nodes in series (cargo <-> air <-> outside); the air's capacity is
    # tiny, so the slow mode is the cargo through both conductances.
    tau = state.cargo_capacity_j_per_k * (1 / state.exchange_w_per_k + 1 / body.ua_w_per_k)
    gap0 = equilibrium - state.cargo_c
    trace = run(state, body, tau, dt=120.0, capacity_fraction=0.0)
    assert (equilibrium - state.cargo_c) / gap0 == pytest.approx(math.exp(-1), rel=0.05)
    # The air leads: after an hour it has moved far more than the cargo.
    (cargo_1h, air_1h) = trace[int(HOUR / 120.0)][1]
    assert air_1h - 2.0 > 5 * (cargo_1h - 2.0)
    assert all(power == 0.0 for _, _, power in trace)


def test_a_heavier_load_warms_more_slowly():
    rises = []
    for mass in (3_000.0, 15_000.0):
        body = Body()
        state = loaded(body, mass_kg=mass)
        run(state, body, 6 * HOUR, capacity_fraction=0.0)
        rises.append(state.cargo_c - 2.0)
    assert rises[0] > 2 * rises[1] > 0


def test_an_open_door_heats_the_air_much_more_than_the_cargo_and_the_air_recovers():
    body = Body()
    state = loaded(body)
    run(state, body, 6 * HOUR)  # settle
    cargo0, air0 = state.cargo_c, state.air_c
    run(state, body, 15 * 60, door_open=True, fans_on=False, ambient_c=25.0, skin_c=25.0)
    assert state.air_c - air0 > 8.0
    assert 0.0 < state.cargo_c - cargo0 < 0.2
    run(state, body, HOUR)
    assert abs(state.air_c - 2.0) < 1.0


def test_ambient_follows_a_day_night_cycle_in_local_solar_time():
    hours = [h / 4 for h in range(96)]
    values = [physics.ambient_c(h, 10.0, 5.0) for h in hours]
    assert hours[values.index(max(values))] == 15.0
    assert hours[values.index(min(values))] == 3.0
    assert max(values) - min(values) == pytest.approx(10.0)
    # Noon in Warsaw comes about an hour before noon in Madrid (same UTC).
    assert physics.local_solar_hours(12 * HOUR, 21.0) - physics.local_solar_hours(
        12 * HOUR, -3.7
    ) == (pytest.approx(24.7 / 15))
    assert physics.solar_boost_k(12.0, 6.0) == 6.0
    assert physics.solar_boost_k(0.0, 6.0) == 0.0


def test_a_simulated_truck_sees_the_day_night_cycle_and_summer_is_warmer_than_winter():
    def ambient_trace(start):
        truck = TruckSim(
            truck="t",
            seed=1,
            start=start,
            interval_s=600.0,
            max_step_s=30.0,
            products=(PRODUCTS["chilled"],),
            trip_hours=(48.0, 48.0),
        )
        return [truck.advance(start + k * 600.0) for k in range(144)]

    winter = ambient_trace(1_767_571_200.0)  # 2026-01-05
    summer = ambient_trace(1_783_209_600.0)  # 2026-07-05
    for trace in (winter, summer):
        values = [truth.ambient_c for truth in trace]
        assert max(values) - min(values) > 5.0
        warmest = trace[values.index(max(values))]
        solar = physics.local_solar_hours(warmest.t, warmest.lon)
        assert 13.0 < solar < 17.0
    assert sum(t.ambient_c for t in summer) / 144 > sum(t.ambient_c for t in winter) / 144 + 10


def test_a_trip_has_stops_with_door_openings_and_the_truck_moves_between_them():
    truck = TruckSim(
        truck="t",
        seed=3,
        start=1_767_571_200.0,
        interval_s=60.0,
        max_step_s=30.0,
        products=(PRODUCTS["frozen"],),
        trip_hours=(24.0, 24.0),
    )
    trace = [truck.advance(1_767_571_200.0 + k * 60.0) for k in range(1440)]
    assert truck.trip.stops
    doors = [truth for truth in trace if truth.door_open]
    assert doors
    assert all(truth.reefer_mode == "door_stop" for truth in doors)
    # Doors open only while parked: the position does not change then.
    positions = {(truth.lat, truth.lon) for truth in doors}
    assert len(positions) <= len(truck.trip.stops)
    assert trace[0].lat != trace[-1].lat
    # Away from door openings the controller holds the return air at the setpoint.
    door_minutes = [k for k, truth in enumerate(trace) if truth.door_open]
    settled = [
        truth
        for k, truth in enumerate(trace[60:], start=60)
        if all(not 0 <= k - d < 45 for d in door_minutes)
    ]
    assert len(settled) > 1000
    assert all(-20.5 < truth.air_c < -19.5 for truth in settled)
