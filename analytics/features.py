"""The one feature function, shared by training and scoring.

``features(readings)`` turns a canonical readings frame (``analytics.readings``)
into one row per shipment and evaluated instant (every ``every_s`` seconds,
epoch-aligned). A feature at ``t`` uses only readings with ``ts <= t``: the
model must see at training time exactly what it will see live. The columns
and their units are listed in ``FEATURES`` and in docs/analytics.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.quorum import aligned_readings, quorum

WINDOWS_MIN = (5, 15, 30)
# Cargo has a large thermal mass: its trend shows over half an hour or more.
CARGO_SLOPE_WINDOWS_MIN = (30, 60)
CONTEXT = ("temp_min", "temp_max", "setpoint_c", "ambient_c", "door_open", "reefer_on")
FEATURES = (
    *(f"probe_{stat}_{w}m_c" for w in WINDOWS_MIN for stat in ("level_max", "level_min")),
    *(f"probe_{stat}_{w}m_c_per_h" for w in WINDOWS_MIN for stat in ("slope_max", "slope_min")),
    "probe_excess_c",
    "validated_c",
    "validated_slope_15m_c_per_h",
    "gap_to_max_c",
    "gap_to_min_c",
    "minus_setpoint_c",
    "ambient_minus_validated_c",
    "door_open",
    "reefer_on",
    "since_door_opened_min",
    "door_open_share_30m",
    "quorum",
    "n_devices",
    "n_flagged",
    "spread_c",
    "above_range_min",
    "below_range_min",
    "out_of_range_run_min",
    "stalest_age_min",
    "n_silent",
    "cargo_c",
    "cargo_gap_to_max_c",
    "cargo_gap_to_min_c",
    *(f"cargo_slope_{w}m_c_per_h" for w in CARGO_SLOPE_WINDOWS_MIN),
    "air_minus_cargo_c",
    "air_above_range_run_min",
    "coldest_logger_gap_to_max_c",
    "air_corrected_gap_to_max_c",
    "logger_spread_c",
    "settled_cargo_gap_to_max_c",
    "since_settled_min",
    "air_heat_since_settled_c_h",
    "cargo_estimate_gap_to_max_c",
    "cargo_estimate_gap_to_min_c",
    *(f"cargo_estimate_slope_{w}m_c_per_h" for w in CARGO_SLOPE_WINDOWS_MIN),
    "cargo_estimate_spread_c",
    "cargo_estimate_coldest_gap_to_max_c",
    "cargo_estimate_minutes_to_max",
    "n_stuck_probes",
    "cargo_plausible_gap_to_max_c",
    "n_implausible_loggers",
)
# The reefer controller's probe measures return air (device ids ending in
# AIR_SUFFIX); every other device is an independent logger in the cargo.
AIR_SUFFIX = "-reefer"
# A logger between the pallets reads partly the air around it: at least this
# share of the air's departure from the cargo (10 to 25 % by where it sits).
LOGGER_AIR_SHARE = 0.1
# Each logger's own share of the air is learnt from the air's fast swings
# (a door opening, a reefer stopping or starting), over which the cargo
# barely moves: a swing of at least TRANSIENT_AIR_C within TRANSIENT_STEPS
# grid steps that the logger follows by at least TRANSIENT_LOGGER_C (an air
# probe's spike moves no logger, and a stuck logger follows nothing, so
# neither teaches anything). Until
# the trip has seen such swings the share stays near the prior, in the middle
# of the range a logger's place gives, and within the bounds.
AIR_SHARE_PRIOR = 0.175
AIR_SHARE_PRIOR_WEIGHT_C2 = 20.0
AIR_SHARE_BOUNDS = (0.05, 0.4)
TRANSIENT_STEPS = 3
TRANSIENT_AIR_C = 3.0
TRANSIENT_LOGGER_C = 0.15
# A probe is stuck when its reading has not changed at all over this many
# grid steps while the air moved by STUCK_AIR_C or more (for a logger), or a
# logger by STUCK_LOGGERS_C or more (for the air probe: loggers follow the
# air by a share of its swing).
STUCK_STEPS = 10
STUCK_AIR_C = 1.0
STUCK_LOGGERS_C = 0.3
# A logger's cargo estimate is implausible when over PLAUSIBLE_STEPS it moved
# by IMPLAUSIBLE_CHANGE_C against the air, or that far while the air stood
# within STILL_AIR_C of it on average.
PLAUSIBLE_STEPS = 90
IMPLAUSIBLE_CHANGE_C = 0.5
STILL_AIR_C = 1.0
# Beyond this many minutes (or when the cargo is not warming), the limit is "far".
MINUTES_TO_MAX_CAP = 600.0
# Feature rows, and so decisions, every 5 minutes on the clock (:00, :05, ...).
EVERY_S = 300


def _rolling_mean(values: pd.Series, group: pd.Series, points: int) -> pd.Series:
    """Mean of the non-missing values among the last ``points`` rows of each group.

    Cumulative sums instead of ``groupby().rolling()``: one vectorised pass
    whatever the number of groups.
    """
    filled = values.fillna(0.0).astype("float64")
    seen = values.notna().astype("float64")
    total = filled.groupby(group).cumsum()
    count = seen.groupby(group).cumsum()
    total -= total.groupby(group).shift(points).fillna(0.0)
    count -= count.groupby(group).shift(points).fillna(0.0)
    return total / count.where(count > 0)


def _as_of(steps: pd.DataFrame, known: pd.DataFrame, name: str) -> pd.Series:
    """``known[name]`` (rows of shipment, ts) as of each step: its latest at or before ``t``."""
    merged = pd.merge_asof(
        steps[["shipment", "t"]].reset_index().sort_values("t", kind="stable"),
        known.sort_values("ts", kind="stable"),
        left_on="t",
        right_on="ts",
        by="shipment",
        direction="backward",
    )
    return merged.set_index("index")[name].reindex(steps.index)


def _latest(steps: pd.DataFrame, readings: pd.DataFrame, name: str) -> pd.Series:
    """The shipment's latest non-missing ``name`` at or before each step."""
    return _as_of(steps, readings.loc[readings[name].notna(), ["shipment", "ts", name]], name)


