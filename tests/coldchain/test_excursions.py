"""Excursion accounting (time out of range, excursions, band, MKT) against hand-computed values."""

import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coldchain.excursions import excursion_summary, mean_kinetic_temperature

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
NAN = float("nan")
# A 2-8 °C product allowed to excurse to 0-12 °C.
LIMITS = {"temp_min_c": 2.0, "temp_max_c": 8.0, "band_min_c": 0.0, "band_max_c": 12.0}


def series(values, *, step=MINUTE, start=T0):
    index = pd.DatetimeIndex([start + i * step for i in range(len(values))])
    return pd.Series(values, index=index, dtype="float64")


def at_minutes(points):
    """A series from {minute offset: value}, for grids with holes."""
    return pd.Series(
        list(points.values()), index=pd.DatetimeIndex([T0 + m * MINUTE for m in points])
    )


def summary(values, **options):
    return excursion_summary(values, **(LIMITS | options))


def hand_mkt(temps_c, weights=None):
    """USP <1079> written out: ΔH/R = 10,000 K over -ln of the weighted mean of e^(-ΔH/RT)."""
    weights = weights or [1.0] * len(temps_c)
    terms = [w * math.exp(-10_000 / (t + 273.15)) for t, w in zip(temps_c, weights, strict=True)]
    return 10_000 / -math.log(sum(terms) / sum(weights)) - 273.15


# --- time counting -----------------------------------------------------------


def test_each_sample_counts_for_the_interval_to_the_next():
    # 1-min grid: 4, 9, 9, 4, 4, 4 -> t1 and t2 are high: 2 min out, the other 4 in.
    result = summary(series([4, 9, 9, 4, 4, 4]))
    assert result.period_minutes == 6  # t0 to t5 is 5 min, plus the last sample's minute
    assert result.cumulative_minutes == 2
    assert result.in_range_minutes == 4
    assert result.unvalidated_minutes == 0
    (excursion,) = result.excursions
    assert (excursion.start, excursion.end) == (T0 + MINUTE, T0 + 3 * MINUTE)
    assert excursion.minutes == 2
    assert excursion.direction == "high"
    assert excursion.peak_c == 9


def test_exactly_on_a_limit_is_in_range():
    result = summary(series([2.0, 8.0, 2.0, 8.0]))
    assert result.excursions == ()
    assert result.in_range_minutes == 4


def test_low_excursion_peaks_at_its_coldest_value():
    (excursion,) = summary(series([4, 1.5, 0.5, 1.9, 4])).excursions
    assert excursion.direction == "low"
    assert excursion.peak_c == 0.5
    assert excursion.minutes == 3


def test_crossing_from_high_to_low_is_two_excursions():
    result = summary(series([9, 1, 4]))
    assert [e.direction for e in result.excursions] == ["high", "low"]
    assert result.cumulative_minutes == 2
    assert result.longest_minutes == 1


def test_a_return_into_range_splits_excursions_and_longest_is_the_longer():
    # high for 3 min, in for 1, high for 2: cumulative 5, longest 3.
    result = summary(series([9, 9, 9, 4, 10, 10, 4]))
    assert [e.minutes for e in result.excursions] == [3, 2]
    assert result.cumulative_minutes == 5
    assert result.longest_minutes == 3


def test_missing_quorum_inside_an_excursion_neither_ends_it_nor_counts_as_out():
    # 4, 9, -, 10, 4: one excursion from t1 to t4; 2 min validated out, 1 min unvalidated.
    result = summary(series([4, 9, NAN, 10, 4]))
    (excursion,) = result.excursions
    assert (excursion.start, excursion.end) == (T0 + MINUTE, T0 + 4 * MINUTE)
    assert excursion.minutes == 2
    assert excursion.unvalidated_minutes == 1
    assert excursion.peak_c == 10
    assert result.unvalidated_minutes == 1
    assert result.cumulative_minutes == 2
    assert result.in_range_minutes == 2


def test_a_gap_counts_only_up_to_max_gap_and_the_rest_is_unvalidated():
    # Samples at minutes 0, 1 and 20 with max_gap 5 min: t0 counts 1 min (in),
    # t1 counts min(19, 5) = 5 min (high), t20 counts the 1-min grid step (high).
    result = summary(at_minutes({0: 4.0, 1: 9.0, 20: 9.0}), max_gap=timedelta(minutes=5))
    assert result.period_minutes == 21
    assert result.cumulative_minutes == 5 + 1
    assert result.in_range_minutes == 1
    assert result.unvalidated_minutes == 21 - 6 - 1
    (excursion,) = result.excursions
    assert (excursion.start, excursion.end) == (T0 + MINUTE, T0 + 21 * MINUTE)
    assert excursion.unvalidated_minutes == 20 - 6


