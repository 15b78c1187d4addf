"""Trips and the true state of one truck over time.

A truck drives consecutive trips. Each trip loads one product at a city,
drives to another with scheduled stops (deliveries and inspections open the
rear door, rest stops do not) and ends there; the next trip loads at once.
``TruckSim.advance`` integrates the physics in fixed sub-steps and returns
the truth at each reporting instant. Truck faults act here; probe and
message faults act in ``probes``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from devices.simulator import physics
from devices.simulator.faults import Fault
from devices.simulator.physics import Body, Product, ThermalState

# Cold-chain hubs, (name, lat, lon). Positions only feed the GPS channel and
# the solar time of the day/night cycle.
CITIES: tuple[tuple[str, float, float], ...] = (
    ("Rotterdam", 51.92, 4.48),
    ("Hamburg", 53.55, 9.99),
    ("Munich", 48.14, 11.58),
    ("Milan", 45.46, 9.19),
    ("Lyon", 45.76, 4.84),
    ("Madrid", 40.42, -3.70),
    ("Warsaw", 52.23, 21.01),
    ("Vienna", 48.21, 16.37),
    ("Paris", 48.86, 2.35),
    ("Barcelona", 41.39, 2.17),
    ("Copenhagen", 55.68, 12.57),
    ("Prague", 50.08, 14.44),
    ("Brussels", 50.85, 4.35),
    ("Basel", 47.56, 7.59),
)

STOP_EVERY_H = (3.0, 5.0)  # driving between stops (EU drivers rest every 4.5 h)
STOP_MINUTES = (15.0, 45.0)
DOOR_STOP_PROBABILITY = 0.6  # deliveries and inspections open the door
DOOR_MINUTES = (4.0, 15.0)
UNLOAD_FRACTION = (0.05, 0.25)
HUMIDITY_CLOSED_TAU_S = 3600.0  # evaporator coil pulls the box to its equilibrium
HUMIDITY_DOOR_TAU_S = 300.0


@dataclass(frozen=True)
class Stop:
    start: float
    end: float
    door_from: float  # door_from == door_to: the door stays shut
    door_to: float
    unload_fraction: float


@dataclass(frozen=True)
class Trip:
    index: int
    start: float
    end: float
    product: Product
    mass_kg: float
    origin: tuple[str, float, float]
    destination: tuple[str, float, float]
    stops: tuple[Stop, ...]
    weather_offset_c: float  # this trip's weather against the seasonal mean
    amplitude_c: float  # half the day/night swing
    base_humidity_pct: float  # outside relative humidity at the daily mean
    load_cargo_c: float  # cargo temperature as loaded, before any fault
    load_air_c: float
    driving_s: float


def plan_trip(
    rng: random.Random,
    *,
    index: int,
    start: float,
    origin: tuple[str, float, float],
    products: tuple[Product, ...],
    trip_hours: tuple[float, float],
    interval_s: float,
) -> Trip:
    """Draw one trip. Its length is a whole number of reporting intervals so
    that trip boundaries fall on reporting instants."""
    product = products[rng.randrange(len(products))]
    hours = rng.uniform(*trip_hours)
    duration = max(1, round(hours * 3600.0 / interval_s)) * interval_s
    destination = origin
    while destination is origin:
        destination = CITIES[rng.randrange(len(CITIES))]
    stops = []
    at = start + rng.uniform(*STOP_EVERY_H) * 3600.0
    end = start + duration
    while True:
        length = rng.uniform(*STOP_MINUTES) * 60.0
        if at + length > end - 1800.0:
            break
        if rng.random() < DOOR_STOP_PROBABILITY:
            door_from = at + rng.uniform(1.0, 5.0) * 60.0
            door_to = min(at + length, door_from + rng.uniform(*DOOR_MINUTES) * 60.0)
            unload = rng.uniform(*UNLOAD_FRACTION)
        else:
            door_from = door_to = at
            unload = 0.0
        stops.append(Stop(at, at + length, door_from, door_to, unload))
        at += length + rng.uniform(*STOP_EVERY_H) * 3600.0
    stopped = sum(stop.end - stop.start for stop in stops)
    # Precooled product is loaded close to its setpoint, never outside its range.
    load_cargo = min(
        product.temp_max - 0.3,
        max(product.temp_min + 0.3, product.setpoint + rng.uniform(-1.0, 1.5)),
    )
    return Trip(
        index=index,
        start=start,
        end=end,
        product=product,
        mass_kg=rng.uniform(*product.mass_kg),
        origin=origin,
        destination=destination,
        stops=tuple(stops),
        weather_offset_c=rng.gauss(0.0, 4.0),
        amplitude_c=rng.uniform(3.0, 7.0),
        base_humidity_pct=rng.uniform(55.0, 85.0),
        load_cargo_c=load_cargo,
        load_air_c=product.setpoint + rng.uniform(-0.5, 1.0),
        driving_s=max(1.0, duration - stopped),
    )


def trip_draw(
    *,
    seed: int,
    truck: str,
    index: int,
    start: float,
    origin: tuple[str, float, float],
    products: tuple[Product, ...],
    trip_hours: tuple[float, float],
    interval_s: float,
) -> Trip:
    """Trip ``index`` of ``truck``: each trip has its own random stream, so
    the plan never depends on the physics, the faults or the readings."""
    return plan_trip(
        random.Random(f"trip:{seed}:{truck}:{index}"),
        index=index,
        start=start,
        origin=origin,
        products=products,
        trip_hours=trip_hours,
        interval_s=interval_s,
    )


class Truth:
    """The true state of one truck at one reporting instant."""

    __slots__ = (
        "air_c",
        "ambient_c",
        "cargo_c",
        "cooling_w",
        "door_open",
        "faults",
        "humidity_pct",
        "lat",
        "lon",
        "product",
        "reefer_mode",
        "reefer_on",
        "t",
        "trip",
        "truck",
    )

    def __init__(self, **values: object) -> None:
        for name, value in values.items():
            setattr(self, name, value)


def make_body(rng: random.Random) -> Body:
    """Trucks differ: insulation ages, units differ in size and wear."""
    base = Body()
    return Body(
        ua_w_per_k=base.ua_w_per_k * rng.uniform(0.8, 1.4),
        cooling_capacity_w=base.cooling_capacity_w * rng.uniform(0.85, 1.15),
        door_exchange_w_per_k=base.door_exchange_w_per_k * rng.uniform(0.8, 1.2),
    )


def truck_draw(seed: int, truck: str) -> tuple[Body, tuple[str, float, float]]:
    """A truck's body and the city its first trip loads at."""
    rng = random.Random(f"body:{seed}:{truck}")
    body = make_body(rng)
    return body, CITIES[rng.randrange(len(CITIES))]


