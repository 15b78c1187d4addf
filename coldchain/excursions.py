"""Excursion accounting over a shipment's validated cargo temperature.

Pure and deterministic: the same validated series and limits give the same
summary, so anyone holding the ledger's readings can recompute it. The
counting rules (what a sample stands for, boundaries, missing quorum, the
adaptation period, mean kinetic temperature) are documented in
``docs/contracts.md``, section "Excursion accounting".
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

# USP <1079>: ΔH = 83.144 kJ/mol and R = 8.3144 J/(mol·K), so ΔH/R = 10,000 K.
ACTIVATION_OVER_R_K = 10_000.0
KELVIN_AT_0_C = 273.15
MKT_WINDOW = timedelta(hours=24)
# The quorum's grid step (analytics.quorum.aligned_readings); only used when a
# one-sample series gives no spacing to infer the step from.
DEFAULT_STEP = timedelta(minutes=1)
DEFAULT_MAX_GAP = timedelta(minutes=5)
# as_facts rounds every temperature and every duration to this many decimals
# (°C and minutes), so platforms whose last float bits differ hash the same facts.
FACTS_DECIMALS = 3
FACTS_FORMAT = 1

_NS_PER_MINUTE = 60_000_000_000


@dataclass(frozen=True)
class Excursion:
    """A run of validated samples on one side of the range.

    Missing quorum inside the run does not end it (the cargo was never shown
    back in range); that time is in ``unvalidated_minutes``, not ``minutes``.
    """

    start: datetime
    end: datetime
    minutes: float
    direction: str  # "high" or "low"
    peak_c: float  # furthest value from the range
    within_band: bool  # never left the allowed excursion band
    unvalidated_minutes: float

    def as_facts(self) -> dict:
        return {
            "start": rfc3339(self.start),
            "end": rfc3339(self.end),
            "minutes": _rounded(self.minutes),
            "unvalidated_minutes": _rounded(self.unvalidated_minutes),
            "direction": self.direction,
            "peak_c": _rounded(self.peak_c),
            "within_band": self.within_band,
        }


@dataclass(frozen=True)
class ExcursionSummary:
    samples: int  # grid instants in the accounted period, validated or not
    first_at: datetime | None
    last_at: datetime | None
    min_c: float | None
    max_c: float | None
    excursions: tuple[Excursion, ...]
    cumulative_minutes: float
    longest_minutes: float
    band_minutes: float  # out of range but inside the allowed band
    beyond_band_minutes: float  # outside the band
    mkt_c: float | None  # over the whole accounted period
    mkt_24h_max_c: float | None  # highest MKT over any rolling 24 h window
    validated_samples: int
    period_minutes: float  # first_at to the end of the last sample's interval
    in_range_minutes: float
    unvalidated_minutes: float  # no quorum, or a gap longer than max_gap
    temp_min_c: float
    temp_max_c: float
    band_min_c: float
    band_max_c: float
    ignore_before: datetime | None
    max_gap: timedelta

    def as_facts(self) -> dict:
        """JSON-ready and deterministic: floats rounded to ``FACTS_DECIMALS``,
        times RFC 3339 UTC; the contract engine hashes this."""
        return {
            "format": FACTS_FORMAT,
            "range_c": [_rounded(self.temp_min_c), _rounded(self.temp_max_c)],
            "band_c": [_rounded(self.band_min_c), _rounded(self.band_max_c)],
            "ignore_before": None if self.ignore_before is None else rfc3339(self.ignore_before),
            "max_gap_s": self.max_gap.total_seconds(),
            "samples": self.samples,
            "validated_samples": self.validated_samples,
            "first_at": None if self.first_at is None else rfc3339(self.first_at),
            "last_at": None if self.last_at is None else rfc3339(self.last_at),
            "period_minutes": _rounded(self.period_minutes),
            "in_range_minutes": _rounded(self.in_range_minutes),
            "unvalidated_minutes": _rounded(self.unvalidated_minutes),
            "min_c": _rounded_or_none(self.min_c),
            "max_c": _rounded_or_none(self.max_c),
            "cumulative_minutes": _rounded(self.cumulative_minutes),
            "longest_minutes": _rounded(self.longest_minutes),
            "band_minutes": _rounded(self.band_minutes),
            "beyond_band_minutes": _rounded(self.beyond_band_minutes),
            "mkt_c": _rounded_or_none(self.mkt_c),
            "mkt_24h_max_c": _rounded_or_none(self.mkt_24h_max_c),
            "excursions": [excursion.as_facts() for excursion in self.excursions],
        }


def rfc3339(moment: datetime) -> str:
    """UTC with a ``Z``; microseconds only when there are any."""
    text = moment.astimezone(UTC).replace(tzinfo=None).isoformat()
    return f"{text}Z"


def _rounded(value: float) -> float:
    # Adding 0.0 turns -0.0 into 0.0, so a tiny negative rounding never shows a sign.
    return round(value, FACTS_DECIMALS) + 0.0


def _rounded_or_none(value: float | None) -> float | None:
    return None if value is None else _rounded(value)


def mean_kinetic_temperature(
    temps_c: Sequence[float] | np.ndarray, weights: Sequence[float] | np.ndarray | None = None
) -> float:
    """USP <1079> mean kinetic temperature in °C.

    MKT = (ΔH/R) / -ln(Σ wᵢ e^(-ΔH/(R Tᵢ)) / Σ wᵢ), T in kelvin, ΔH/R = 10,000 K.
    ``weights`` (durations, say) default to equal weights.
    """
    temps = np.asarray(temps_c, dtype="float64")
    if temps.ndim != 1 or temps.size == 0:
        raise ValueError("mean kinetic temperature needs at least one temperature")
    if not np.isfinite(temps).all():
        raise ValueError("mean kinetic temperature needs finite temperatures")
    if (temps <= -KELVIN_AT_0_C).any():
        raise ValueError("a temperature at or below absolute zero")
    if weights is None:
        given = np.ones_like(temps)
    else:
        given = np.asarray(weights, dtype="float64")
        if given.shape != temps.shape:
            raise ValueError("weights must have one value per temperature")
        if not np.isfinite(given).all() or (given < 0).any() or given.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero")
    kelvin = temps + KELVIN_AT_0_C
    reference = float(kelvin.max())
    terms = _arrhenius_terms(kelvin, reference)
    return _mkt_from_sums(float((given * terms).sum()), float(given.sum()), reference)


def _arrhenius_terms(kelvin: np.ndarray, reference_k: float) -> np.ndarray:
    # e^(-ΔH/(RT)) scaled by e^(ΔH/(R T_ref)): with T_ref the hottest value the
    # terms stay in (0, 1] and never underflow, whatever the temperatures.
    return np.exp(-ACTIVATION_OVER_R_K * (1.0 / kelvin - 1.0 / reference_k))


def _mkt_from_sums(weighted_terms: float, total_weight: float, reference_k: float) -> float:
    mean_term = min(weighted_terms / total_weight, 1.0)
    kelvin = ACTIVATION_OVER_R_K / (ACTIVATION_OVER_R_K / reference_k - math.log(mean_term))
    return kelvin - KELVIN_AT_0_C


def excursion_summary(
    validated: pd.Series,
    *,
    temp_min_c: float,
    temp_max_c: float,
    band_min_c: float,
    band_max_c: float,
    ignore_before: datetime | None = None,
    max_gap: timedelta = DEFAULT_MAX_GAP,
    step: timedelta | None = None,
) -> ExcursionSummary:
    """Excursions, time out of range and MKT of a validated cargo temperature.

    ``validated``: °C indexed by tz-aware instants on the quorum's grid, NaN
    where there was no quorum. ``step`` is the grid step, inferred as the
    smallest spacing of the index when not given.
    """
    _check_limits(temp_min_c, temp_max_c, band_min_c, band_max_c)
    if max_gap <= timedelta(0):
        raise ValueError("max_gap must be positive")
    if step is not None and step <= timedelta(0):
        raise ValueError("step must be positive")
    instants, values = _grid(validated, ignore_before)
    samples = _Samples(instants, values, _durations_ns(instants, step, max_gap))
    limits = {
        "temp_min_c": float(temp_min_c),
        "temp_max_c": float(temp_max_c),
        "band_min_c": float(band_min_c),
        "band_max_c": float(band_max_c),
        "ignore_before": ignore_before,
        "max_gap": max_gap,
    }
    if instants.size == 0:
        return _empty_summary(limits)

    valid = np.isfinite(values)
    high = valid & (values > temp_max_c)
    low = valid & (values < temp_min_c)
    beyond = valid & ((values > band_max_c) | (values < band_min_c))
    minutes = samples.durations_ns / _NS_PER_MINUTE
    excursions = _excursions(samples, valid, high, low, beyond)
    period_ns = int(instants[-1] - instants[0] + samples.durations_ns[-1])
    validated_minutes = float(minutes[valid].sum())
    out = high | low
    return ExcursionSummary(
        samples=int(instants.size),
        first_at=_datetime(instants[0]),
        last_at=_datetime(instants[-1]),
        min_c=float(values[valid].min()) if valid.any() else None,
        max_c=float(values[valid].max()) if valid.any() else None,
        excursions=excursions,
        cumulative_minutes=float(minutes[out].sum()),
        longest_minutes=max((e.minutes for e in excursions), default=0.0),
        band_minutes=float(minutes[out & ~beyond].sum()),
        beyond_band_minutes=float(minutes[beyond].sum()),
        mkt_c=_period_mkt(values[valid], minutes[valid]),
        mkt_24h_max_c=_rolling_mkt_max(samples, valid, period_ns),
        validated_samples=int(valid.sum()),
        period_minutes=period_ns / _NS_PER_MINUTE,
        in_range_minutes=float(minutes[valid & ~out].sum()),
        unvalidated_minutes=period_ns / _NS_PER_MINUTE - validated_minutes,
        **limits,
    )


@dataclass(frozen=True)
class _Samples:
    instants: np.ndarray  # int64 ns since the epoch, ascending
    values: np.ndarray  # °C, NaN where there is no validated value
    durations_ns: np.ndarray  # the time each sample stands for


def _check_limits(temp_min_c: float, temp_max_c: float, band_min_c: float, band_max_c: float):
    bounds = (temp_min_c, temp_max_c, band_min_c, band_max_c)
    if not all(isinstance(b, numbers.Real) and math.isfinite(b) for b in bounds):
        raise ValueError("temperature limits must be finite numbers")
    if not temp_min_c < temp_max_c:
        raise ValueError("temp_min_c must be below temp_max_c")
    if not (band_min_c <= temp_min_c and band_max_c >= temp_max_c):
        raise ValueError("the excursion band must contain the range")


def _grid(validated: pd.Series, ignore_before: datetime | None) -> tuple[np.ndarray, np.ndarray]:
    index = validated.index
    if validated.empty:
        # No readings at all often comes as a plain empty Series: nothing to account.
        return np.array([], dtype="int64"), np.array([], dtype="float64")
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise ValueError("the validated temperature needs a tz-aware DatetimeIndex")
    if index.has_duplicates:
        raise ValueError("the validated temperature has two values at the same instant")
    try:
        values = validated.to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise ValueError("the validated temperature must be numeric") from error
    instants = index.tz_convert("UTC").as_unit("ns").asi8
    order = np.argsort(instants, kind="stable")
    instants, values = instants[order], values[order]
    # Infinite values are no measurement: count them as missing quorum.
    values = np.where(np.isfinite(values), values, np.nan)
    if ignore_before is not None:
        if ignore_before.tzinfo is None:
            raise ValueError("ignore_before must be tz-aware")
        keep = instants >= pd.Timestamp(ignore_before).as_unit("ns").value
        instants, values = instants[keep], values[keep]
    return instants, values


def _durations_ns(instants: np.ndarray, step: timedelta | None, max_gap: timedelta) -> np.ndarray:
    cap = _ns(max_gap)
    if step is not None:
        step_ns = _ns(step)
    elif instants.size > 1:
        step_ns = int(np.diff(instants).min())
    else:
        step_ns = _ns(DEFAULT_STEP)
    following = np.append(instants[1:], instants[-1:] + step_ns) if instants.size else instants
    return np.minimum(following - instants, cap)


def _ns(delta: timedelta) -> int:
    return int(pd.Timedelta(delta).value)


def _datetime(ns: int | np.integer) -> datetime:
    return pd.Timestamp(int(ns), unit="ns", tz="UTC").to_pydatetime()


def _datetimes(ns: np.ndarray) -> list[datetime]:
    return list(pd.to_datetime(ns, unit="ns", utc=True).to_pydatetime())


def _excursions(
    samples: _Samples,
    valid: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    beyond: np.ndarray,
) -> tuple[Excursion, ...]:
    # Runs are found among validated samples only, so missing quorum between
    # two out-of-range samples on the same side does not split an excursion.
    positions = np.flatnonzero(valid)
    if positions.size == 0:
        return ()
    state = np.where(high[positions], 1, np.where(low[positions], -1, 0))
    run_starts = np.flatnonzero(np.r_[True, np.diff(state) != 0])
    run_lasts = np.r_[run_starts[1:], positions.size] - 1
    out = state[run_starts] != 0
    values = samples.values[positions]
    durations = samples.durations_ns[positions]
    highest = np.maximum.reduceat(values, run_starts)[out]
    lowest = np.minimum.reduceat(values, run_starts)[out]
    left_band = np.logical_or.reduceat(beyond[positions], run_starts)[out]
    minutes = np.add.reduceat(durations, run_starts)[out] / _NS_PER_MINUTE
    directions = state[run_starts][out]
    start_ns = samples.instants[positions[run_starts[out]]]
    end_ns = samples.instants[positions[run_lasts[out]]] + durations[run_lasts[out]]
    spans = (end_ns - start_ns) / _NS_PER_MINUTE
    return tuple(
        Excursion(
            start=start,
            end=end,
            minutes=run_minutes,
            direction="high" if direction == 1 else "low",
            peak_c=high_c if direction == 1 else low_c,
            within_band=not left,
            unvalidated_minutes=span - run_minutes,
        )
        for start, end, run_minutes, direction, high_c, low_c, left, span in zip(
            _datetimes(start_ns),
            _datetimes(end_ns),
            minutes.tolist(),
            directions.tolist(),
            highest.tolist(),
            lowest.tolist(),
            left_band.tolist(),
            spans.tolist(),
            strict=True,
        )
    )


def _period_mkt(values: np.ndarray, minutes: np.ndarray) -> float | None:
    if values.size == 0:
        return None
    return mean_kinetic_temperature(values, minutes)


def _rolling_mkt_max(samples: _Samples, valid: np.ndarray, period_ns: int) -> float | None:
    """The highest MKT over 24 h windows starting at each grid instant.

    A window starting at tᵢ holds the validated samples with tᵢ <= t < tᵢ + 24 h
    and counts only if it ends within the period; a period shorter than 24 h
    is its own only window.
    """
    if not valid.any():
        return None
    window_ns = _ns(MKT_WINDOW)
    if period_ns <= window_ns:
        return _period_mkt(samples.values[valid], samples.durations_ns[valid] / _NS_PER_MINUTE)
    kelvin = np.where(valid, samples.values + KELVIN_AT_0_C, np.nan)
    reference = float(np.nanmax(kelvin))
    weight = np.where(valid, samples.durations_ns / _NS_PER_MINUTE, 0.0)
    weighted = np.where(
        valid, weight * _arrhenius_terms(np.nan_to_num(kelvin, nan=1.0), reference), 0.0
    )
    cum_weight = np.concatenate(([0.0], np.cumsum(weight)))
    cum_weighted = np.concatenate(([0.0], np.cumsum(weighted)))
    starts = np.arange(samples.instants.size)
    ends = np.searchsorted(samples.instants, samples.instants + window_ns, side="left")
    full = samples.instants + window_ns <= samples.instants[0] + period_ns
    window_weight = cum_weight[ends] - cum_weight[starts]
    window_terms = cum_weighted[ends] - cum_weighted[starts]
    counted = full & (window_weight > 0)
    if not counted.any():
        return None
    # MKT rises with the mean term, so the window with the largest mean has the highest MKT.
    means = np.where(counted, window_terms / np.where(counted, window_weight, 1.0), -np.inf)
    best = int(np.argmax(means))
    return _mkt_from_sums(float(window_terms[best]), float(window_weight[best]), reference)


def _empty_summary(limits: dict) -> ExcursionSummary:
    return ExcursionSummary(
        samples=0,
        first_at=None,
        last_at=None,
        min_c=None,
        max_c=None,
        excursions=(),
        cumulative_minutes=0.0,
        longest_minutes=0.0,
        band_minutes=0.0,
        beyond_band_minutes=0.0,
        mkt_c=None,
        mkt_24h_max_c=None,
        validated_samples=0,
        period_minutes=0.0,
        in_range_minutes=0.0,
        unvalidated_minutes=0.0,
        **limits,
    )