def test_readings_before_the_adaptation_period_are_ignored():
    # Loading at 20 °C until t2; the accounting starts at t2.
    result = summary(series([20, 20, 4, 4]), ignore_before=T0 + 2 * MINUTE)
    assert result.excursions == ()
    assert result.samples == 2
    assert result.first_at == T0 + 2 * MINUTE
    assert result.max_c == 4


def test_band_and_beyond_band_split_the_time_out_of_range():
    # 9, 13, 9, 4 with band 0-12: 3 min out, of which 1 min (13 °C) beyond the band.
    result = summary(series([9, 13, 9, 4]))
    assert result.band_minutes == 2
    assert result.beyond_band_minutes == 1
    (excursion,) = result.excursions
    assert not excursion.within_band
    assert excursion.peak_c == 13


def test_an_excursion_inside_the_band_is_within_band():
    (excursion,) = summary(series([4, 11.5, 12.0, 4])).excursions
    assert excursion.within_band


def test_min_and_max_are_over_validated_values():
    result = summary(series([NAN, 3.5, 7.25, NAN, 5]))
    assert (result.min_c, result.max_c) == (3.5, 7.25)
    assert result.validated_samples == 3
    assert result.samples == 5


@pytest.mark.parametrize("empty", [series([]), pd.Series([], dtype="float64")])
def test_an_empty_series_has_nothing_to_account(empty):
    result = summary(empty)
    assert result.samples == 0
    assert result.first_at is None
    assert result.mkt_c is None
    assert result.mkt_24h_max_c is None
    assert result.excursions == ()


def test_a_series_without_quorum_is_all_unvalidated():
    result = summary(series([NAN, NAN, NAN]))
    assert result.unvalidated_minutes == 3
    assert result.min_c is None
    assert result.mkt_c is None


# --- mean kinetic temperature ------------------------------------------------


def test_mkt_of_two_temperatures_by_hand():
    # 25 °C = 298.15 K: e^(-10000/298.15) = e^-33.54016 = 2.71451e-15
    # 35 °C = 308.15 K: e^(-10000/308.15) = e^-32.45173 = 8.06109e-15
    # mean 5.38780e-15, -ln = 33.55466..., 10000 / 33.55466... = 304.3710 K = 31.221 °C
    assert mean_kinetic_temperature([25.0, 35.0]) == pytest.approx(31.221, abs=5e-4)
    assert mean_kinetic_temperature([25.0, 35.0]) == pytest.approx(hand_mkt([25.0, 35.0]))


def test_mkt_of_a_month_of_weekly_means_like_the_usp_example():
    # Weekly mean temperatures of a storage room, one value a week.
    weeks = [20.0, 22.0, 25.0, 28.0]
    assert mean_kinetic_temperature(weeks) == pytest.approx(hand_mkt(weeks))
    assert mean_kinetic_temperature(weeks) > sum(weeks) / len(weeks)


def test_mkt_weights_samples_by_their_duration():
    # 3 h at 5 °C then 1 h at 25 °C equals the 4 hourly samples 5, 5, 5, 25.
    weighted = mean_kinetic_temperature([5.0, 25.0], [3.0, 1.0])
    assert weighted == pytest.approx(mean_kinetic_temperature([5.0, 5.0, 5.0, 25.0]))


def test_summary_mkt_weights_by_the_time_each_sample_counts():
    # Samples at minutes 0, 1 and 10, max_gap 5 min: weights 1, 5 and 1.
    result = summary(at_minutes({0: 4.0, 1: 6.0, 10: 7.0}), max_gap=timedelta(minutes=5))
    assert result.mkt_c == pytest.approx(hand_mkt([4.0, 6.0, 7.0], [1.0, 5.0, 1.0]))


def test_rolling_24h_mkt_is_the_worst_full_window():
    # Hourly samples: 6 h at 30 °C then 24 h at 5 °C (30 h). Full windows start at
    # hours 0..6; the one starting at hour 0 holds all six warm hours and 18 cold ones.
    values = series([30.0] * 6 + [5.0] * 24, step=timedelta(hours=1))
    result = summary(values, band_max_c=40.0)
    assert result.mkt_24h_max_c == pytest.approx(hand_mkt([30.0] * 6 + [5.0] * 18))
    assert result.mkt_c == pytest.approx(hand_mkt([30.0] * 6 + [5.0] * 24))


def test_a_period_shorter_than_24h_is_its_own_only_window():
    result = summary(series([4.0, 6.0, 9.0]))
    assert result.mkt_24h_max_c == result.mkt_c


@pytest.mark.parametrize(
    ("temps", "weights"),
    [([], None), ([5.0, NAN], None), ([-300.0], None), ([5.0], [0.0]), ([5.0, 6.0], [1.0])],
)
def test_mkt_rejects_what_it_cannot_compute(temps, weights):
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        mean_kinetic_temperature(temps, weights)


