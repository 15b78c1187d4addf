"""Scoring: the two boosters' probabilities and the flag for every feature row.

Pure functions over DataFrames; loading the models from the registry is
``analytics.selectors.scoring_models_get``. The contract with training:

* the ``breach`` booster is ``multi:softprob`` with classes ``BREACH_CLASSES``
  (0 normal, 1 breach, 2 sensor fault); the ``breach_soon`` booster is
  ``binary:logistic``;
* both take the columns ``analytics.features.FEATURES`` in that order and
  carry them as ``booster.feature_names``;
* the thresholds are in each registered version's ``params["decision"]``.

The flag comes from ``analytics.decision.decision_flags``, the rule that
evaluation measures: ``breach`` if p(breach) >= its threshold, else
``sensor_fault`` if p(sensor fault) >= its threshold, else ``breach_soon`` if
p(breach soon) >= its threshold, else ``ok``; a breach alarm waits for the
registered persistence (consecutive rows of the shipment calling for one), so
the rows of a shipment must be its evaluated instants in time order.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from typing import Any

import numpy as np
import pandas as pd
import xgboost

from analytics.decision import BREACH, BREACH_CLASSES, SENSOR_FAULT, decision_flags
from analytics.features import FEATURES, features
from analytics.readings import COLUMNS

SCORE_COLUMNS = ("breach_prob", "breach_soon_prob", "sensor_fault_prob", "flag")
DEFAULT_THRESHOLD = 0.5
# inplace_predict costs about 135 µs for one row and 1.7 µs per row in batches
# of 10,000 (docs/benchmarks.md): larger batches gain little and hold more memory.
BATCH_ROWS = 10_000


class ScoringError(ValueError):
    """A booster or a feature frame does not follow the scoring contract."""


def decision_thresholds(
    *, breach_params: dict, breach_soon_params: dict
) -> dict[str, float | None]:
    """The flag rule's thresholds from the registered versions' ``params["decision"]``.

    ``breach``, ``sensor_fault`` and ``persistence`` from the breach model's,
    ``breach_soon`` and ``breach_soon_at_once`` from the breach-soon model's;
    ``DEFAULT_THRESHOLD`` for any threshold that is absent, a persistence of 1
    (no wait) if it is, and no at-once threshold if it is.
    """
    breach = breach_params.get("decision") or {}
    soon = breach_soon_params.get("decision") or {}
    return {
        "breach": float(breach.get("breach", DEFAULT_THRESHOLD)),
        "sensor_fault": float(breach.get("sensor_fault", DEFAULT_THRESHOLD)),
        "breach_soon": float(soon.get("breach_soon", DEFAULT_THRESHOLD)),
        "persistence": float(breach.get("persistence", 1)),
        "breach_soon_at_once": soon.get("breach_soon_at_once"),
    }


def check_booster(booster: xgboost.Booster, *, name: str) -> None:
    """Refuse a booster whose columns are not ``FEATURES``: it would score the wrong inputs."""
    if booster.feature_names != list(FEATURES):
        raise ScoringError(
            f"the {name} model's feature names are not analytics.features.FEATURES "
            f"(got {booster.feature_names})"
        )


def feature_matrix(features_frame: pd.DataFrame) -> np.ndarray:
    """The frame's ``FEATURES`` columns as a float32 matrix (what XGBoost computes in)."""
    missing = [name for name in FEATURES if name not in features_frame.columns]
    if missing:
        raise ScoringError(f"the feature frame lacks {', '.join(missing)}")
    return features_frame[list(FEATURES)].to_numpy(dtype=np.float32, na_value=np.nan)


def predict(booster: xgboost.Booster, matrix: np.ndarray, **options: Any) -> np.ndarray:
    """``inplace_predict`` over ``matrix`` in batches of ``BATCH_ROWS`` rows."""
    parts = [
        booster.inplace_predict(matrix[start : start + BATCH_ROWS], **options)
        for start in range(0, len(matrix), BATCH_ROWS)
    ]
    if not parts:
        # An empty batch still has to have the model's output shape.
        return booster.inplace_predict(np.empty((1, matrix.shape[1]), np.float32), **options)[:0]
    return np.concatenate(parts)


def score(
    features_frame: pd.DataFrame,
    *,
    breach_model: xgboost.Booster,
    breach_soon_model: xgboost.Booster,
    thresholds: dict[str, float],
) -> pd.DataFrame:
    """``SCORE_COLUMNS`` for every row of a feature frame, on the frame's index."""
    check_booster(breach_model, name="breach")
    check_booster(breach_soon_model, name="breach_soon")
    matrix = feature_matrix(features_frame)
    classes = predict(breach_model, matrix)
    if classes.ndim != 2 or classes.shape[1] != len(BREACH_CLASSES):
        raise ScoringError(
            f"the breach model must give {len(BREACH_CLASSES)} class probabilities "
            f"({', '.join(BREACH_CLASSES)}), it gives shape {classes.shape[1:]}"
        )
    soon = predict(breach_soon_model, matrix)
    if soon.ndim != 1:
        raise ScoringError("the breach_soon model must give one probability per row")
    breach = classes[:, BREACH].astype("float64")
    sensor_fault = classes[:, SENSOR_FAULT].astype("float64")
    soon = soon.astype("float64")
    return pd.DataFrame(
        {
            "breach_prob": breach,
            "breach_soon_prob": soon,
            "sensor_fault_prob": sensor_fault,
            "flag": decision_flags(
                breach_prob=breach,
                sensor_fault_prob=sensor_fault,
                breach_soon_prob=soon,
                thresholds=thresholds,
                shipments=features_frame.index.get_level_values("shipment").to_numpy(),
            ).to_numpy(),
        },
        index=features_frame.index,
    )


