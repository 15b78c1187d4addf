"""The demo's simulated fleet: one configuration, fixed on the first run,
shared by the simulator (which drives the trips) and the platform (which
creates each trip's shipment from the same plan, ``devices.simulator.plan``).

The configuration is kept in a file so that a restarted demo simulates the
same trips and finds the shipments it already made.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from devices.fleet_keys import fleet_keys
from devices.simulator.fleet import FleetConfig, fleet_devices

LOGGERS = 2  # the cargo temperature is the quorum of the independent loggers: at least two
TRIP_HOURS = (2.0, 4.0)  # short trips: several are delivered while the demo runs
FAULT_RATE_PER_DAY = 2.0
BACKLOG_S = 6 * 3600.0  # the simulator starts this far in the past and catches up


def demo_fleet_load(path: Path) -> FleetConfig | None:
    """The fleet written in ``path``; None if there is none yet."""
    if not path.exists():
        return None
    stored = json.loads(path.read_text())
    return FleetConfig(
        start=datetime.fromisoformat(stored["start"]).timestamp(),
        trucks=stored["trucks"],
        loggers=stored["loggers"],
        interval_s=stored["interval_s"],
        seed=stored["seed"],
        trip_hours=tuple(stored["trip_hours"]),
        fault_rate_per_day=stored["fault_rate_per_day"],
    )


def demo_fleet_config(path: Path, *, trucks: int, interval_s: float, now: float) -> FleetConfig:
    """The demo's fleet: read from ``path``, or made and written there on the first run.

    ``trucks`` and ``interval_s`` apply to a new fleet only: a fleet already
    driving keeps its configuration (delete the file for another one).
    """
    stored = demo_fleet_load(path)
    if stored is not None:
        return stored
    start = math.floor((now - BACKLOG_S) / interval_s) * interval_s
    config = FleetConfig(
        start=start,
        trucks=trucks,
        loggers=LOGGERS,
        interval_s=interval_s,
        trip_hours=TRIP_HOURS,
        fault_rate_per_day=FAULT_RATE_PER_DAY,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "start": datetime.fromtimestamp(start, UTC).isoformat(),
                "trucks": config.trucks,
                "loggers": config.loggers,
                "interval_s": config.interval_s,
                "seed": config.seed,
                "trip_hours": list(config.trip_hours),
                "fault_rate_per_day": config.fault_rate_per_day,
            },
            indent=2,
        )
    )
    return config


def demo_fleet_path() -> Path:
    return settings.VAR_DIR / "demo-fleet.json"


def simulator_arguments(config: FleetConfig) -> list[str]:
    """``manage.py simulate`` options that drive exactly ``config``'s fleet."""
    low, high = config.trip_hours
    return [
        "--start",
        datetime.fromtimestamp(config.start, UTC).isoformat().replace("+00:00", "Z"),
        "--trucks",
        str(config.trucks),
        "--loggers",
        str(config.loggers),
        "--interval",
        repr(config.interval_s),
        "--seed",
        str(config.seed),
        "--trip-hours",
        f"{low:g}-{high:g}",
        "--fault-rate",
        f"{config.fault_rate_per_day:g}",
    ]


def demo_devices_ensure(config: FleetConfig) -> int:
    """Register the fleet's devices (with their keys) before the simulator
    publishes, so that shipments can watch them from their first reading.
    Returns how many devices the fleet has."""
    keys = fleet_keys(fleet_devices(config), settings.DEVICE_KEY_DIR, provision=True)
    return len(keys)
