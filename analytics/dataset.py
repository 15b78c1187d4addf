"""Training data sets from the simulator's offline mode, as files with recorded SHA-256.

``dataset_build`` simulates a fleet (products, routes, weather, loads and
faults all come from the simulator), keeps the simulator's own files under
``raw/`` untouched, and derives:

* ``readings.csv``       the canonical readings frame (the input format of scoring),
  one shipment per truck trip, forged and replayed messages removed (the
  platform refuses them before analytics sees anything);
* ``labels.csv``         per (shipment, t): ``BREACH_COLUMNS`` of ``analytics.labels``;
* ``sensor_faults.csv``  per (shipment, device, t): ``sensor_fault``;
* ``manifest.json``      configuration, label definitions, row counts and SHA-256.

Besides the simulator's random schedule (``fault_rate``, every kind alike),
a data set adds equipment failures at random times within its trips
(``MID_TRIP_FAULTS``), long enough to warm the load out of its range: left
to the random schedule alone, nearly every breach is a warm load at a trip's
first minute, which no detector can foresee and a carrier needs no warning for.

The same arguments give the same bytes.

The **twin** of a data set (``probe_faults_applied=False``) simulates the
same fleet with its probe faults scheduled and labelled but not applied
(``devices.simulator.offline``): ``labels.csv`` and ``sensor_faults.csv``
are the same bytes, ``readings.csv`` differs only where a probe fault acts.
A detector's alarm that rings on a data set but not on its twin was raised
by the probe fault (``analytics.evaluation``).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from analytics.labels import (
    DEFAULT_LABELS,
    LabelConfig,
    breach_labels,
    sensor_fault_labels,
    shipment_id,
)
from analytics.readings import COLUMNS, readings_frame
from devices.simulator.faults import PROFILES, FaultSpec
from devices.simulator.fleet import FleetConfig, truck_ids
from devices.simulator.offline import generate

FORMAT = "coldchain-analytics-dataset/2"
# Midsummer: a failed reefer in a January night barely warms a load, and the
# equipment failures a carrier must be warned of happen in the warm months.
DEFAULT_START = datetime(2026, 7, 6, tzinfo=UTC)


@dataclass(frozen=True)
class MidTripFault:
    """One kind of equipment failure added to a data set's trips."""

    kind: str
    per_truck_day: float  # probability of one such failure starting on a truck-day
    duration_h: tuple[float, float]


# A load of several tonnes warms by a fraction of a degree per hour once its
# cooling stops, so only failures lasting hours (not repaired on the road)
# take it out of its range; the simulator's random durations mostly do not.
MID_TRIP_FAULTS = (
    MidTripFault("reefer_failure", 0.5, (6.0, 16.0)),
    MidTripFault("power_loss", 0.3, (4.0, 12.0)),
    MidTripFault("door_left_open", 0.2, (1.0, 4.0)),
)


def mid_trip_faults(
    *, trucks: int, days: float, seed: int, mix: tuple[MidTripFault, ...] = MID_TRIP_FAULTS
) -> tuple[FaultSpec, ...]:
    """Failures of ``mix`` at uniform random times, as the simulator's ``--fault`` specs.

    Each truck-day draws from its own generator seeded by (seed, truck, day),
    like the simulator's random schedule: the same seed gives the same faults.
    """
    specs = []
    for truck in truck_ids("truck", trucks):
        for day in range(math.ceil(days)):
            rng = random.Random(f"dataset-faults:{seed}:{truck}:{day}")
            for fault in mix:
                if rng.random() >= fault.per_truck_day:
                    continue
                offset_s = (day + rng.random()) * 86_400.0
                duration_s = rng.uniform(*fault.duration_h) * 3600.0
                magnitude_range = PROFILES[fault.kind].magnitude_range
                specs.append(
                    FaultSpec(
                        kind=fault.kind,
                        target=truck,
                        offset_s=round(offset_s, 3),
                        duration_s=round(duration_s, 3),
                        magnitude=(
                            round(rng.uniform(*magnitude_range), 3) if magnitude_range else None
                        ),
                    )
                )
    return tuple(specs)


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _times(text: pd.Series) -> pd.Series:
    return pd.to_datetime(text, utc=True, format="ISO8601").astype("datetime64[ms, UTC]")


def _write(frame: pd.DataFrame, path: Path) -> None:
    """CSV with RFC 3339 millisecond times and fixed spellings, so bytes are reproducible."""
    out = frame.copy()
    for name in out.columns:
        if isinstance(out[name].dtype, pd.DatetimeTZDtype):
            out[name] = out[name].dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
        elif out[name].dtype in (bool, "boolean"):
            out[name] = out[name].map({True: "true", False: "false"}).astype("string")
    out.to_csv(path, index=False, lineterminator="\n", na_rep="")


