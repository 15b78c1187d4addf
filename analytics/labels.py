"""Ground-truth labels from the simulator's offline files (see docs/analytics.md).

* ``breach``: the true cargo temperature is outside the product's range, in an
  excursion that lasts at least ``min_breach_s`` (a short dip of a sensor-free
  truth is not a breach).
* ``breach_soon``: no breach at ``t``, and one starts within ``(t, t + horizon_s]``.
* ``sensor_fault``: a probe fault (spike, stuck, drift, dropout) acts on the
  device at ``t``, so its reading departs from the cargo temperature or is missing.

Labels may look ahead (they describe what really happened); features never do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SENSOR_FAULTS = ("probe_spike", "stuck_probe", "probe_drift", "dropout")
BREACH_COLUMNS = (
    "shipment",
    "t",
    "product",
    "temp_min",
    "temp_max",
    "setpoint_c",
    "cargo_c",
    "out_of_range",
    "breach",
    "breach_soon",
)
SENSOR_FAULT_COLUMNS = ("shipment", "device", "t", "sensor_fault")


@dataclass(frozen=True)
class LabelConfig:
    min_breach_s: float = 600.0  # an excursion shorter than this is not a breach
    horizon_s: float = 1800.0  # how far ahead "breach soon" looks


DEFAULT_LABELS = LabelConfig()


def shipment_id(truck: pd.Series, trip: pd.Series) -> pd.Series:
    """``truck-003/2``: the truck and its trip number, one shipment per trip."""
    return truck.astype("string") + "/" + trip.astype("string")


def breach_labels(truth: pd.DataFrame, config: LabelConfig = DEFAULT_LABELS) -> pd.DataFrame:
    """Per (shipment, t) breach labels from a truth frame.

    ``truth`` needs ``shipment, t, cargo_c, temp_min, temp_max`` (``t`` as
    datetimes) and may carry ``product, setpoint_c``; the result has
    ``BREACH_COLUMNS``, sorted by shipment and time.
    """
    frame = truth.sort_values(["shipment", "t"], kind="stable").reset_index(drop=True)
    for name in ("product", "setpoint_c"):
        if name not in frame.columns:
            frame[name] = pd.NA
    out_of_range = (frame["cargo_c"] < frame["temp_min"]) | (frame["cargo_c"] > frame["temp_max"])
    shipment = frame["shipment"]
    new_shipment = shipment.ne(shipment.shift())
    # An excursion is a maximal run of out-of-range instants within one shipment.
    run = (out_of_range.ne(out_of_range.shift()) | new_shipment).cumsum()
    t = frame["t"]
    step = t.groupby(shipment).diff().median()
    step = pd.Timedelta(0) if pd.isna(step) else step
    # It ends at the next instant (back in range), or one step after the last
    # instant of the shipment.
    following = t.groupby(shipment).shift(-1).fillna(t + step)
    run_start = t.groupby(run).transform("min")
    run_end = following.groupby(run).transform("max")
    breach = out_of_range & ((run_end - run_start).dt.total_seconds() >= config.min_breach_s)
    breach_start = t.where(breach & (run_start == t))
    # The next breach start at or after t; at a non-breach instant that is strictly after t.
    next_start = breach_start.groupby(shipment).bfill()
    ahead = (next_start - t).dt.total_seconds()
    breach_soon = ~breach & (ahead <= config.horizon_s)
    frame["out_of_range"] = out_of_range
    frame["breach"] = breach
    frame["breach_soon"] = breach_soon.fillna(False).astype(bool)
    return frame[list(BREACH_COLUMNS)]


def sensor_fault_labels(grid: pd.DataFrame, faults: pd.DataFrame) -> pd.DataFrame:
    """Per (shipment, device, t) sensor-fault labels.

    ``grid`` has ``shipment, device, t``: every instant at which the device
    should have reported (so dropouts, which leave no reading, are labelled
    too). ``faults`` has ``kind, device, start, end`` (datetimes); a fault acts
    on ``start <= t < end``, as in the simulator.
    """
    frame = grid.sort_values(["device", "t"], kind="stable").reset_index(drop=True)
    probe = faults[faults["kind"].isin(SENSOR_FAULTS) & faults["device"].isin(frame["device"])]
    # One sorted int64 key per (device, instant), so every fault interval maps
    # to a contiguous slice found by binary search: O((rows + faults) log rows).
    codes = pd.Categorical(frame["device"])
    origin = frame["t"].min()
    span = 10**13  # ms: more than 300 years of instants per device code

    def key(device_codes: np.ndarray, times: pd.Series) -> np.ndarray:
        offset = ((times - origin).dt.total_seconds() * 1000).round().to_numpy("int64")
        return device_codes.astype("int64") * span + offset

    keys = key(codes.codes, frame["t"])
    fault_codes = pd.Categorical(probe["device"], categories=codes.categories).codes
    lo = np.searchsorted(keys, key(fault_codes, probe["start"].clip(lower=origin)), "left")
    hi = np.searchsorted(keys, key(fault_codes, probe["end"].clip(lower=origin)), "left")
    depth = np.zeros(len(frame) + 1, dtype="int64")
    np.add.at(depth, lo, 1)
    np.add.at(depth, hi, -1)
    frame["sensor_fault"] = np.cumsum(depth[:-1]) > 0
    return frame.sort_values(["shipment", "device", "t"], kind="stable").reset_index(drop=True)[
        list(SENSOR_FAULT_COLUMNS)
    ]