# --- facts for the contract engine -------------------------------------------


def test_facts_are_rounded_json_with_rfc3339_times():
    result = summary(series([4.0, 9.123456, 4.0]))
    facts = result.as_facts()
    assert json.loads(json.dumps(facts)) == facts
    assert facts["first_at"] == "2026-03-01T08:00:00Z"
    assert facts["excursions"] == [
        {
            "start": "2026-03-01T08:01:00Z",
            "end": "2026-03-01T08:02:00Z",
            "minutes": 1.0,
            "unvalidated_minutes": 0.0,
            "direction": "high",
            "peak_c": 9.123,
            "within_band": True,
        }
    ]
    assert facts["mkt_c"] == round(hand_mkt([4.0, 9.123456, 4.0]), 3)
    assert facts["range_c"] == [2.0, 8.0]


def test_the_same_series_gives_the_same_facts_in_any_order():
    values = series([4.0, 9.0, NAN, 13.0, 1.0, 4.0])
    shuffled = values.iloc[[3, 0, 5, 1, 4, 2]]
    assert summary(values).as_facts() == summary(shuffled).as_facts()


# --- clear errors --------------------------------------------------------------


def test_a_naive_index_is_a_clear_error():
    naive = pd.Series([4.0], index=pd.DatetimeIndex([datetime(2026, 3, 1)]))
    with pytest.raises(ValueError, match="tz-aware"):
        summary(naive)


def test_two_values_at_one_instant_are_a_clear_error():
    doubled = pd.Series([4.0, 5.0], index=pd.DatetimeIndex([T0, T0]))
    with pytest.raises(ValueError, match="same instant"):
        summary(doubled)


def test_a_band_that_does_not_contain_the_range_is_a_clear_error():
    with pytest.raises(ValueError, match="band must contain"):
        excursion_summary(series([4.0]), **(LIMITS | {"band_max_c": 7.0}))


# --- properties ------------------------------------------------------------------

temperature = st.one_of(
    st.floats(min_value=-30, max_value=40, allow_nan=False),
    st.sampled_from([NAN, 2.0, 8.0, 0.0, 12.0]),
)


@st.composite
def validated_series(draw):
    values = draw(st.lists(temperature, min_size=1, max_size=80))
    # Irregular holes in the grid: each instant 1 to 9 minutes after the previous one.
    gaps = draw(st.lists(st.integers(1, 9), min_size=len(values), max_size=len(values)))
    offsets = np.cumsum([0, *gaps[1:]])
    return at_minutes(dict(zip(offsets.tolist(), values, strict=True)))


@settings(max_examples=200, deadline=None)
@given(validated_series())
def test_time_adds_up(values):
    result = summary(values, max_gap=timedelta(minutes=5))
    minutes = [e.minutes for e in result.excursions]
    assert result.cumulative_minutes == pytest.approx(sum(minutes))
    assert result.longest_minutes == pytest.approx(max(minutes, default=0.0))
    assert result.longest_minutes <= result.cumulative_minutes + 1e-9
    assert result.band_minutes + result.beyond_band_minutes == pytest.approx(
        result.cumulative_minutes
    )
    assert result.in_range_minutes + result.cumulative_minutes + result.unvalidated_minutes == (
        pytest.approx(result.period_minutes)
    )


@settings(max_examples=200, deadline=None)
@given(validated_series())
def test_mkt_lies_between_min_and_max(values):
    result = summary(values)
    if result.mkt_c is None:
        assert result.validated_samples == 0
        return
    assert result.min_c - 1e-9 <= result.mkt_c <= result.max_c + 1e-9
    assert result.min_c - 1e-9 <= result.mkt_24h_max_c <= result.max_c + 1e-9


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(min_value=-40, max_value=60), min_size=1, max_size=50),
    st.data(),
)
def test_mkt_is_at_least_the_weighted_mean(temps, data):
    weights = data.draw(st.lists(st.floats(0.1, 10), min_size=len(temps), max_size=len(temps)))
    mkt = mean_kinetic_temperature(temps, weights)
    mean = float(np.average(temps, weights=weights))
    assert mkt >= mean - 1e-9
    assert min(temps) - 1e-9 <= mkt <= max(temps) + 1e-9


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=-80, max_value=80), st.integers(1, 3000))
def test_a_constant_series_has_that_constant_as_mkt(constant, n):
    result = summary(series([constant] * n), band_min_c=-100.0, band_max_c=100.0)
    assert result.mkt_c == pytest.approx(constant, abs=1e-9)
    assert result.mkt_24h_max_c == pytest.approx(constant, abs=1e-9)