def _door_opened_at(steps: pd.DataFrame, readings: pd.DataFrame) -> pd.Series:
    """When the door last went from closed (or unknown) to open, at or before each step."""
    door = readings.loc[readings["door_open"].notna(), ["shipment", "ts", "door_open"]]
    door = door.sort_values(["shipment", "ts"], kind="stable")
    was_open = door["door_open"].groupby(door["shipment"]).shift().fillna(False).astype(bool)
    openings = door.loc[door["door_open"].astype(bool) & ~was_open, ["shipment", "ts"]]
    return _as_of(steps, openings.assign(opened_at=openings["ts"]), "opened_at")


def _per_probe(aligned: pd.DataFrame, step_s: int) -> pd.DataFrame:
    """Rolling level and slope of each probe, reduced to the hottest and coldest probe.

    Reducing keeps the columns independent of how many devices a shipment has.
    """
    probe = aligned["shipment"] + "\x00" + aligned["device"]
    temp = aligned["temp_c"]
    columns = {}
    for window in WINDOWS_MIN:
        points = window * 60 // step_s
        columns[f"level_{window}"] = _rolling_mean(temp, probe, points)
        earlier = temp.groupby(probe).shift(points)
        columns[f"slope_{window}"] = (temp - earlier) * 60.0 / window
    per_probe = pd.DataFrame(columns).assign(shipment=aligned["shipment"], t=aligned["t"])
    grouped = per_probe.groupby(["shipment", "t"], sort=True)
    out = pd.DataFrame(index=grouped.size().index)
    for window in WINDOWS_MIN:
        out[f"probe_level_max_{window}m_c"] = grouped[f"level_{window}"].max()
        out[f"probe_level_min_{window}m_c"] = grouped[f"level_{window}"].min()
        out[f"probe_slope_max_{window}m_c_per_h"] = grouped[f"slope_{window}"].max()
        out[f"probe_slope_min_{window}m_c_per_h"] = grouped[f"slope_{window}"].min()
    stale = aligned.groupby(["shipment", "t"], sort=True)
    out["stalest_age_min"] = stale["age_s"].max() / 60.0
    out["n_silent"] = stale["temp_c"].size() - stale["temp_c"].count()
    out["probe_hot_c"] = stale["temp_c"].max()
    out["probe_cold_c"] = stale["temp_c"].min()
    return out


