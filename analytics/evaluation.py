"""The event-level report: the models against two baselines on held-out trips.

Every detector gives one flag per evaluated instant (``analytics.decision.FLAGS``);
``event_report`` grades those flags against the ground truth of a data set.
Definitions (also in docs/analytics.md, "Evaluation report"):

* **breach event**: a maximal run of instants of a shipment labelled ``breach``;
  it starts at its first instant and ends one label step after its last.
* **breach alarm**: an instant flagged ``breach`` or ``breach_soon``; an
  **alarm event** is a maximal run of consecutive evaluated instants of a
  shipment with a breach alarm.
* An alarm instant is **justified** if it lies in ``[start - horizon, end + linger]``
  of a breach event of its shipment; an alarm event with no justified
  instant is a **false alarm**.
* A breach event is **detected** if an alarm instant lies in ``[start - horizon, end]``;
  its **lead time** is its start minus the first such instant (negative: late).
* A breach event is **at loading** if it starts at its shipment's first
  labelled instant (the load was already out of range: no warning is
  possible), else **mid-trip**; recall and lead time are also reported over
  the mid-trip events alone.
* **sensor-fault event**: a maximal run of instants at which at least one
  device of the shipment has a probe fault (the training label); it **came
  with a breach alarm** if an unjustified alarm instant lies in
  ``[start, end + linger]`` (``sensor_fault_events_with_breach_alarm_share``).
  That is co-occurrence: probe faults often overlap an equipment failure
  whose warming rings the alarm all the same.
* A sensor-fault event **caused a breach alarm** if such an unjustified
  alarm instant has no breach alarm of the same detector within
  ``[t - linger, t + linger]`` of the same shipment on the data set's
  **twin** (``analytics.dataset``: the same fleet with its probe faults
  labelled but not applied): the alarm rings with the probe fault and not
  without it (``sensor_fault_events_causing_breach_alarm_share``; None
  without the twin's flags). The target "no more than 2 % of sensor-fault
  events raise a breach alarm" is judged on this one: the probe fault must
  have raised the alarm. The co-occurrence figure is kept beside it, as the
  upper bound it is and for comparison with earlier reports.
* A **sensor-fault flag event** (maximal run of instants flagged
  ``sensor_fault``) is **correct** if one of its instants lies in
  ``[start, end + linger]`` of a sensor-fault event.

``linger`` (default 30 min, the longest feature window) allows for features
that still see a fault or an excursion for a while after it ended.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xgboost

from analytics.decision import BREACH, BREACH_ALARM_FLAGS, SENSOR_FAULT, decision_flags
from analytics.features import FEATURES
from analytics.quorum import aligned_readings

EXTRAPOLATION_WINDOW_S = 900  # the baseline's "last 15 minutes"
DETECTORS = ("model", "threshold", "extrapolation")


def _run_numbers(frame: pd.DataFrame, active: pd.Series) -> pd.Series:
    """For the ``active`` rows of ``frame`` (sorted by shipment, t): the number of their run,
    a run being consecutive active rows of one shipment."""
    shipment = frame["shipment"]
    starts = active & ~(active.shift(fill_value=False) & shipment.eq(shipment.shift()))
    return starts.cumsum()[active]


def _runs(frame: pd.DataFrame, active: pd.Series, step: pd.Timedelta) -> pd.DataFrame:
    """Maximal runs of ``active`` rows of ``frame`` (sorted by shipment, t): shipment, start, end.

    A run ends ``step`` after its last instant.
    """
    run = _run_numbers(frame, active)
    grouped = frame.loc[active, ["shipment", "t"]].groupby(run)
    runs = grouped.agg(shipment=("shipment", "first"), start=("t", "min"), end=("t", "max"))
    runs["end"] = runs["end"] + step
    return runs.reset_index(drop=True)


def _covered(
    times: pd.DataFrame, windows: pd.DataFrame, *, before: pd.Timedelta, after: pd.Timedelta
) -> np.ndarray:
    """For each (shipment, t) row of ``times``: does it lie in ``[start - before, end + after]``
    of a window of its shipment?

    Windows of one shipment are disjoint and ordered, so the latest one opening
    at or before ``t`` is the only candidate.
    """
    if times.empty or windows.empty:
        return np.zeros(len(times), dtype=bool)
    opening = windows.assign(open=windows["start"] - before, close=windows["end"] + after)
    merged = pd.merge_asof(
        times[["shipment", "t"]].reset_index().sort_values("t", kind="stable"),
        opening[["shipment", "open", "close"]].sort_values("open", kind="stable"),
        left_on="t",
        right_on="open",
        by="shipment",
        direction="backward",
    ).set_index("index")
    return (merged["t"] <= merged["close"]).reindex(times.index).fillna(False).to_numpy(bool)


def _first_inside(
    windows: pd.DataFrame, times: pd.DataFrame, *, before: pd.Timedelta, after: pd.Timedelta
) -> pd.Series:
    """Per window: the first instant of ``times`` in ``[start - before, end + after]``, or NaT."""
    if windows.empty:
        return pd.Series([], dtype="datetime64[ns, UTC]")
    opening = windows.assign(open=windows["start"] - before).reset_index()
    merged = pd.merge_asof(
        opening.sort_values("open", kind="stable"),
        times[["shipment", "t"]].sort_values("t", kind="stable"),
        left_on="open",
        right_on="t",
        by="shipment",
        direction="forward",
    ).set_index("index")
    first = merged["t"].where(merged["t"] <= merged["end"] + after)
    return first.reindex(windows.index)


@dataclass(frozen=True)
class EventTruth:
    """What happened on a data set's shipments, as ``event_report`` grades flags against it."""

    labels: pd.DataFrame  # shipment, t, breach; sorted
    breaches: pd.DataFrame  # breach events: shipment, start, end
    faults: pd.DataFrame  # sensor-fault events: shipment, start, end
    shipment_start: pd.Series  # each shipment's first labelled instant
    truck_hours: float


