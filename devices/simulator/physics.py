"""Lumped-capacitance thermal model of a refrigerated truck body.

Two thermal masses: the cargo (large heat capacity) and the air in the box
(small capacity, together with the liner surfaces it touches). The air
exchanges heat with the cargo, with the outside through the insulation and,
while the door is open, by air exchange through the doorway; the reefer unit
removes heat from the air with a finite, temperature-dependent capacity under
PI control.

Pure functions and plain objects, no Django and no I/O: the simulator, the
tests and the analytics team's data generation share them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class Product:
    """A cargo type and the range it must be kept in (the shipper's contract)."""

    name: str
    temp_min: float
    temp_max: float
    setpoint: float
    specific_heat: float  # J/(kg K), product plus its packaging
    mass_kg: tuple[float, float]  # range a load is drawn from
    box_humidity_pct: float  # relative humidity the closed box settles to


PRODUCTS: dict[str, Product] = {
    # Packaged vaccines: light loads, cartons and vials (~2 kJ/kg K).
    "vaccines": Product("vaccines", 2.0, 8.0, 5.0, 2000.0, (1500.0, 6000.0), 55.0),
    # Fresh meat, dairy, ready meals: high water content (~3.5 kJ/kg K), humid box.
    "chilled": Product("chilled", 0.0, 4.0, 2.0, 3500.0, (6000.0, 18000.0), 88.0),
    # Frozen food below the latent-heat plateau behaves like ice (~1.9 kJ/kg K).
    "frozen": Product("frozen", -25.0, -15.0, -20.0, 1900.0, (8000.0, 20000.0), 75.0),
}


@dataclass(frozen=True)
class Body:
    """One truck's insulated box and reefer unit."""

    # Insulation plus door-seal leakage. A 13.6 m trailer has ~150 m2 of
    # skin at K ~0.4-0.7 W/m2K when new; aged boxes leak more.
    ua_w_per_k: float = 110.0
    # Air (~95 kJ/K for 80 m3) plus the liner and pallet surfaces it is in
    # contact with: what the return-air probe sees respond within minutes.
    air_capacity_j_per_k: float = 250_000.0
    # Air <-> cargo with the evaporator fans running, per tonne of load, plus
    # a floor for the pallets and walls; without fans only natural convection.
    exchange_base_w_per_k: float = 150.0
    exchange_per_tonne_w_per_k: float = 40.0
    natural_exchange_fraction: float = 0.3
    # An open rear door swaps roughly 1 kg/s of air: ~1 kW/K.
    door_exchange_w_per_k: float = 1200.0
    # Net refrigeration at 0 C box / 30 C ambient (a typical trailer unit).
    cooling_capacity_w: float = 11_000.0
    heating_capacity_w: float = 4_000.0
    # PI controller on return air: gain and integral rate (Ti = Kp/Ki ~ 20 min).
    gain_w_per_k: float = 3_000.0
    integral_w_per_k_s: float = 2.5
    fan_heat_w: float = 400.0
    # Sun on the roof raises the skin (sol-air) temperature above the air's.
    solar_gain_k: float = 6.0


@dataclass
class ThermalState:
    """The true state of one box: what the probes try to measure."""

    cargo_c: float
    air_c: float
    cargo_capacity_j_per_k: float
    exchange_w_per_k: float
    integral_w: float = 0.0  # PI controller's integral term


def load_state(
    body: Body, product: Product, mass_kg: float, cargo_c: float, air_c: float
) -> ThermalState:
    """A freshly loaded box."""
    return ThermalState(
        cargo_c=cargo_c,
        air_c=air_c,
        cargo_capacity_j_per_k=mass_kg * product.specific_heat,
        exchange_w_per_k=body.exchange_base_w_per_k
        + body.exchange_per_tonne_w_per_k * mass_kg / 1000.0,
    )


def unload(state: ThermalState, body: Body, fraction: float) -> None:
    """Take part of the load off at a delivery: less thermal mass, less contact surface."""
    keep = 1.0 - fraction
    state.cargo_capacity_j_per_k *= keep
    state.exchange_w_per_k = (
        body.exchange_base_w_per_k + (state.exchange_w_per_k - body.exchange_base_w_per_k) * keep
    )


def cooling_capacity(body: Body, air_c: float, ambient_c: float) -> float:
    """Net refrigeration available now.

    A vapour-compression unit loses capacity as the evaporator gets colder
    (roughly half at -20 C of what it has at 0 C) and as the condenser air
    gets hotter.
    """
    evaporator = min(1.3, max(0.4, 1.0 + 0.022 * air_c))
    condenser = min(1.2, max(0.7, 1.0 - 0.012 * (ambient_c - 30.0)))
    return body.cooling_capacity_w * evaporator * condenser


def step(
    state: ThermalState,
    body: Body,
    dt: float,
    *,
    ambient_c: float,
    skin_c: float,
    setpoint_c: float,
    capacity_fraction: float,
    fans_on: bool,
    door_open: bool,
) -> float:
    """Advance ``state`` by ``dt`` seconds; return the net cooling power (W, < 0 heats).

    Backward Euler on the two-node system, solved in closed form: the air
    node's time constant (a minute or two with the door open or a strong
    controller) is shorter than a sensible reporting step, and an explicit
    step would oscillate. Saturation of the controller is handled by solving
    again with the power fixed at its limit.

    ``capacity_fraction`` scales the refrigeration (0 = failed compressor);
    with ``fans_on`` false (no power, or the door switch stopped them) the
    unit neither cools nor stirs the air.
    """
    cargo_c = state.cargo_c
    air_c = state.air_c
    cargo_cap = state.cargo_capacity_j_per_k
    exchange = (
        state.exchange_w_per_k
        if fans_on
        else state.exchange_w_per_k * body.natural_exchange_fraction
    )
    door = body.door_exchange_w_per_k if door_open else 0.0
    ua = body.ua_w_per_k
    fan_heat = body.fan_heat_w if fans_on else 0.0

    # Cargo node: Tc' = a + b * Ta'.
    cargo_rate = cargo_cap / dt
    a = cargo_rate * cargo_c / (cargo_rate + exchange)
    b = exchange / (cargo_rate + exchange)
    air_rate = body.air_capacity_j_per_k / dt
    known = air_rate * air_c + ua * skin_c + exchange * a + door * ambient_c + fan_heat
    passive = air_rate + ua + exchange + door - exchange * b

    controlled = fans_on and capacity_fraction > 0.0
    if controlled:
        q_max = cooling_capacity(body, air_c, ambient_c) * capacity_fraction
        h_max = body.heating_capacity_w * capacity_fraction
        gain = body.gain_w_per_k
        new_air = (known + gain * setpoint_c - state.integral_w) / (passive + gain)
        power = gain * (new_air - setpoint_c) + state.integral_w
        if power > q_max:
            power = q_max
            new_air = (known - power) / passive
        elif power < -h_max:
            power = -h_max
            new_air = (known - power) / passive
        else:
            # Anti-windup: integrate only while the output is not saturated.
            integral = state.integral_w + body.integral_w_per_k_s * (new_air - setpoint_c) * dt
            state.integral_w = min(q_max, max(-h_max, integral))
    else:
        power = 0.0
        new_air = known / passive
        if not fans_on:
            # A controller that lost power restarts from zero.
            state.integral_w = 0.0

    state.air_c = new_air
    state.cargo_c = a + b * new_air
    return power


# --- Outside air -------------------------------------------------------------


def local_solar_hours(epoch_s: float, lon: float) -> float:
    """Hours since local solar midnight: the sun, not the time zone, drives the cycle."""
    return (epoch_s / 3600.0 + lon / 15.0) % 24.0


def seasonal_mean_c(epoch_s: float, lat: float) -> float:
    """Daily mean air temperature for a mid-latitude northern-hemisphere site.

    Coldest around 20 January, warmest around 20 July; higher latitudes are
    colder and swing more.
    """
    day_of_year = (epoch_s / SECONDS_PER_DAY) % 365.25
    swing = 9.0 + 0.15 * (lat - 45.0)
    return (
        13.0 - 0.5 * (lat - 45.0) - swing * math.cos(2.0 * math.pi * (day_of_year - 20.0) / 365.25)
    )


def ambient_c(hours: float, mean_c: float, amplitude_c: float) -> float:
    """Air temperature over a day: minimum before dawn (~03:00), maximum ~15:00."""
    return mean_c + amplitude_c * math.cos(2.0 * math.pi * (hours - 15.0) / 24.0)


def solar_boost_k(hours: float, peak_k: float) -> float:
    """Extra skin temperature from sunshine between 06:00 and 18:00 solar time."""
    if 6.0 < hours < 18.0:
        return peak_k * math.sin(math.pi * (hours - 6.0) / 12.0)
    return 0.0


def saturation_hpa(temp_c: float) -> float:
    """Water vapour saturation pressure (Magnus formula, WMO coefficients)."""
    return 6.112 * math.exp(17.62 * temp_c / (243.12 + temp_c))


def humidity_at(rh_pct: float, from_c: float, to_c: float) -> float:
    """Relative humidity of air at ``from_c`` once brought to ``to_c`` (capped at fog)."""
    return min(100.0, rh_pct * saturation_hpa(from_c) / saturation_hpa(to_c))
