"""Explanations: SHAP contributions that add up to the margin, and their plain words."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics.decision import FLAGS
from analytics.explain import (
    BIAS,
    EXPLAINED,
    MISSING,
    PHRASES,
    Factor,
    contributions,
    disagreeing_probes,
    explain,
    factor_text,
    factors_text,
    top_factors,
)
from analytics.features import FEATURES
from analytics.readings import readings_frame
from analytics.scoring import DEFAULT_THRESHOLD, score
from tests.analytics.boosters import breach_booster, breach_soon_booster, feature_rows

HALF = dict.fromkeys(("breach", "sensor_fault", "breach_soon"), DEFAULT_THRESHOLD)


@pytest.fixture(scope="module")
def models():
    return {"breach_model": breach_booster(), "breach_soon_model": breach_soon_booster()}


def test_the_phrase_table_covers_exactly_the_features():
    assert set(PHRASES) == set(FEATURES)
    assert set(MISSING) == set(FEATURES)
    assert set(EXPLAINED) == set(FLAGS)


@pytest.mark.parametrize("feature", FEATURES)
@pytest.mark.parametrize("value", [-2.4, 0.0, 1.0, 12.0, math.nan])
def test_every_feature_reads_as_words_with_the_direction_it_pushes(feature, value):
    raising = factor_text(feature, value, 0.8, flag="breach")
    lowering = factor_text(feature, value, -0.8, flag="sensor_fault")

    assert raising.endswith("(raises the breach risk)")
    assert lowering.endswith("(lowers the sensor-fault likelihood)")
    assert "nan" not in raising.lower()
    assert "_" not in raising


def test_phrases_carry_the_units_and_the_direction_of_change():
    assert PHRASES["validated_slope_15m_c_per_h"](2.4) == (
        "validated temperature rising 2.4 °C/h over 15 min"
    )
    assert PHRASES["validated_slope_15m_c_per_h"](-0.5) == (
        "validated temperature falling 0.5 °C/h over 15 min"
    )
    assert PHRASES["since_door_opened_min"](12.0) == "door last opened 12 min ago"
    assert PHRASES["gap_to_max_c"](-1.5) == "1.5 °C above the upper limit"
    assert PHRASES["n_flagged"](1.0) == "1 probe disagrees with the others"
    assert PHRASES["spread_c"](4.1) == "devices differ by up to 4.1 °C"
    assert factor_text("validated_c", math.nan, 0.1, flag="breach_soon") == (
        "no validated temperature (no quorum) (raises the risk of a breach soon)"
    )


@pytest.mark.parametrize("flag", FLAGS)
def test_contributions_add_up_to_the_margin_the_flag_is_explained_by(models, flag):
    rows = feature_rows(40, seed=5)
    contribs = contributions(rows, pd.Series(flag, index=rows.index), **models)

    assert list(contribs.columns) == [*FEATURES, BIAS]
    matrix = rows.to_numpy()
    if flag == "breach_soon":
        margin = models["breach_soon_model"].inplace_predict(matrix, predict_type="margin")
    else:
        by_class = models["breach_model"].inplace_predict(matrix, predict_type="margin")
        margin = by_class[:, 1 if EXPLAINED[flag].breach_class == "breach" else 2]
    np.testing.assert_allclose(contribs.sum(axis=1), margin, rtol=1e-5, atol=1e-5)


def test_each_row_is_explained_by_its_own_flag(models):
    rows = feature_rows(6, seed=6)
    mixed = pd.Series(["breach", "breach_soon", "sensor_fault", "ok", "breach_soon", "ok"])
    mixed.index = rows.index
    together = contributions(rows, mixed, **models)
    for i, flag in enumerate(mixed):
        alone = contributions(rows.iloc[[i]], pd.Series([flag], index=rows.index[[i]]), **models)
        np.testing.assert_allclose(together.iloc[i], alone.iloc[0], rtol=1e-6)


def test_top_factors_are_the_largest_contributions_in_words(models):
    values = pd.Series({name: 1.0 for name in FEATURES})
    contribs = pd.Series({name: 0.0 for name in FEATURES} | {BIAS: -3.0})
    contribs["door_open"] = -0.2
    contribs["validated_slope_15m_c_per_h"] = 0.9
    contribs["spread_c"] = 0.1

    factors = top_factors(values, contribs, flag="breach_soon", k=2)

    assert factors == [
        Factor(
            "validated_slope_15m_c_per_h",
            1.0,
            0.9,
            "validated temperature rising 1.0 °C/h over 15 min (raises the risk of a breach soon)",
        ),
        Factor("door_open", 1.0, -0.2, "door open (lowers the risk of a breach soon)"),
    ]
    assert factors_text(factors).count("; ") == 1


def test_explain_gives_k_factors_for_every_scored_row(models):
    rows = feature_rows(30, seed=7)
    scores = score(rows, thresholds=HALF, **models)

    factors = explain(rows, scores, k=4, **models)

    assert factors.index.equals(scores.index)
    assert all(len(row) == 4 for row in factors)
    assert all(f.feature in FEATURES and f.text for row in factors for f in row)
    assert all(abs(row[0].contribution) >= abs(row[-1].contribution) for row in factors)


def test_explain_refuses_scores_of_other_rows(models):
    rows = feature_rows(4)
    scores = score(rows, thresholds=HALF, **models)
    with pytest.raises(ValueError, match="same"):
        explain(rows.iloc[::-1], scores, **models)


def test_the_disagreeing_probe_is_named_with_its_gap_to_the_others():
    t0 = pd.Timestamp("2026-01-05T00:00:00Z")
    rows = [
        {"shipment": "s1", "device": device, "ts": t0 + pd.Timedelta(minutes=i), "temp_c": temp}
        for i in range(11)
        for device, temp in (
            ("reefer", 5.0),
            ("logger-1", 5.2),
            ("logger-2", 9.2 if i >= 5 else 5.1),
        )
    ]
    probes = disagreeing_probes(readings_frame(pd.DataFrame(rows)))

    assert (
        probes[("s1", t0 + pd.Timedelta(minutes=5))]
        == "probe logger-2 reads 4.1 °C above the others"
    )
    assert ("s1", t0 + pd.Timedelta(minutes=4)) not in probes.index
    assert (
        factor_text("n_flagged", 1.0, 0.7, flag="sensor_fault", disagreeing=probes.iloc[0])
        == "probe logger-2 reads 4.1 °C above the others (raises the sensor-fault likelihood)"
    )
    assert factor_text("n_flagged", 0.0, -0.7, flag="breach", disagreeing="") == (
        "0 probes disagree with the others (lowers the breach risk)"
    )