# One dtype per key in all frames: merge_asof refuses to join two kinds of
# strings, or times of two resolutions.
KEYS = {"shipment": "string", "t": "datetime64[ns, UTC]"}


def event_truth(labels: pd.DataFrame, sensor_faults: pd.DataFrame) -> EventTruth:
    """The breach and sensor-fault events of a data set, computed once for many gradings.

    ``labels`` has ``shipment, t, breach`` per label step; ``sensor_faults`` has
    ``shipment, device, t, sensor_fault``. Times are UTC datetimes.
    """
    labels = labels[["shipment", "t", "breach"]].astype(KEYS)
    sensor_faults = sensor_faults[["shipment", "t", "sensor_fault"]].astype(KEYS)
    labels = labels.sort_values(["shipment", "t"], kind="stable").reset_index(drop=True)
    step = labels.groupby("shipment")["t"].diff().median()
    step = pd.Timedelta(minutes=1) if pd.isna(step) else step
    fault_any = sensor_faults.groupby(["shipment", "t"], sort=True)["sensor_fault"].any()
    fault_any = fault_any.reset_index()
    spans = labels.groupby("shipment")["t"].agg(["min", "max"])
    return EventTruth(
        labels=labels,
        breaches=_runs(labels, labels["breach"].astype(bool), step),
        faults=_runs(fault_any, fault_any["sensor_fault"], step),
        shipment_start=spans["min"],
        truck_hours=float(((spans["max"] - spans["min"] + step).dt.total_seconds() / 3600.0).sum()),
    )


def event_report(
    flags: pd.DataFrame,
    labels: pd.DataFrame,
    sensor_faults: pd.DataFrame,
    *,
    twin_flags: pd.DataFrame | None = None,
    horizon_s: float = 1800.0,
    linger_s: float = 1800.0,
) -> dict:
    """Grade one detector's ``flags`` (shipment, t, flag) against a data set's labels.

    ``labels`` has ``shipment, t, breach`` per label step; ``sensor_faults`` has
    ``shipment, device, t, sensor_fault``. Times are UTC datetimes.
    ``twin_flags``: the same detector's flags on the data set's twin, for
    the sensor-fault events that caused a breach alarm.
    """
    return events_grade(
        flags,
        event_truth(labels, sensor_faults),
        twin_flags=twin_flags,
        horizon_s=horizon_s,
        linger_s=linger_s,
    )


def _rings_on_twin(
    alarms: pd.DataFrame, twin_flags: pd.DataFrame, *, linger: pd.Timedelta
) -> np.ndarray:
    """For each (shipment, t) of ``alarms``: has the twin a breach alarm of that shipment
    within ``[t - linger, t + linger]``?"""
    twin_flags = twin_flags.astype(KEYS)
    twin_alarms = twin_flags.loc[twin_flags["flag"].isin(BREACH_ALARM_FLAGS), ["shipment", "t"]]
    # Each twin alarm instant is a window of its own. Widened by the linger
    # they overlap, but the one ``_covered`` checks for an alarm at t, the
    # latest at or before t + linger, is within reach of t if any is.
    points = twin_alarms.assign(start=twin_alarms["t"], end=twin_alarms["t"])
    return _covered(alarms, points, before=linger, after=linger)


