"""Offline mode: readings, ground truth and fault labels as CSV files, fast and deterministic.

No broker, no database, no wall clock: the same configuration and seed give
byte-identical files, so a training set can be regenerated instead of
archived. With ``sign`` every reading also carries its JWS, signed with keys
derived from the seed (demo keys: never register them for real devices).

Files (one row per device per reporting instant, joined on ``truck`` + ``t``):

* ``readings.csv``  what the devices sent: ``t`` is the true instant, ``ts``
  what the device's clock said; ``injected`` marks forged and replayed
  messages; ``faults`` lists the faults acting on that device then.
* ``truth.csv``     the true state of each truck at each reporting instant,
  with the product's range.
* ``faults.csv``    one row per fault: kind, truck, device, start, end.
* ``trips.csv``     one row per trip: product, load, route, stops, weather.
* ``devices.csv``   device ids, kinds and (with ``sign``) public keys.
* ``manifest.json`` the configuration, row counts and SHA-256 of each file.

The **twin** of a run (``FleetConfig.probe_faults_applied`` false) is the
same fleet with its probe faults scheduled and labelled but not applied:
``truth.csv``, ``faults.csv``, ``trips.csv`` and ``devices.csv`` are the
same bytes, and so is every reading no probe fault touches; a reading under
a spike, a stuck or drifting probe is what the device would have sent
without it, and a dropout sends its readings after all.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import multiprocessing
from dataclasses import asdict
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devices.keys import raw_public_key
from devices.simulator.fleet import Fleet, FleetConfig, fleet_devices
from devices.simulator.probes import Emitted, sign_emitted, timestamp
from devices.simulator.records import FAULT_COLUMNS, TRUTH_COLUMNS, fault_row, rounded, truth_row
from devices.simulator.scenario import Trip
from devices.wire import b64url_encode

FORMAT = "coldchain-simulator-offline/1"
READING_COLUMNS = (
    "truck",
    "device",
    "device_kind",
    "seq",
    "t",
    "ts",
    "temp_c",
    "ambient_c",
    "humidity_pct",
    "door_open",
    "lat",
    "lon",
    "reefer_on",
    "setpoint_c",
    "battery_pct",
    "injected",
    "faults",
)
TRIP_COLUMNS = (
    "truck",
    "trip",
    "start",
    "end",
    "product",
    "temp_min",
    "temp_max",
    "setpoint_c",
    "cargo_kg",
    "origin",
    "destination",
    "stops",
    "door_stops",
    "weather_offset_c",
    "load_cargo_c",
)
_OPTIONAL = (
    "ambient_c",
    "humidity_pct",
    "door_open",
    "lat",
    "lon",
    "reefer_on",
    "setpoint_c",
    "battery_pct",
)


def derived_key(seed: int, name: str) -> Ed25519PrivateKey:
    """A deterministic Ed25519 key: signatures are deterministic too (RFC 8032)."""
    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(f"coldchain-offline-key:{seed}:{name}".encode()).digest()
    )


def _cell(value: object) -> object:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return value


def _reading_row(message: Emitted, t: str) -> list:
    payload = message.payload
    get = payload.get
    return [
        message.truck,
        message.device,
        message.kind,
        payload["seq"],
        t,
        payload["ts"],
        payload["temp_c"],
        *[_cell(get(name)) for name in _OPTIONAL],
        message.injected,
        message.faults,
    ]


def _trip_row(truck: str, trip: Trip) -> list:
    product = trip.product
    return [
        truck,
        trip.index,
        timestamp(trip.start),
        timestamp(trip.end),
        product.name,
        product.temp_min,
        product.temp_max,
        product.setpoint,
        rounded(trip.mass_kg, 0),
        trip.origin[0],
        trip.destination[0],
        len(trip.stops),
        sum(1 for stop in trip.stops if stop.door_to > stop.door_from),
        rounded(trip.weather_offset_c, 2),
        rounded(trip.load_cargo_c, 2),
    ]


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


PART_TRUCKS = 8  # trucks per unit of work: enough to amortise the hand-over, few enough to balance
PART_FILES = ("readings.csv", "truth.csv", "trips.csv", "faults.csv")


def simulate_part(
    config: FleetConfig, only: range, trips: int, sign: bool
) -> dict[str, tuple[str, int]]:
    """CSV text and row count per file for the trucks in ``only``.

    Each truck depends only on the seed and its own id, so parts can run in
    any process and concatenate, in truck order, to the same bytes.
    """
    fleet = Fleet(config, only=only)
    attacker = derived_key(config.seed, "attacker") if sign else None
    keys = {}
    buffers = {name: io.StringIO() for name in PART_FILES}
    writers = {name: csv.writer(buffers[name], lineterminator="\n") for name in PART_FILES}
    counts = dict.fromkeys(PART_FILES, 0)
    for unit in fleet.units:
        if sign:
            keys = {
                device.device: derived_key(config.seed, device.device) for device in unit.devices
            }
        truth_rows: list[list] = []
        reading_rows: list[list] = []
        trip_rows: list[list] = []
        sim = unit.sim
        last_trip = -1
        k = 0
        while True:
            t = fleet.time_of(k)
            if sim.trip.index >= trips - 1 and t >= sim.trip.end - 1e-6:
                break
            truth, ts, messages = fleet.advance_unit(unit, k)
            k += 1
            if truth.trip != last_trip:
                last_trip = truth.trip
                trip_rows.append(_trip_row(unit.truck, sim.trip))
            truth_rows.append(truth_row(truth, ts))
            for message in messages:
                row = _reading_row(message, ts)
                if sign:
                    message.jws = sign_emitted(message, keys, attacker)
                    row.append(message.jws.decode("ascii"))
                reading_rows.append(row)
        labels = sorted(fleet.labels(unit, fleet.time_of(k)), key=lambda f: (f.start, f.fault_id))
        writers["truth.csv"].writerows(truth_rows)
        writers["readings.csv"].writerows(reading_rows)
        writers["trips.csv"].writerows(trip_rows)
        writers["faults.csv"].writerows(fault_row(fault) for fault in labels)
        counts["truth.csv"] += len(truth_rows)
        counts["readings.csv"] += len(reading_rows)
        counts["trips.csv"] += len(trip_rows)
        counts["faults.csv"] += len(labels)
        unit.devices = []  # free the message history: thousands of trucks must fit
    return {name: (buffers[name].getvalue(), counts[name]) for name in PART_FILES}


def generate(
    config: FleetConfig, out_dir: Path, *, trips: int = 1, sign: bool = False, jobs: int = 1
) -> dict:
    """Simulate ``trips`` consecutive trips per truck into ``out_dir``; return the manifest.

    ``jobs`` > 1 simulates parts of the fleet in worker processes; the files
    are the same bytes whatever ``jobs`` is.
    """
    if trips < 1:
        raise ValueError("trips must be at least 1")
    devices = fleet_devices(config)
    Fleet(config, only=range(0))  # checks the fault targets before any work
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys(("devices.csv", *PART_FILES), 0)
    paths = {name: out_dir / name for name in counts}
    handles = {name: path.open("w", newline="", encoding="utf-8") for name, path in paths.items()}
    parts = [
        range(i, min(i + PART_TRUCKS, config.trucks)) for i in range(0, config.trucks, PART_TRUCKS)
    ]
    work = functools.partial(simulate_part, config, trips=trips, sign=sign)
    pool = multiprocessing.Pool(min(jobs, len(parts))) if jobs > 1 and len(parts) > 1 else None
    try:
        writers = {
            name: csv.writer(handle, lineterminator="\n") for name, handle in handles.items()
        }
        writers["readings.csv"].writerow(READING_COLUMNS + (("jws",) if sign else ()))
        writers["truth.csv"].writerow(TRUTH_COLUMNS)
        writers["faults.csv"].writerow(FAULT_COLUMNS)
        writers["trips.csv"].writerow(TRIP_COLUMNS)
        writers["devices.csv"].writerow(("device", "kind", "truck", "public_key"))
        for info in devices:
            key = derived_key(config.seed, info.device) if sign else None
            public = b64url_encode(raw_public_key(key)) if key is not None else ""
            writers["devices.csv"].writerow((info.device, info.kind, info.truck, public))
        counts["devices.csv"] = len(devices)
        results = pool.imap(work, parts) if pool is not None else map(work, parts)
        for result in results:  # in truck order, whichever process made them
            for name, (text, rows) in result.items():
                handles[name].write(text)
                counts[name] += rows
        if pool is not None:
            pool.close()
            pool.join()
    finally:
        if pool is not None:
            pool.terminate()
        for handle in handles.values():
            handle.close()

    settings = asdict(config)
    settings["start"] = timestamp(config.start)
    if config.probe_faults_applied:
        # Only a twin says so: the manifests of ordinary runs keep the bytes
        # they had before twins existed.
        del settings["probe_faults_applied"]
    manifest = {
        "format": FORMAT,
        "config": settings,
        "trips_per_truck": trips,
        "signed": sign,
        "files": {
            name: {"rows": counts[name], "sha256": _sha256(paths[name])} for name in sorted(counts)
        },
    }
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    (out_dir / "manifest.json").write_text(text)
    return json.loads(text)
