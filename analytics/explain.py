"""Explanations: per decision, the SHAP contributions of each feature, in plain words.

XGBoost computes exact TreeSHAP values (``pred_contribs=True``): per row, one
contribution per feature plus a bias, in margin units (log-odds), summing to
the model's raw margin for that row. Which margin is explained depends on the
flag (``EXPLAINED``): a ``breach_soon`` flag explains the breach-soon model;
every other flag explains one class of the breach model (``ok`` explains
the breach class: what keeps the cargo from being called breached).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import xgboost

from analytics.decision import BREACH_CLASSES
from analytics.features import CARGO_SLOPE_WINDOWS_MIN, FEATURES, MINUTES_TO_MAX_CAP, WINDOWS_MIN
from analytics.quorum import aligned_readings, quorum
from analytics.scoring import BATCH_ROWS, check_booster, feature_matrix

BIAS = "bias"
TOP_K = 3


class Explained(NamedTuple):
    breach_class: str | None  # the breach model's class; None: the breach-soon model
    risk: str  # what a positive contribution raises, in words


EXPLAINED = {
    "breach": Explained("breach", "the breach risk"),
    "sensor_fault": Explained("sensor_fault", "the sensor-fault likelihood"),
    "breach_soon": Explained(None, "the risk of a breach soon"),
    "ok": Explained("breach", "the breach risk"),
}


@dataclass(frozen=True)
class Factor:
    feature: str
    value: float  # the feature's value (NaN: missing)
    contribution: float  # SHAP value, margin units; > 0 raises what the flag claims
    text: str


def _level(which: str, window: int) -> Callable[[float], str]:
    return lambda v: f"{which} probe averaging {v:.1f} °C over {window} min"


def _change(subject: str, window: int) -> Callable[[float], str]:
    def phrase(v: float) -> str:
        trend = "rising" if v > 0 else "falling" if v < 0 else "steady"
        return f"{subject} {trend} {abs(v):.1f} °C/h over {window} min"

    return phrase


def _margin(edge: str, inside: str, outside: str) -> Callable[[float], str]:
    def phrase(v: float) -> str:
        return f"{abs(v):.1f} °C {inside if v >= 0 else outside} the {edge} limit"

    return phrase


def _count(singular: str, plural: str) -> Callable[[float], str]:
    def phrase(v: float) -> str:
        return f"{v:.0f} {singular if v == 1 else plural}"

    return phrase


def _minutes(template: str) -> Callable[[float], str]:
    return lambda v: template.format(f"{v:.0f} min")


# One phrase per feature of FEATURES, with its unit (tested to cover FEATURES
# exactly). A missing value (NaN) is worded by MISSING, which covers them too.
PHRASES: dict[str, Callable[[float], str]] = {
    **{f"probe_level_max_{w}m_c": _level("hottest", w) for w in WINDOWS_MIN},
    **{f"probe_level_min_{w}m_c": _level("coldest", w) for w in WINDOWS_MIN},
    **{f"probe_slope_max_{w}m_c_per_h": _change("fastest-warming probe", w) for w in WINDOWS_MIN},
    **{f"probe_slope_min_{w}m_c_per_h": _change("fastest-cooling probe", w) for w in WINDOWS_MIN},
    "probe_excess_c": lambda v: f"most extreme probe {v:.1f} °C beyond the range",
    "validated_c": lambda v: f"validated cargo temperature {v:.1f} °C",
    "validated_slope_15m_c_per_h": _change("validated temperature", 15),
    "gap_to_max_c": _margin("upper", "below", "above"),
    "gap_to_min_c": _margin("lower", "above", "below"),
    "minus_setpoint_c": lambda v: f"validated temperature {v:+.1f} °C from the setpoint",
    "ambient_minus_validated_c": lambda v: (
        f"outside air {abs(v):.1f} °C {'warmer' if v >= 0 else 'colder'} than the cargo"
    ),
    "door_open": lambda v: "door open" if v >= 0.5 else "door closed",
    "reefer_on": lambda v: "reefer running" if v >= 0.5 else "reefer off",
    "since_door_opened_min": _minutes("door last opened {} ago"),
    "door_open_share_30m": lambda v: f"door open {v * 100:.0f} % of the last 30 min",
    "quorum": lambda v: (
        "devices agree on a validated temperature" if v >= 0.5 else "no quorum among the devices"
    ),
    "n_devices": _count("device reporting", "devices reporting"),
    "n_flagged": _count("probe disagrees with the others", "probes disagree with the others"),
    "spread_c": lambda v: f"devices differ by up to {v:.1f} °C",
    "above_range_min": _minutes("{} above the range so far"),
    "below_range_min": _minutes("{} below the range so far"),
    "out_of_range_run_min": _minutes("out of range for the last {}"),
    "stalest_age_min": _minutes("oldest device reading {} old"),
    "n_silent": _count("device silent", "devices silent"),
    "cargo_c": lambda v: f"loggers agree on a cargo temperature of {v:.1f} °C",
    "cargo_gap_to_max_c": _margin("upper", "below", "above"),
    "cargo_gap_to_min_c": _margin("lower", "above", "below"),
    **{
        f"cargo_slope_{w}m_c_per_h": _change("cargo temperature", w)
        for w in CARGO_SLOPE_WINDOWS_MIN
    },
    "air_minus_cargo_c": lambda v: (
        f"reefer air {abs(v):.1f} °C {'warmer' if v >= 0 else 'colder'} than the cargo"
    ),
    "air_above_range_run_min": _minutes("reefer air above the range for the last {}"),
    "coldest_logger_gap_to_max_c": lambda v: (
        f"coldest logger {abs(v):.1f} °C {'below' if v >= 0 else 'above'} the upper limit"
    ),
    "air_corrected_gap_to_max_c": lambda v: (
        f"cargo at most {abs(v):.1f} °C {'below' if v >= 0 else 'above'} the upper limit "
        "once the air's share of the coldest logger is taken out"
    ),
    "logger_spread_c": lambda v: f"loggers {v:.1f} °C apart",
    "settled_cargo_gap_to_max_c": lambda v: (
        f"cargo {abs(v):.1f} °C {'below' if v >= 0 else 'above'} the upper limit "
        "when the air last agreed with it"
    ),
    "since_settled_min": _minutes("air and cargo apart for the last {}"),
    "air_heat_since_settled_c_h": lambda v: (
        f"air {abs(v):.1f} °C·h {'warmer' if v >= 0 else 'colder'} than the cargo since they agreed"
    ),
    "cargo_estimate_gap_to_max_c": lambda v: (
        f"cargo about {abs(v):.1f} °C {'below' if v >= 0 else 'above'} the upper limit "
        "by the loggers, each with its share of the air taken out"
    ),
    "cargo_estimate_gap_to_min_c": lambda v: (
        f"cargo about {abs(v):.1f} °C {'above' if v >= 0 else 'below'} the lower limit "
        "by the loggers, each with its share of the air taken out"
    ),
    **{
        f"cargo_estimate_slope_{w}m_c_per_h": _change("estimated cargo temperature", w)
        for w in CARGO_SLOPE_WINDOWS_MIN
    },
    "cargo_estimate_spread_c": lambda v: f"loggers' cargo estimates {v:.1f} °C apart",
    "cargo_estimate_coldest_gap_to_max_c": lambda v: (
        f"coldest cargo estimate {abs(v):.1f} °C {'below' if v >= 0 else 'above'} the upper limit"
    ),
    "cargo_estimate_minutes_to_max": lambda v: (
        "cargo not warming towards its upper limit"
        if v >= MINUTES_TO_MAX_CAP
        else f"cargo at its upper limit in about {v:.0f} min at its present warming"
    ),
    "n_stuck_probes": _count("probe stuck on one value", "probes stuck on one value"),
    "cargo_plausible_gap_to_max_c": lambda v: (
        f"cargo about {abs(v):.1f} °C {'below' if v >= 0 else 'above'} the upper limit "
        "by the loggers that move as a load can"
    ),
    "n_implausible_loggers": _count(
        "logger moving as no load can", "loggers moving as no load can"
    ),
}
MISSING: dict[str, str] = {
    **{
        f"probe_level_{side}_{w}m_c": f"no probe readings over {w} min"
        for w in WINDOWS_MIN
        for side in ("max", "min")
    },
    **{
        f"probe_slope_{side}_{w}m_c_per_h": f"no probe trend over {w} min"
        for w in WINDOWS_MIN
        for side in ("max", "min")
    },
    "probe_excess_c": "product range unknown",
    "validated_c": "no validated temperature (no quorum)",
    "validated_slope_15m_c_per_h": "no validated temperature trend",
    "gap_to_max_c": "margin to the upper limit unknown",
    "gap_to_min_c": "margin to the lower limit unknown",
    "minus_setpoint_c": "distance to the setpoint unknown",
    "ambient_minus_validated_c": "outside air temperature unknown",
    "door_open": "door state not reported",
    "reefer_on": "reefer state not reported",
    "since_door_opened_min": "door not opened so far",
    "door_open_share_30m": "door state not reported",
    "quorum": "quorum unknown",
    "n_devices": "device count unknown",
    "n_flagged": "no quorum to compare the probes with",
    "spread_c": "no device reporting",
    "above_range_min": "time above the range unknown",
    "below_range_min": "time below the range unknown",
    "out_of_range_run_min": "excursion length unknown",
    "stalest_age_min": "no device reading yet",
    "n_silent": "silent devices unknown",
    "cargo_c": "no cargo temperature (the loggers disagree or are silent)",
    "cargo_gap_to_max_c": "cargo margin to the upper limit unknown",
    "cargo_gap_to_min_c": "cargo margin to the lower limit unknown",
    **{
        f"cargo_slope_{w}m_c_per_h": f"no cargo temperature trend over {w} min"
        for w in CARGO_SLOPE_WINDOWS_MIN
    },
    "air_minus_cargo_c": "reefer air or cargo temperature unknown",
    "air_above_range_run_min": "reefer air temperature unknown",
    "coldest_logger_gap_to_max_c": "no logger reading",
    "air_corrected_gap_to_max_c": "no logger reading",
    "logger_spread_c": "no logger reading",
    "settled_cargo_gap_to_max_c": "air and cargo have not agreed yet",
    "since_settled_min": "air and cargo have not agreed yet",
    "air_heat_since_settled_c_h": "air and cargo have not agreed yet",
    "cargo_estimate_gap_to_max_c": "no logger or reefer air reading",
    "cargo_estimate_gap_to_min_c": "no logger or reefer air reading",
    **{
        f"cargo_estimate_slope_{w}m_c_per_h": f"no estimated cargo trend over {w} min"
        for w in CARGO_SLOPE_WINDOWS_MIN
    },
    "cargo_estimate_spread_c": "no logger or reefer air reading",
    "cargo_estimate_coldest_gap_to_max_c": "no logger or reefer air reading",
    "cargo_estimate_minutes_to_max": "no logger or reefer air reading",
    "n_stuck_probes": "no logger or reefer air reading",
    "cargo_plausible_gap_to_max_c": "no logger moving as a load can",
    "n_implausible_loggers": "no logger or reefer air reading",
}


def factor_text(
    feature: str, value: float, contribution: float, *, flag: str, disagreeing: str = ""
) -> str:
    """One factor in plain words: what the feature says and which way it pushes the flag's risk.

    ``disagreeing`` (from ``disagreeing_probes``) names the probes behind a
    non-zero ``n_flagged``, which the feature alone can only count.
    """
    if feature == "n_flagged" and disagreeing and value > 0:
        phrase = disagreeing
    else:
        phrase = MISSING[feature] if math.isnan(value) else PHRASES[feature](value)
    direction = "raises" if contribution > 0 else "lowers"
    return f"{phrase} ({direction} {EXPLAINED[flag].risk})"


def _contribs(booster: xgboost.Booster, matrix: np.ndarray) -> np.ndarray:
    # pred_contribs needs a DMatrix (inplace_predict cannot give it); batched like scoring.
    parts = [
        booster.predict(
            xgboost.DMatrix(
                matrix[start : start + BATCH_ROWS], feature_names=list(FEATURES), missing=np.nan
            ),
            pred_contribs=True,
        )
        for start in range(0, len(matrix), BATCH_ROWS)
    ]
    return np.concatenate(parts) if parts else np.empty((0, len(FEATURES) + 1))


def contributions(
    features_frame: pd.DataFrame,
    flag: pd.Series,
    *,
    breach_model: xgboost.Booster,
    breach_soon_model: xgboost.Booster,
) -> pd.DataFrame:
    """SHAP values of the margin each row's flag is explained by (``EXPLAINED``).

    Columns ``FEATURES`` and ``bias``; each row sums to that margin.
    """
    check_booster(breach_model, name="breach")
    check_booster(breach_soon_model, name="breach_soon")
    matrix = feature_matrix(features_frame)
    flag = flag.to_numpy()
    unknown = set(flag) - set(EXPLAINED)
    if unknown:
        raise ValueError(f"unknown flag(s): {', '.join(sorted(unknown))}")
    out = np.empty((len(matrix), len(FEATURES) + 1))
    soon = np.array([EXPLAINED[name].breach_class is None for name in flag], dtype=bool)
    if soon.any():
        out[soon] = _contribs(breach_soon_model, matrix[soon])
    if (~soon).any():
        by_class = _contribs(breach_model, matrix[~soon])  # (rows, classes, features + 1)
        classes = [BREACH_CLASSES.index(EXPLAINED[name].breach_class) for name in flag[~soon]]
        out[~soon] = by_class[np.arange(len(by_class)), classes]
    return pd.DataFrame(out, index=features_frame.index, columns=[*FEATURES, BIAS])


def top_factors(
    values: pd.Series, contribs: pd.Series, *, flag: str, k: int = TOP_K, disagreeing: str = ""
) -> list[Factor]:
    """The ``k`` features with the largest absolute contribution, largest first.

    ``values`` and ``contribs`` are one row of the feature frame and of
    ``contributions``; ties keep the order of ``FEATURES``.
    """
    shares = contribs[list(FEATURES)].to_numpy()
    order = np.argsort(-np.abs(shares), kind="stable")[:k]
    return [
        Factor(
            feature=FEATURES[i],
            value=float(values[FEATURES[i]]),
            contribution=float(shares[i]),
            text=factor_text(
                FEATURES[i],
                float(values[FEATURES[i]]),
                shares[i],
                flag=flag,
                disagreeing=disagreeing,
            ),
        )
        for i in order
    ]


def explain(
    features_frame: pd.DataFrame,
    scores: pd.DataFrame,
    *,
    breach_model: xgboost.Booster,
    breach_soon_model: xgboost.Booster,
    k: int = TOP_K,
    probes: pd.Series | None = None,
) -> pd.Series:
    """The top ``k`` factors (a list of ``Factor``) of each scored row, on the scores' index.

    ``probes`` (``disagreeing_probes`` of the same readings) lets the factors
    name the disagreeing probes.
    """
    if not scores.index.equals(features_frame.index):
        raise ValueError("scores and features must be on the same (shipment, t) index")
    contribs = contributions(
        features_frame,
        scores["flag"],
        breach_model=breach_model,
        breach_soon_model=breach_soon_model,
    )
    named = {} if probes is None else probes.to_dict()
    return pd.Series(
        [
            top_factors(
                features_frame.iloc[i],
                contribs.iloc[i],
                flag=flag,
                k=k,
                disagreeing=named.get(key, ""),
            )
            for i, (key, flag) in enumerate(scores["flag"].items())
        ],
        index=scores.index,
        dtype=object,
    )


def factors_text(factors: list[Factor]) -> str:
    """Factors as one line: their texts joined by ``; `` (the ``top_factors`` CSV column)."""
    return "; ".join(factor.text for factor in factors)


def disagreeing_probes(
    readings: pd.DataFrame,
    *,
    step_s: int = 60,
    max_age_s: float = 180.0,
    k: int = 2,
    tolerance_c: float = 1.0,
) -> pd.Series:
    """Per (shipment, t) with a flagged device: the flagged devices and their gap, in words.

    E.g. ``probe truck-003-logger reads 4.1 °C above the others``. The same
    quorum as the feature function (pass it the same parameters), whose
    ``n_flagged`` only counts these devices.
    """
    aligned = aligned_readings(readings, step_s=step_s, max_age_s=max_age_s)
    result = quorum(aligned, k=k, tolerance_c=tolerance_c)
    flagged = result.devices[result.devices["flagged"]].merge(
        result.steps[["shipment", "t", "validated_c"]], on=["shipment", "t"]
    )
    gap = flagged["temp_c"] - flagged["validated_c"]
    words = (
        "probe "
        + flagged["device"]
        + " reads "
        + gap.abs().map("{:.1f}".format)
        + " °C "
        + np.where(gap >= 0, "above", "below")
        + " the others"
    )
    return words.groupby([flagged["shipment"], flagged["t"]]).agg(" and ".join)