def _shipments(raw: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Truth with a ``shipment`` column, and the readings joined to it on (truck, t)."""
    truth = pd.read_csv(raw / "truth.csv", dtype={"truck": "string"})
    truth["shipment"] = shipment_id(truth["truck"], truth["trip"])
    readings = pd.read_csv(raw / "readings.csv", dtype=str, keep_default_na=False)
    readings = readings[readings["injected"] == ""]
    context = truth[["truck", "t", "shipment", "temp_min", "temp_max"]]
    readings = readings.merge(context.astype({"t": str}), on=["truck", "t"], how="inner")
    truth["t"] = _times(truth["t"])
    readings = readings.assign(t=_times(readings["t"]))
    return truth, readings


def dataset_build(
    *,
    out_dir: Path,
    trucks: int,
    days: float,
    seed: int,
    fault_rate: float,
    loggers: int = 2,
    trip_hours: tuple[float, float] = (8.0, 16.0),
    labels: LabelConfig = DEFAULT_LABELS,
    start: datetime = DEFAULT_START,
    jobs: int = 1,
    mid_trip: tuple[MidTripFault, ...] = MID_TRIP_FAULTS,
    probe_faults_applied: bool = True,
) -> dict:
    """Simulate ``trucks`` for about ``days`` and write the labelled data set; return its manifest.

    ``fault_rate`` is random faults per truck-day; ``loggers`` independent
    loggers per truck besides the reefer controller (2 gives the quorum a
    majority of 3); trips last ``trip_hours`` (range), as many as fill ``days``;
    ``mid_trip`` adds equipment failures (see ``mid_trip_faults``);
    ``probe_faults_applied`` false builds the twin.
    """
    out_dir = Path(out_dir)
    raw = out_dir / "raw"
    config = FleetConfig(
        start=start.timestamp(),
        trucks=trucks,
        loggers=loggers,
        seed=seed,
        trip_hours=trip_hours,
        fault_rate_per_day=fault_rate,
        faults=mid_trip_faults(trucks=trucks, days=days, seed=seed, mix=mid_trip),
        probe_faults_applied=probe_faults_applied,
    )
    trips = max(1, math.ceil(days * 24.0 / (sum(trip_hours) / 2.0)))
    simulator = generate(config, raw, trips=trips, jobs=jobs)

    truth, joined = _shipments(raw)
    readings = readings_frame(joined[list(COLUMNS)])
    breach = breach_labels(truth, labels)
    faults = pd.read_csv(raw / "faults.csv", dtype={"device": "string"})
    faults = faults.assign(start=_times(faults["start"]), end=_times(faults["end"]))
    # Every instant each device should have reported at: the truck's truth grid.
    devices = joined[["truck", "device"]].drop_duplicates()
    grid = truth[["truck", "shipment", "t"]].merge(devices, on="truck")
    sensor = sensor_fault_labels(grid[["shipment", "device", "t"]], faults)

    files = {"readings.csv": readings, "labels.csv": breach, "sensor_faults.csv": sensor}
    for name, frame in files.items():
        _write(frame, out_dir / name)
    settings = {
        "trucks": trucks,
        "days": days,
        "seed": seed,
        "fault_rate": fault_rate,
        "loggers": loggers,
        "trip_hours": list(trip_hours),
        "trips_per_truck": trips,
        "start": start.isoformat(),
        "mid_trip_faults": [asdict(fault) for fault in mid_trip],
    }
    if not probe_faults_applied:
        # Only a twin says so: ordinary data sets keep the bytes they had before twins.
        settings["probe_faults_applied"] = False
    manifest = {
        "format": FORMAT,
        "config": settings,
        "labels": asdict(labels),
        "simulator": simulator,
        "files": {
            name: {"rows": len(frame), "sha256": _sha256(out_dir / name)}
            for name, frame in sorted(files.items())
        },
    }
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    (out_dir / "manifest.json").write_text(text)
    return json.loads(text)


def twin_arguments(manifest: dict) -> dict | None:
    """``dataset_build``'s arguments, but ``out_dir`` and ``jobs``, for the twin of the data set
    whose manifest this is; None if no simulator of this format made it (nothing to rebuild from).
    """
    config = manifest.get("config", {})
    if manifest.get("format") != FORMAT or "simulator" not in manifest:
        return None
    return {
        "trucks": config["trucks"],
        "days": config["days"],
        "seed": config["seed"],
        "fault_rate": config["fault_rate"],
        "loggers": config["loggers"],
        "trip_hours": tuple(config["trip_hours"]),
        "labels": LabelConfig(**manifest["labels"]),
        "start": datetime.fromisoformat(config["start"]),
        "mid_trip": tuple(
            MidTripFault(fault["kind"], fault["per_truck_day"], tuple(fault["duration_h"]))
            for fault in config["mid_trip_faults"]
        ),
        "probe_faults_applied": False,
    }
