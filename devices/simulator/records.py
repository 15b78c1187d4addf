"""CSV records shared by the offline files and the online ground-truth log."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from devices.simulator.faults import Fault
from devices.simulator.probes import timestamp
from devices.simulator.scenario import Truth

TRUTH_COLUMNS = (
    "truck",
    "trip",
    "t",
    "product",
    "temp_min",
    "temp_max",
    "setpoint_c",
    "cargo_c",
    "air_c",
    "ambient_c",
    "humidity_pct",
    "door_open",
    "reefer_on",
    "reefer_mode",
    "cooling_w",
    "lat",
    "lon",
    "in_range",
    "faults",
)
FAULT_COLUMNS = ("fault_id", "kind", "truck", "device", "start", "end", "magnitude", "source")


def rounded(value: float, digits: int = 3) -> float:
    return round(value, digits) + 0.0


def truth_row(truth: Truth, t: str) -> list:
    product = truth.product
    cargo = truth.cargo_c
    return [
        truth.truck,
        truth.trip,
        t,
        product.name,
        product.temp_min,
        product.temp_max,
        product.setpoint,
        rounded(cargo),
        rounded(truth.air_c),
        rounded(truth.ambient_c),
        rounded(truth.humidity_pct, 1),
        "true" if truth.door_open else "false",
        "true" if truth.reefer_on else "false",
        truth.reefer_mode,
        rounded(truth.cooling_w, 0),
        rounded(truth.lat, 5),
        rounded(truth.lon, 5),
        "true" if product.temp_min <= cargo <= product.temp_max else "false",
        ";".join(truth.faults),
    ]


def fault_row(fault: Fault) -> list:
    return [
        fault.fault_id,
        fault.kind,
        fault.truck,
        fault.device or "",
        timestamp(fault.start),
        timestamp(fault.end),
        "" if fault.magnitude is None else fault.magnitude,
        fault.source,
    ]


class CsvLog:
    """An append-only CSV file that writes its header once and survives restarts."""

    def __init__(self, path: Path, columns: tuple[str, ...]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists() or path.stat().st_size == 0
        self.handle = path.open("a", newline="", encoding="utf-8")
        self.writer = csv.writer(self.handle, lineterminator="\n")
        if fresh:
            self.writer.writerow(columns)

    def write(self, rows: Iterable[list]) -> None:
        self.writer.writerows(rows)

    def flush(self) -> None:
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()