def score_readings(
    readings: pd.DataFrame,
    *,
    breach_model: xgboost.Booster,
    breach_soon_model: xgboost.Booster,
    thresholds: dict[str, float],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(feature frame, scores) for a canonical readings frame (``analytics.readings``).

    The feature frame comes back too: explaining the scores needs it.
    """
    table = features(readings)
    return table, score(
        table, breach_model=breach_model, breach_soon_model=breach_soon_model, thresholds=thresholds
    )


def decision_input(readings: pd.DataFrame, *, shipment: str, t: pd.Timestamp) -> pd.DataFrame:
    """The readings a decision on ``shipment`` at ``t`` rests on: all of its readings up to ``t``.

    Not only the last 30 minutes: the running totals (time above range so far)
    and the time since the door opened reach back to the shipment's start.
    """
    rows = readings[(readings["shipment"] == shipment) & (readings["ts"] <= t)]
    return rows.reset_index(drop=True)


def _canonical(value: object) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, float | np.floating):
        return float(value)
    return str(value)


def _json_text(value: object) -> str:
    return json.dumps(
        _canonical(value),
        ensure_ascii=False,
        allow_nan=False,  # infinity has no JSON spelling: fail rather than guess one
    )


def _json_texts(column: pd.Series) -> np.ndarray:
    """Each value of ``column`` as the JSON text ``_json_text`` gives it, computed per
    distinct value (a long trip repeats its temperatures, flags and names)."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        # Every time differs: NumPy formats them all at once, milliseconds as signed.
        instants = column.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ms]")
        texts = np.char.add(np.char.add('"', np.datetime_as_string(instants, unit="ms")), 'Z"')
        return np.where(column.isna().to_numpy(), "null", texts).astype(object)
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    texts = np.array([*(_json_text(value) for value in uniques), "null"], dtype=object)
    out = texts[codes]  # a missing value's code is -1: the trailing "null"
    if column.dtype.kind == "f":
        # Factorizing counts -0.0 and 0.0 as one value; their JSON differs.
        values = column.to_numpy()
        zero = values == 0.0
        out[zero] = np.where(np.signbit(values[zero]), "-0.0", "0.0")
    return out


def _canonical_lines(rows: pd.DataFrame) -> list[bytes]:
    """One UTF-8 JSON line per row of ``rows`` (``COLUMNS``, in that order), ``\n``-terminated.

    Built column by column: per row, ``json.dumps`` of the row's values would
    cost seconds on a long trip's 100,000 readings.
    """
    columns = [_json_texts(rows[name]) for name in COLUMNS]
    return [("[" + ",".join(parts) + "]\n").encode() for parts in zip(*columns, strict=True)]


def _header_line() -> bytes:
    return json.dumps(list(COLUMNS), separators=(",", ":")).encode() + b"\n"


def _window_order(readings: pd.DataFrame) -> pd.DataFrame:
    return readings.sort_values(["shipment", "device", "ts"], kind="stable")


def input_window_sha256(readings: pd.DataFrame) -> str:
    """Hex SHA-256 of readings in canonical form (docs/scoring.md, "Input window hash").

    The bytes hashed are UTF-8 JSON lines: first the list ``COLUMNS``, then
    one list per reading in that column order, rows sorted by shipment,
    device and time; times as RFC 3339 UTC with milliseconds and ``Z``,
    numbers as the shortest decimal that reads back as the same double, flags
    as ``true``/``false``, missing values as ``null``; lines end with ``\\n``.
    So anyone holding the readings can recompute it without this code, and
    neither the row order of the input nor its CSV spelling changes it.
    """
    digest = hashlib.sha256(_header_line())
    for line in _canonical_lines(_window_order(readings)):
        digest.update(line)
    return digest.hexdigest()


def input_window_sha256s(
    readings: pd.DataFrame, *, shipment: str, instants: list[pd.Timestamp]
) -> list[str]:
    """``input_window_sha256(decision_input(readings, shipment=shipment, t=t))`` for each ``t``.

    Each reading is encoded once: a shipment scored at many instants of a
    long trip would otherwise encode its whole history again per instant. A
    window is, per device, a prefix of that device's readings in time order,
    so each instant hashes prefixes of per-device byte strings.
    """
    rows = _window_order(readings[readings["shipment"] == shipment])
    lines = _canonical_lines(rows)
    lengths = np.fromiter((len(line) for line in lines), dtype=np.int64, count=len(lines))
    times = rows["ts"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")
    devices = rows["device"].to_numpy()
    # The rows are sorted by device: each device is one run, in the hash's order.
    starts = np.flatnonzero(np.r_[True, devices[1:] != devices[:-1]]) if len(rows) else []
    bounds = [*starts, len(rows)]
    blocks = [
        (memoryview(b"".join(lines[a:b])), np.cumsum(lengths[a:b]), times[a:b])
        for a, b in itertools.pairwise(bounds)
    ]
    header = _header_line()
    hashes = []
    for t in instants:
        moment = np.datetime64(pd.Timestamp(t).tz_convert("UTC").tz_localize(None), "ns")
        digest = hashlib.sha256(header)
        for data, ends, block_times in blocks:
            count = int(np.searchsorted(block_times, moment, side="right"))
            if count:
                digest.update(data[: ends[count - 1]])
        hashes.append(digest.hexdigest())
    return hashes
