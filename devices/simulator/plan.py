"""The fleet's trip plan without simulating a reading.

A truck's trips depend only on the fleet's seed, the truck's id, the plan's
start, the reporting interval, the products and the trip lengths: each trip
draws from its own random stream (``scenario.trip_draw``) and the next one
loads where the last one ended. So a platform can know, from the simulator's
configuration alone, which load every truck carries when, as a dispatcher
would, and create the shipments before the trucks' readings arrive.
"""

from __future__ import annotations

from devices.simulator.fleet import FleetConfig, truck_ids
from devices.simulator.physics import PRODUCTS
from devices.simulator.scenario import Trip, trip_draw, truck_draw


def truck_trips(config: FleetConfig, truck: str, *, until: float) -> list[Trip]:
    """``truck``'s trips that start before ``until``, in order, as the simulator drives them."""
    products = tuple(PRODUCTS[name] for name in config.products)
    _, origin = truck_draw(config.seed, truck)
    trips: list[Trip] = []
    start = config.start
    while start < until:
        trip = trip_draw(
            seed=config.seed,
            truck=truck,
            index=len(trips),
            start=start,
            origin=origin,
            products=products,
            trip_hours=config.trip_hours,
            interval_s=config.interval_s,
        )
        trips.append(trip)
        start, origin = trip.end, trip.destination
    return trips


def fleet_trips(config: FleetConfig, *, until: float) -> dict[str, list[Trip]]:
    """Every truck's trips that start before ``until``, by truck id."""
    return {
        truck: truck_trips(config, truck, until=until)
        for truck in truck_ids(config.truck_prefix, config.trucks)
    }