def events_grade(
    flags: pd.DataFrame,
    truth: EventTruth,
    *,
    twin_flags: pd.DataFrame | None = None,
    horizon_s: float = 1800.0,
    linger_s: float = 1800.0,
) -> dict:
    """``event_report`` against events already computed by ``event_truth``."""
    horizon, linger = pd.Timedelta(seconds=horizon_s), pd.Timedelta(seconds=linger_s)
    breaches, faults = truth.breaches, truth.faults

    flags = flags.astype(KEYS).sort_values(["shipment", "t"], kind="stable").reset_index(drop=True)
    alarm = flags["flag"].isin(BREACH_ALARM_FLAGS)
    alarms = flags[alarm]
    justified = _covered(alarms, breaches, before=horizon, after=linger)
    alarm_run = _run_numbers(flags, alarm)
    false_alarms = int((~pd.Series(justified).groupby(alarm_run.to_numpy()).any()).sum())

    first_alarm = _first_inside(breaches, alarms, before=horizon, after=pd.Timedelta(0))
    lead_min = ((breaches["start"] - first_alarm).dt.total_seconds() / 60.0).dropna()
    # A breach present at a shipment's first instant (a warm load) cannot be
    # foreseen; one starting later, after monitoring began, can: report those apart.
    mid_trip = breaches["start"] > breaches["shipment"].map(truth.shipment_start)
    lead_mid_trip = lead_min[mid_trip.reindex(lead_min.index)]

    unjustified = alarms[~justified]
    fault_alarmed = _first_inside(faults, unjustified, before=pd.Timedelta(0), after=linger)
    fault_caused_share = None
    if twin_flags is not None and not faults.empty:
        without_fault = _rings_on_twin(unjustified, twin_flags, linger=linger)
        fault_caused = _first_inside(
            faults, unjustified[~without_fault], before=pd.Timedelta(0), after=linger
        )
        fault_caused_share = round(float(fault_caused.notna().mean()), 3)

    flagged_fault = flags["flag"].eq("sensor_fault")
    fault_flag_instants = flags.loc[flagged_fault, ["shipment", "t"]]
    correct_instant = pd.Series(
        _covered(fault_flag_instants, faults, before=pd.Timedelta(0), after=linger),
        index=fault_flag_instants.index,
    )
    correct_by_run = correct_instant.groupby(_run_numbers(flags, flagged_fault)).any()
    truck_hours = truth.truck_hours

    def quantile(values: pd.Series, share: float) -> float | None:
        return None if values.empty else round(float(values.quantile(share)), 1)

    return {
        "shipments": len(truth.shipment_start),
        "truck_hours": round(truck_hours, 1),
        "breach_events": len(breaches),
        "breach_recall": None if breaches.empty else round(len(lead_min) / len(breaches), 3),
        "lead_time_median_min": quantile(lead_min, 0.5),
        "lead_time_p10_min": quantile(lead_min, 0.1),
        "at_loading_breach_events": int((~mid_trip).sum()),
        "mid_trip_breach_events": int(mid_trip.sum()),
        "mid_trip_breach_recall": (
            round(len(lead_mid_trip) / int(mid_trip.sum()), 3) if mid_trip.any() else None
        ),
        "mid_trip_lead_time_median_min": quantile(lead_mid_trip, 0.5),
        "mid_trip_lead_time_p10_min": quantile(lead_mid_trip, 0.1),
        "alarm_events": int(alarm_run.nunique()),
        "false_alarm_events": false_alarms,
        "false_alarms_per_1000_truck_hours": (
            round(false_alarms * 1000.0 / truck_hours, 1) if truck_hours else None
        ),
        "sensor_fault_events": len(faults),
        "sensor_fault_events_with_breach_alarm_share": (
            None if faults.empty else round(float(fault_alarmed.notna().mean()), 3)
        ),
        "sensor_fault_events_causing_breach_alarm_share": fault_caused_share,
        "sensor_fault_flag_events": len(correct_by_run),
        "sensor_fault_flag_precision": (
            round(float(correct_by_run.mean()), 3) if len(correct_by_run) else None
        ),
    }