def _change_per_h(values: pd.Series, group: pd.Series, window_min: int, step_s: int) -> pd.Series:
    """Each value's change over the last ``window_min`` minutes of its group, in °C/h."""
    earlier = values.groupby(group).shift(window_min * 60 // step_s)
    return (values - earlier) * 60.0 / window_min


def _cargo(
    aligned: pd.DataFrame, is_air: pd.Series, air: pd.Series, step_s: int, tolerance_c: float
) -> pd.DataFrame:
    """The loggers' own quorum (cargo temperature, its slopes) and the air probe's reading.

    The hottest probe is usually the air probe, which warms within minutes of
    a failure while the cargo takes hours: the model needs the two apart.
    ``is_air`` marks the air probe's rows of ``aligned``; ``air`` is its
    reading by (shipment, t).
    """
    cargo = quorum(aligned[~is_air], k=2, tolerance_c=tolerance_c).steps
    cargo = cargo[["shipment", "t", "validated_c"]].rename(columns={"validated_c": "cargo_c"})
    for window in CARGO_SLOPE_WINDOWS_MIN:
        cargo[f"cargo_slope_{window}m_c_per_h"] = _change_per_h(
            cargo["cargo_c"], cargo["shipment"], window, step_s
        )
    loggers = aligned[~is_air].groupby(["shipment", "t"])["temp_c"]
    return (
        cargo.set_index(["shipment", "t"])
        .join(air, how="outer")
        .join(loggers.min().rename("logger_cold_c"), how="outer")
        .join(loggers.max().rename("logger_hot_c"), how="outer")
    )


def _cargo_estimate(aligned: pd.DataFrame, is_air: pd.Series, air: pd.Series) -> pd.DataFrame:
    """The cargo temperature from each logger with its own share of the air taken out.

    A logger reads ``cargo + share * (air - cargo)``; over a fast swing of the
    air the cargo stays put, so the logger's change over the air's change is
    its share. Each logger's share is the least-squares fit of those changes
    seen so far in the trip, pulled towards the prior while there are few;
    its cargo estimate is ``(logger - share * air) / (1 - share)``. A stuck
    probe (``_stuck``) gives no estimate: a stuck logger would hold the cargo
    where it was, a stuck air probe would take out air that is not there.
    Columns ``cargo_estimate_c`` (mean of the loggers' estimates),
    ``cargo_estimate_spread_c`` (how far they disagree),
    ``cargo_estimate_coldest_c``, ``n_stuck_probes``, by (shipment, t).
    ``is_air`` and ``air`` as for ``_cargo``.
    """
    loggers = aligned.loc[~is_air, ["shipment", "device", "t", "temp_c"]].join(
        air, on=["shipment", "t"]
    )
    loggers = loggers.sort_values(["shipment", "device", "t"], kind="stable")
    # Integer keys, computed once: grouping by them again and again costs a
    # fraction of grouping by the id columns, which is most of a small call.
    probe = pd.Series(
        loggers.groupby(["shipment", "device"], sort=False).ngroup().to_numpy(),
        index=loggers.index,
    )
    instant = loggers.groupby(["shipment", "t"], sort=False).ngroup()
    air_change = loggers["air_c"] - loggers["air_c"].groupby(probe).shift(TRANSIENT_STEPS)
    logger_change = loggers["temp_c"] - loggers["temp_c"].groupby(probe).shift(TRANSIENT_STEPS)
    followed = logger_change * np.sign(air_change) >= TRANSIENT_LOGGER_C
    swing = (air_change.abs() >= TRANSIENT_AIR_C) & followed
    covariance = (logger_change * air_change).where(swing, 0.0).groupby(probe).cumsum()
    variance = (air_change**2).where(swing, 0.0).groupby(probe).cumsum()
    share = (
        (covariance + AIR_SHARE_PRIOR_WEIGHT_C2 * AIR_SHARE_PRIOR)
        / (variance + AIR_SHARE_PRIOR_WEIGHT_C2)
    ).clip(*AIR_SHARE_BOUNDS)

    logger_stuck = _stuck(
        loggers["temp_c"],
        probe,
        others_moved=_moved(loggers["air_c"], probe),
        moved_c=STUCK_AIR_C,
    )
    air_stuck = _stuck(
        loggers["air_c"],
        probe,
        others_moved=_moved(loggers["temp_c"], probe).groupby(instant).transform("max"),
        moved_c=STUCK_LOGGERS_C,
    )
    estimate = (loggers["temp_c"] - share * loggers["air_c"]) / (1.0 - share)
    estimate = estimate.where(~logger_stuck & ~air_stuck)
    implausible = _implausible(estimate, loggers["air_c"], probe)
    per_instant = loggers[["shipment", "t"]].assign(
        estimate=estimate,
        plausible=estimate.where(~implausible),
        implausible=implausible.astype("float64"),
        stuck=logger_stuck.astype("float64"),
        air_stuck=air_stuck.astype("float64"),
    )
    grouped = per_instant.groupby(["shipment", "t"]).agg(
        cargo_estimate_c=("estimate", "mean"),
        coldest=("estimate", "min"),
        warmest=("estimate", "max"),
        cargo_plausible_c=("plausible", "mean"),
        n_implausible_loggers=("implausible", "sum"),
        stuck=("stuck", "sum"),
        air_stuck=("air_stuck", "max"),
    )
    return pd.DataFrame(
        {
            "cargo_estimate_c": grouped["cargo_estimate_c"],
            "cargo_estimate_spread_c": grouped["warmest"] - grouped["coldest"],
            "cargo_estimate_coldest_c": grouped["coldest"],
            "cargo_plausible_c": grouped["cargo_plausible_c"],
            "n_implausible_loggers": grouped["n_implausible_loggers"],
            "n_stuck_probes": grouped["stuck"] + grouped["air_stuck"],
        }
    )


def _implausible(estimate: pd.Series, air: pd.Series, probe: pd.Series) -> pd.Series:
    """Cargo estimates that moved as no cargo can over the last ``PLAUSIBLE_STEPS``.

    A load changes temperature only by the heat the air brings it: it cannot
    cool while the air stands warmer (or warm while colder), nor move far
    while the air stands at its temperature. A logger whose estimate does
    either is drifting, not measuring.
    """
    change = estimate - estimate.groupby(probe).shift(PLAUSIBLE_STEPS)
    pull = _rolling_mean(air - estimate, probe, PLAUSIBLE_STEPS)
    against = change * np.sign(pull) <= -IMPLAUSIBLE_CHANGE_C
    unpulled = (pull.abs() < STILL_AIR_C) & (change.abs() >= IMPLAUSIBLE_CHANGE_C)
    return against | unpulled


def _moved(values: pd.Series, groups: pd.Series) -> pd.Series:
    """How far each group's values ranged over the last ``STUCK_STEPS`` grid steps."""
    window = values.groupby(groups).rolling(STUCK_STEPS + 1, min_periods=1)
    moved = window.max() - window.min()
    return moved.reset_index(level=0, drop=True).reindex(values.index)


def _stuck(
    values: pd.Series, groups: pd.Series, *, others_moved: pd.Series, moved_c: float
) -> pd.Series:
    """Readings unchanged for ``STUCK_STEPS`` grid steps while the other probes moved
    (``others_moved``, from ``_moved``) by ``moved_c`` or more.

    A live probe follows the swings of the others (a logger its share of the
    air's, the air the loggers' cause) and carries noise in its last digit;
    one that does neither is not measuring.
    """
    changed = values.ne(values.groupby(groups).shift())
    value_run = changed.groupby(groups).cumsum()
    unchanged_for = values.groupby([groups, value_run]).cumcount()
    return (unchanged_for >= STUCK_STEPS) & (others_moved >= moved_c)


def _settled(steps: pd.DataFrame, step_s: int, tolerance_c: float) -> pd.DataFrame:
    """The cargo as last seen while the air agreed with it, and the air's heat since.

    A logger between the pallets reads partly the air around it: while the
    air is far from the cargo (door open, reefer off) the loggers read the
    cargo warmer or colder than it is. When the air agrees with the loggers
    they read the cargo itself; since then a large thermal mass has only
    moved in proportion to how far, and for how long, the air stood from it.
    """
    shipment = steps["shipment"]
    settled = (steps["air_c"] - steps["cargo_c"]).abs() <= tolerance_c
    reference = steps["cargo_c"].where(settled).groupby(shipment).ffill()
    settled_at = steps["t"].where(settled).groupby(shipment).ffill()
    # Each settled instant starts a new spell; the air's excess accumulates within it.
    spell = (settled | shipment.ne(shipment.shift())).cumsum()
    excess = (steps["air_c"] - reference).fillna(0.0) * (step_s / 3600.0)
    return pd.DataFrame(
        {
            "settled_cargo_gap_to_max_c": steps["temp_max"] - reference,
            "since_settled_min": (steps["t"] - settled_at).dt.total_seconds() / 60.0,
            "air_heat_since_settled_c_h": excess.groupby(spell).cumsum().where(reference.notna()),
        },
        index=steps.index,
    )


def features(
    readings: pd.DataFrame,
    *,
    every_s: int = EVERY_S,
    step_s: int = 60,
    max_age_s: float = 180.0,
    k: int = 2,
    tolerance_c: float = 1.0,
) -> pd.DataFrame:
    """Feature rows indexed by (shipment, t), columns ``FEATURES``, for a canonical frame.

    The quorum and the running totals are computed on a ``step_s`` grid; rows
    are kept every ``every_s`` seconds (a multiple of ``step_s``).
    """
    if every_s % step_s:
        raise ValueError("every_s must be a multiple of step_s")
    aligned = aligned_readings(readings, step_s=step_s, max_age_s=max_age_s)
    steps = quorum(aligned, k=k, tolerance_c=tolerance_c).steps
    steps = steps.join(_per_probe(aligned, step_s), on=["shipment", "t"])
    for name in CONTEXT:
        steps[name] = _latest(steps, readings, name).astype("float64")

    validated = steps["validated_c"]
    shipment = steps["shipment"]
    steps["validated_slope_15m_c_per_h"] = (
        validated - validated.groupby(shipment).shift(15 * 60 // step_s)
    ) * 4.0
    steps["gap_to_max_c"] = steps["temp_max"] - validated
    steps["gap_to_min_c"] = validated - steps["temp_min"]
    steps["minus_setpoint_c"] = validated - steps["setpoint_c"]
    steps["ambient_minus_validated_c"] = steps["ambient_c"] - validated
    # How far the most extreme probe is beyond the range: what a threshold rule sees.
    steps["probe_excess_c"] = np.fmax(
        steps["probe_hot_c"] - steps["temp_max"], steps["temp_min"] - steps["probe_cold_c"]
    ).clip(lower=0.0)
    opened_at = _door_opened_at(steps, readings)
    steps["since_door_opened_min"] = (steps["t"] - opened_at).dt.total_seconds() / 60.0
    steps["door_open_share_30m"] = _rolling_mean(steps["door_open"], shipment, 30 * 60 // step_s)

    step_min = step_s / 60.0
    above = (validated > steps["temp_max"]).astype("float64")
    below = (validated < steps["temp_min"]).astype("float64")
    steps["above_range_min"] = above.groupby(shipment).cumsum() * step_min
    steps["below_range_min"] = below.groupby(shipment).cumsum() * step_min
    outside = (above + below) > 0
    run = (outside.ne(outside.shift()) | shipment.ne(shipment.shift())).cumsum()
    steps["out_of_range_run_min"] = outside.astype("float64").groupby(run).cumsum() * step_min
    steps["quorum"] = steps["quorum"].astype("float64")

    is_air = aligned["device"].str.endswith(AIR_SUFFIX)
    air = aligned.loc[is_air].groupby(["shipment", "t"])["temp_c"].max().rename("air_c")
    steps = steps.join(_cargo(aligned, is_air, air, step_s, tolerance_c), on=["shipment", "t"])
    steps["cargo_gap_to_max_c"] = steps["temp_max"] - steps["cargo_c"]
    steps["cargo_gap_to_min_c"] = steps["cargo_c"] - steps["temp_min"]
    steps["air_minus_cargo_c"] = steps["air_c"] - steps["cargo_c"]
    # The air leaves the range long before a loaded box's cargo does: how long
    # it has been above tells a passing failure from one that lasts.
    air_above = steps["air_c"] > steps["temp_max"]
    air_run = (air_above.ne(air_above.shift()) | shipment.ne(shipment.shift())).cumsum()
    steps["air_above_range_run_min"] = (
        air_above.astype("float64").groupby(air_run).cumsum() * step_min
    )

    # The coldest logger is the least warmed by the air around it: while the
    # air is warmer than the cargo, the reading closest to the cargo. Only the
    # upper side: the failures that warm a load are the ones a truck has (the
    # simulated data sets hold no breach below a range, so a lower-side twin
    # would only teach the models noise).
    steps["coldest_logger_gap_to_max_c"] = steps["temp_max"] - steps["logger_cold_c"]
    # A logger reads the cargo plus at least LOGGER_AIR_SHARE of the air's
    # departure from it, so while the air is warmer the cargo is at most
    # (logger - share * air) / (1 - share).
    air_warmer = steps["air_c"] > steps["logger_cold_c"]
    corrected = (steps["logger_cold_c"] - LOGGER_AIR_SHARE * steps["air_c"]) / (
        1.0 - LOGGER_AIR_SHARE
    )
    steps["air_corrected_gap_to_max_c"] = steps["temp_max"] - corrected.where(
        air_warmer, steps["logger_cold_c"]
    )
    steps["logger_spread_c"] = steps["logger_hot_c"] - steps["logger_cold_c"]
    steps = steps.join(_settled(steps, step_s, tolerance_c))
    steps = steps.join(_cargo_estimate(aligned, is_air, air), on=["shipment", "t"])
    estimate = steps["cargo_estimate_c"]
    steps["cargo_estimate_gap_to_max_c"] = steps["temp_max"] - estimate
    steps["cargo_estimate_gap_to_min_c"] = estimate - steps["temp_min"]
    for window in CARGO_SLOPE_WINDOWS_MIN:
        steps[f"cargo_estimate_slope_{window}m_c_per_h"] = _change_per_h(
            estimate, shipment, window, step_s
        )
    steps["cargo_plausible_gap_to_max_c"] = steps["temp_max"] - steps["cargo_plausible_c"]
    steps["cargo_estimate_coldest_gap_to_max_c"] = (
        steps["temp_max"] - steps["cargo_estimate_coldest_c"]
    )
    # When the cargo, warming as it did over the last half hour, reaches the
    # limit: the ratio a tree can only approximate step by step.
    rising = steps["cargo_estimate_slope_30m_c_per_h"].where(
        steps["cargo_estimate_slope_30m_c_per_h"] > 0
    )
    steps["cargo_estimate_minutes_to_max"] = (
        (steps["cargo_estimate_gap_to_max_c"].clip(lower=0.0) / rising * 60.0)
        .clip(upper=MINUTES_TO_MAX_CAP)
        .fillna(MINUTES_TO_MAX_CAP)
        .where(estimate.notna())
    )

    seconds = (steps["t"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    kept = steps[(seconds % every_s) == 0]
    return kept.set_index(["shipment", "t"])[list(FEATURES)].astype("float64")