class TruckSim:
    """One truck's trips, physics and truck faults, advanced on a fixed grid."""

    def __init__(
        self,
        *,
        truck: str,
        seed: int,
        start: float,
        interval_s: float,
        max_step_s: float,
        products: tuple[Product, ...],
        trip_hours: tuple[float, float],
    ) -> None:
        self.truck = truck
        self.seed = seed
        self.interval_s = interval_s
        self.substeps = max(1, math.ceil(interval_s / max_step_s - 1e-9))
        self.dt = interval_s / self.substeps
        self.products = products
        self.trip_hours = trip_hours
        self.body, first_origin = truck_draw(seed, truck)
        self._closed_humidity = 1.0 - math.exp(-self.dt / HUMIDITY_CLOSED_TAU_S)
        self._door_humidity = 1.0 - math.exp(-self.dt / HUMIDITY_DOOR_TAU_S)
        self.faults: list[Fault] = []  # truck faults, applied or pending
        self._precooling: Fault | None = None  # applied, waiting for the cargo to recover
        self.t = start
        self._steps = 0  # sub-steps since ``start``: time is start + steps * dt, no drift
        self._start = start
        self.power_w = 0.0
        self.trip: Trip
        self.state: ThermalState
        self._begin_trip(0, start, first_origin)

    # --- trips ----------------------------------------------------------------

    def _begin_trip(self, index: int, start: float, origin: tuple[str, float, float]) -> None:
        trip = trip_draw(
            seed=self.seed,
            truck=self.truck,
            index=index,
            start=start,
            origin=origin,
            products=self.products,
            trip_hours=self.trip_hours,
            interval_s=self.interval_s,
        )
        cargo_c, air_c = trip.load_cargo_c, trip.load_air_c
        self.trip = trip
        # The season barely moves within a trip: one daily mean per trip.
        latitude = (trip.origin[1] + trip.destination[1]) / 2.0
        self._mean = physics.seasonal_mean_c(start, latitude) + trip.weather_offset_c
        self._finish_precooling(start)
        for fault in self.faults:
            if fault.kind == "poor_precooling" and not fault.resolved and fault.start <= start:
                # The product arrived warm and the box was not precooled: the
                # error is made at loading, so the label starts there.
                fault.start = start
                fault.end = trip.end
                cargo_c = trip.product.temp_max + (fault.magnitude or 0.0)
                air_c = self._ambient(start, trip.origin[2])[0]
                self._precooling = fault
                break
        self.state = physics.load_state(self.body, trip.product, trip.mass_kg, cargo_c, air_c)
        self.humidity = trip.product.box_humidity_pct
        self._stop = 0
        self._unloaded = -1
        self._driven = 0.0

    def _finish_precooling(self, t: float) -> None:
        fault = self._precooling
        if fault is not None:
            fault.end = t
            fault.resolved = True
            self._precooling = None

    # --- outside conditions ---------------------------------------------------

    def _ambient(self, t: float, lon: float) -> tuple[float, float]:
        """(air temperature, sun-heated skin temperature) outside the box."""
        hours = physics.local_solar_hours(t, lon)
        air = physics.ambient_c(hours, self._mean, self.trip.amplitude_c)
        return air, air + physics.solar_boost_k(hours, self.body.solar_gain_k)

    def _outside_humidity(self, air_c: float) -> float:
        # Relative humidity falls as the day warms (the same air holds more).
        humidity = self.trip.base_humidity_pct - 3.0 * (air_c - self._mean)
        return min(100.0, max(15.0, humidity))

    def _position(self) -> tuple[float, float]:
        trip = self.trip
        fraction = min(1.0, self._driven / trip.driving_s)
        (_, lat0, lon0), (_, lat1, lon1) = trip.origin, trip.destination
        # Roads are not great circles: bow the track a little to one side.
        bow = 0.08 * math.sin(math.pi * fraction)
        return (
            lat0 + (lat1 - lat0) * fraction - (lon1 - lon0) * bow,
            lon0 + (lon1 - lon0) * fraction + (lat1 - lat0) * bow,
        )

    # --- faults ---------------------------------------------------------------

    @property
    def recovering(self) -> Fault | None:
        """The poor_precooling fault whose cargo is not back in range yet."""
        return self._precooling

    def add_fault(self, fault: Fault) -> None:
        self.faults.append(fault)
        trip = self.trip
        if (
            fault.kind == "poor_precooling"
            and fault.start <= trip.start
            and self.t == trip.start
            and self._precooling is None
        ):
            # Nothing has happened in this trip yet: load it again, badly.
            self._begin_trip(trip.index, trip.start, trip.origin)

    def _truck_faults_at(self, t: float) -> tuple[float, bool, bool]:
        """(capacity fraction, powered, door forced open) at ``t``."""
        capacity, powered, door = 1.0, True, False
        for fault in self.faults:
            if fault.start <= t < fault.end:
                kind = fault.kind
                if kind == "reefer_failure":
                    capacity = min(capacity, fault.magnitude or 0.0)
                elif kind == "power_loss":
                    powered = False
                elif kind == "door_left_open":
                    door = True
        return capacity, powered, door

    def active_faults(self, t: float) -> tuple[str, ...]:
        kinds = []
        for fault in self.faults:
            if fault.kind == "poor_precooling":
                if fault is self._precooling and fault.start <= t:
                    kinds.append(fault.kind)
            elif fault.start <= t < fault.end:
                kinds.append(fault.kind)
        return tuple(sorted(set(kinds)))

    def prune_faults(self, before: float) -> None:
        """Forget truck faults that ended before ``before`` (long online runs)."""
        self.faults = [f for f in self.faults if f.end >= before or not f.resolved]

    # --- integration ----------------------------------------------------------

    def advance(self, t_target: float) -> Truth:
        """Integrate up to ``t_target`` (a reporting instant) and return the truth there."""
        dt = self.dt
        body = self.body
        state = self.state
        # Within one reporting interval the truck moves a few hundred metres:
        # one position (for the solar time) is enough.
        lon = self._position()[1]
        while self.t < t_target - 1e-6:
            t = self.t
            trip = self.trip
            if t >= trip.end - 1e-6:
                self._begin_trip(trip.index + 1, trip.end, trip.destination)
                trip, state = self.trip, self.state
            capacity, powered, door_open = (
                self._truck_faults_at(t) if self.faults else (1.0, True, False)
            )
            moving = True
            stops = trip.stops
            while self._stop < len(stops) and stops[self._stop].end <= t:
                self._stop += 1
            if self._stop < len(stops):
                stop = stops[self._stop]
                if stop.start <= t:
                    moving = False
                    if stop.door_from <= t < stop.door_to:
                        door_open = True
                        if self._unloaded != self._stop:
                            physics.unload(state, body, stop.unload_fraction)
                            self._unloaded = self._stop
            if moving:
                self._driven += dt
            ambient, skin = self._ambient(t + dt / 2.0, lon)
            # The door switch stops the evaporator fans so the unit does not
            # blow cold air out of the open door and draw warm air in.
            fans = powered and not door_open
            self.power_w = physics.step(
                state,
                body,
                dt,
                ambient_c=ambient,
                skin_c=skin,
                setpoint_c=trip.product.setpoint,
                capacity_fraction=capacity,
                fans_on=fans,
                door_open=door_open,
            )
            if door_open:
                outside = self._outside_humidity(ambient)
                inflow = physics.humidity_at(outside, ambient, state.air_c)
                self.humidity += (inflow - self.humidity) * self._door_humidity
            else:
                # Without the evaporator nothing dries the air: it creeps up.
                target = trip.product.box_humidity_pct
                if not fans:
                    target = min(98.0, target + 10.0)
                self.humidity += (target - self.humidity) * self._closed_humidity
            self._steps += 1
            self.t = self._start + self._steps * dt
        trip = self.trip
        if self.t >= trip.end - 1e-6:
            # Report the instant a trip ends as the start of the next one.
            self._begin_trip(trip.index + 1, trip.end, trip.destination)
            trip, state = self.trip, self.state
        return self._truth()

    def _truth(self) -> Truth:
        t, trip, state = self.t, self.trip, self.state
        capacity, powered, forced_door = (
            self._truck_faults_at(t) if self.faults else (1.0, True, False)
        )
        door = forced_door
        if self._stop < len(trip.stops):
            stop = trip.stops[self._stop]
            door = door or stop.door_from <= t < stop.door_to
        lat, lon = self._position()
        ambient = self._ambient(t, lon)[0]
        product = trip.product
        if self._precooling is not None and product.temp_min <= state.cargo_c <= product.temp_max:
            self._finish_precooling(t)
        if not powered:
            mode = "off"
        elif capacity < 1.0:
            mode = "failed"
        elif door:
            mode = "door_stop"
        elif self.power_w > 1.0:
            mode = "cooling"
        elif self.power_w < -1.0:
            mode = "heating"
        else:
            mode = "idle"
        return Truth(
            truck=self.truck,
            t=t,
            trip=trip.index,
            product=product,
            cargo_c=state.cargo_c,
            air_c=state.air_c,
            ambient_c=ambient,
            humidity_pct=self.humidity,
            door_open=door,
            reefer_on=powered,
            reefer_mode=mode,
            cooling_w=self.power_w,
            lat=lat,
            lon=lon,
            faults=self.active_faults(t) if self.faults else (),
        )