def model_flags(
    feature_rows: pd.DataFrame,
    *,
    breach: xgboost.Booster,
    breach_soon: xgboost.Booster,
    thresholds: dict[str, float],
) -> pd.DataFrame:
    """The models' flag at each feature row: shipment, t, flag."""
    matrix = xgboost.DMatrix(feature_rows[list(FEATURES)], feature_names=list(FEATURES))
    class_prob = breach.predict(matrix)
    flags = decision_flags(
        breach_prob=class_prob[:, BREACH],
        sensor_fault_prob=class_prob[:, SENSOR_FAULT],
        breach_soon_prob=breach_soon.predict(matrix),
        thresholds=thresholds,
        shipments=feature_rows.index.get_level_values("shipment").to_numpy(),
    )
    return feature_rows.index.to_frame(index=False).assign(flag=flags.to_numpy())


def threshold_flags(feature_rows: pd.DataFrame) -> pd.DataFrame:
    """Baseline: ``breach`` whenever any probe's latest reading is outside the range."""
    out_of_range = feature_rows["probe_excess_c"].to_numpy() > 0
    flag = np.where(out_of_range, "breach", "ok")
    return feature_rows.index.to_frame(index=False).assign(flag=flag)


def extrapolation_flags(
    readings: pd.DataFrame, instants: pd.MultiIndex, *, horizon_s: float = 1800.0
) -> pd.DataFrame:
    """Baseline: each probe's last 15 minutes extrapolated linearly over the horizon.

    ``breach`` if a probe is outside the range now, ``breach_soon`` if its
    extrapolation leaves the range within the horizon, else ``ok``.
    """
    step_s = 60
    aligned = aligned_readings(readings, step_s=step_s)
    probe = aligned["shipment"] + "\x00" + aligned["device"]
    earlier = aligned["temp_c"].groupby(probe).shift(EXTRAPOLATION_WINDOW_S // step_s)
    projected = aligned["temp_c"] + (aligned["temp_c"] - earlier) * (
        horizon_s / EXTRAPOLATION_WINDOW_S
    )
    ranges = readings.groupby("shipment")[["temp_min", "temp_max"]].last()
    low = aligned["shipment"].map(ranges["temp_min"])
    high = aligned["shipment"].map(ranges["temp_max"])
    now = (aligned["temp_c"] > high) | (aligned["temp_c"] < low)
    soon = (projected > high) | (projected < low)
    per_instant = (
        aligned.assign(now=now, soon=soon).groupby(["shipment", "t"])[["now", "soon"]].any()
    )
    state = per_instant.reindex(instants, fill_value=False)
    flag = np.select([state["now"], state["soon"]], ["breach", "breach_soon"], default="ok")
    return instants.to_frame(index=False).assign(flag=flag)


def detectors_flags(
    feature_rows: pd.DataFrame,
    readings: pd.DataFrame,
    *,
    breach: xgboost.Booster,
    breach_soon: xgboost.Booster,
    thresholds: dict[str, float],
    horizon_s: float = 1800.0,
) -> dict[str, pd.DataFrame]:
    """The flags of the models and of both baselines (``DETECTORS``) at the feature rows."""
    return {
        "model": model_flags(
            feature_rows, breach=breach, breach_soon=breach_soon, thresholds=thresholds
        ),
        "threshold": threshold_flags(feature_rows),
        "extrapolation": extrapolation_flags(readings, feature_rows.index, horizon_s=horizon_s),
    }


def detectors_report(
    feature_rows: pd.DataFrame,
    readings: pd.DataFrame,
    labels: pd.DataFrame,
    sensor_faults: pd.DataFrame,
    *,
    breach: xgboost.Booster,
    breach_soon: xgboost.Booster,
    thresholds: dict[str, float],
    horizon_s: float = 1800.0,
    twin_flags: dict[str, pd.DataFrame] | None = None,
) -> dict[str, dict]:
    """``event_report`` of the models and of both baselines on the same instants.

    ``twin_flags``: ``detectors_flags`` on the data set's twin, for the
    sensor-fault events that caused a breach alarm.
    """
    flags = detectors_flags(
        feature_rows,
        readings,
        breach=breach,
        breach_soon=breach_soon,
        thresholds=thresholds,
        horizon_s=horizon_s,
    )
    truth = event_truth(labels, sensor_faults)
    return {
        name: events_grade(
            flags[name],
            truth,
            twin_flags=None if twin_flags is None else twin_flags[name],
            horizon_s=horizon_s,
        )
        for name in DETECTORS
    }
