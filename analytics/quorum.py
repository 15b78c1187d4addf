"""Oracle quorum: one validated cargo temperature from a shipment's independent devices.

Devices report on their own clocks, so each device's latest reading (no older
than ``max_age_s``) is first aligned on a regular grid of epoch-aligned
instants. At each instant the largest group of devices whose readings lie
within ``tolerance_c`` of each other is the quorum if it has at least ``k``
members and a strict majority of the devices present (so two disjoint groups
can never both claim the cargo, and a tie between two different groups is no
quorum). The validated temperature is the group's mean; a present device
outside the group is flagged. Without a quorum the validated value is missing.
Because the group has at least ``k`` >= 2 members, one probe alone never sets
the validated value.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

STEP_COLUMNS = (
    "shipment",
    "t",
    "validated_c",
    "quorum",
    "n_devices",
    "n_agreeing",
    "n_flagged",
    "spread_c",
)
DEVICE_COLUMNS = ("shipment", "t", "device", "temp_c", "agrees", "flagged")


class Quorum(NamedTuple):
    steps: pd.DataFrame  # one row per (shipment, t): STEP_COLUMNS
    devices: pd.DataFrame  # one row per (shipment, t, device): DEVICE_COLUMNS


def aligned_readings(
    readings: pd.DataFrame, *, step_s: int = 60, max_age_s: float = 180.0
) -> pd.DataFrame:
    """Each device's latest temperature at every grid instant of its shipment.

    Rows ``shipment, t, device, temp_c, age_s`` for every epoch-aligned
    multiple of ``step_s`` from the device's first reading to the shipment's
    last one; ``age_s`` is the time since the device's latest reading at or
    before ``t`` and ``temp_c`` is missing when that reading is older than
    ``max_age_s`` (a data gap). Only readings with ``ts <= t`` are used, and
    the grid is anchored to the epoch, so cutting the input at any time gives
    the same rows up to that time.
    """
    step = pd.Timedelta(seconds=step_s)
    if readings.empty:
        return pd.DataFrame(
            {"shipment": [], "t": pd.to_datetime([], utc=True), "device": []}
            | {"temp_c": [], "age_s": []}
        )
    spans = readings.groupby(["shipment", "device"], sort=True)["ts"].min().rename("first")
    spans = spans.reset_index()
    last = readings.groupby("shipment")["ts"].max().dt.floor(step)
    spans["start"] = spans["first"].dt.ceil(step)
    spans["end"] = spans["shipment"].map(last)
    counts = ((spans["end"] - spans["start"]) // step + 1).clip(lower=0).to_numpy("int64")
    row = np.repeat(np.arange(len(spans)), counts)
    # Position within each device's run of instants: 0, 1, 2, ... restarting per device.
    within = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
    picked = spans.iloc[row].reset_index(drop=True)
    grid = picked[["shipment", "device"]].assign(
        t=(picked["start"] + pd.to_timedelta(within * step_s, unit="s")).astype(
            readings["ts"].dtype
        )
    )
    source = readings[["shipment", "device", "ts", "temp_c"]].sort_values("ts", kind="stable")
    merged = pd.merge_asof(
        grid.sort_values("t", kind="stable"),
        source,
        left_on="t",
        right_on="ts",
        by=["shipment", "device"],
        direction="backward",
    )
    merged["age_s"] = (merged["t"] - merged["ts"]).dt.total_seconds()
    merged["temp_c"] = merged["temp_c"].where(merged["age_s"] <= max_age_s)
    merged = merged.sort_values(["shipment", "t", "device"], kind="stable")
    return merged[["shipment", "t", "device", "temp_c", "age_s"]].reset_index(drop=True)


def _members(values: np.ndarray, low: np.ndarray, tolerance_c: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (values >= low[:, None]) & (values - low[:, None] <= tolerance_c)


def quorum(aligned: pd.DataFrame, *, k: int = 2, tolerance_c: float = 1.0) -> Quorum:
    """The validated temperature and the device flags for aligned readings.

    ``aligned`` has ``shipment, t, device, temp_c`` (as from ``aligned_readings``).
    """
    if k < 2:
        raise ValueError("a quorum needs k >= 2 devices: one probe alone must not decide")
    frame = aligned.sort_values(["shipment", "t", "device"], kind="stable").reset_index(drop=True)
    step_id = (
        frame["shipment"].ne(frame["shipment"].shift()) | frame["t"].ne(frame["t"].shift())
    ).cumsum().to_numpy() - 1
    slot = frame.groupby(step_id).cumcount().to_numpy()
    # A mask rather than positions: a shipment may have no device of a kind (empty frame).
    first_of_step = np.r_[True, np.diff(step_id) != 0][: len(frame)]
    steps = frame.loc[first_of_step, ["shipment", "t"]]
    width = int(slot.max()) + 1 if len(frame) else 1
    values = np.full((len(steps), width), np.nan)
    values[step_id, slot] = frame["temp_c"].to_numpy("float64", na_value=np.nan)
    present = ~np.isnan(values)

    # For each device i: how many devices read within [v_i, v_i + tolerance].
    with np.errstate(invalid="ignore"):
        diff = values[:, None, :] - values[:, :, None]  # [step, i, j] = v_j - v_i
        counts = ((diff >= 0) & (diff <= tolerance_c)).sum(axis=2)
    best = counts.max(axis=1)
    first = counts.argmax(axis=1)
    last = width - 1 - counts[:, ::-1].argmax(axis=1)
    rows = np.arange(len(steps))
    members = _members(values, values[rows, first], tolerance_c)
    unambiguous = (members == _members(values, values[rows, last], tolerance_c)).all(axis=1)
    n_present = present.sum(axis=1)
    has_quorum = (best >= k) & (2 * best > n_present) & unambiguous
    members &= has_quorum[:, None]
    with np.errstate(invalid="ignore"):
        validated = np.where(members, values, 0.0).sum(axis=1) / members.sum(axis=1)
        spread = np.nanmax(np.where(present, values, -np.inf), axis=1) - np.nanmin(
            np.where(present, values, np.inf), axis=1
        )
    flagged = present & ~members & has_quorum[:, None]

    steps = steps.reset_index(drop=True)
    steps["validated_c"] = np.where(has_quorum, validated, np.nan)
    steps["quorum"] = has_quorum
    steps["n_devices"] = n_present
    steps["n_agreeing"] = members.sum(axis=1)
    steps["n_flagged"] = flagged.sum(axis=1)
    steps["spread_c"] = np.where(n_present > 0, spread, np.nan)
    frame["agrees"] = members[step_id, slot]
    frame["flagged"] = flagged[step_id, slot]
    return Quorum(steps[list(STEP_COLUMNS)], frame[list(DEVICE_COLUMNS)])
