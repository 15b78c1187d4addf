"""Scoring: the flag rule, batch prediction, the contract checks and the input-window hash."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import xgboost
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics import scoring
from analytics.decision import decision_flags
from analytics.evaluation import model_flags
from analytics.features import FEATURES
from analytics.readings import COLUMNS, readings_frame
from analytics.scoring import (
    DEFAULT_THRESHOLD,
    ScoringError,
    decision_input,
    decision_thresholds,
    input_window_sha256,
    input_window_sha256s,
    score,
)
from tests.analytics.boosters import breach_booster, breach_soon_booster, feature_rows

T0 = pd.Timestamp("2026-01-05T00:00:00Z")
HALF = dict.fromkeys(("breach", "sensor_fault", "breach_soon"), DEFAULT_THRESHOLD)


@pytest.fixture(scope="module")
def models():
    return {"breach_model": breach_booster(), "breach_soon_model": breach_soon_booster()}


def test_the_flag_rule_ranks_breach_then_sensor_fault_then_breach_soon():
    thresholds = {"breach": 0.6, "sensor_fault": 0.7, "breach_soon": 0.4}
    crafted = {  # breach, sensor_fault, breach_soon -> flag
        (0.6, 0.9, 0.9): "breach",  # at the threshold counts; outranks the others
        (0.59, 0.7, 0.9): "sensor_fault",
        (0.59, 0.69, 0.4): "breach_soon",
        (0.59, 0.69, 0.39): "ok",
        (0.0, 0.0, 0.0): "ok",
    }
    got = decision_flags(
        breach_prob=np.array([key[0] for key in crafted]),
        sensor_fault_prob=np.array([key[1] for key in crafted]),
        breach_soon_prob=np.array([key[2] for key in crafted]),
        thresholds=thresholds,
    )
    assert list(got) == list(crafted.values())


def test_a_breach_alarm_waits_for_the_persistence_within_its_shipment():
    thresholds = {"breach": 0.5, "sensor_fault": 0.5, "breach_soon": 0.5, "persistence": 3}
    # shipment, breach, sensor_fault, breach_soon -> flag
    rows = [
        ("a", 0.9, 0.0, 0.0, "ok"),  # first instant calling for an alarm
        ("a", 0.0, 0.0, 0.9, "ok"),  # a breach-soon alarm continues the run
        ("a", 0.9, 0.0, 0.0, "breach"),  # third in a row: raised
        ("a", 0.0, 0.0, 0.9, "breach_soon"),
        ("b", 0.9, 0.9, 0.0, "sensor_fault"),  # another shipment counts afresh
        ("b", 0.9, 0.0, 0.0, "ok"),
        ("b", 0.0, 0.0, 0.0, "ok"),  # the run is broken
        ("b", 0.9, 0.0, 0.0, "ok"),
    ]
    got = decision_flags(
        breach_prob=np.array([row[1] for row in rows]),
        sensor_fault_prob=np.array([row[2] for row in rows]),
        breach_soon_prob=np.array([row[3] for row in rows]),
        thresholds=thresholds,
        shipments=np.array([row[0] for row in rows]),
    )
    assert list(got) == [row[4] for row in rows]


def test_a_sure_breach_soon_call_raises_its_alarm_at_once_despite_the_persistence():
    thresholds = {
        "breach": 0.5,
        "sensor_fault": 0.5,
        "breach_soon": 0.5,
        "persistence": 3,
        "breach_soon_at_once": 0.95,
    }
    # breach, sensor_fault, breach_soon -> flag, all of one shipment
    rows = [
        (0.0, 0.0, 0.9, "ok"),  # an ordinary call waits for the persistence
        (0.0, 0.0, 0.0, "ok"),
        (0.0, 0.0, 0.95, "breach_soon"),  # a sure one does not
        (0.0, 0.9, 0.99, "sensor_fault"),  # a suspect probe still outranks it
        (0.9, 0.0, 0.0, "ok"),  # a breach call still waits
    ]
    got = decision_flags(
        breach_prob=np.array([row[0] for row in rows]),
        sensor_fault_prob=np.array([row[1] for row in rows]),
        breach_soon_prob=np.array([row[2] for row in rows]),
        thresholds=thresholds,
        shipments=np.array(["a"] * len(rows)),
    )
    assert list(got) == [row[3] for row in rows]


def test_thresholds_come_from_the_versions_params_with_a_default_of_one_half():
    assert decision_thresholds(breach_params={}, breach_soon_params={}) == {
        **HALF,
        "persistence": 1.0,
        "breach_soon_at_once": None,
    }
    thresholds = decision_thresholds(
        breach_params={"decision": {"breach": 0.3, "sensor_fault": 0.8, "persistence": 2}},
        breach_soon_params={"decision": {"breach_soon": 0.2, "breach_soon_at_once": 0.97}},
    )
    assert thresholds == {
        "breach": 0.3,
        "sensor_fault": 0.8,
        "breach_soon": 0.2,
        "persistence": 2.0,
        "breach_soon_at_once": 0.97,
    }


def test_score_gives_the_class_probabilities_and_the_flag_on_the_feature_index(models):
    rows = feature_rows(50, seed=3)
    scores = score(rows, thresholds=HALF, **models)

    assert list(scores.columns) == ["breach_prob", "breach_soon_prob", "sensor_fault_prob", "flag"]
    assert scores.index.equals(rows.index)
    classes = models["breach_model"].inplace_predict(rows.to_numpy())
    np.testing.assert_array_equal(scores["breach_prob"], classes[:, 1])
    np.testing.assert_array_equal(scores["sensor_fault_prob"], classes[:, 2])
    assert set(scores["flag"]) <= {"ok", "breach", "sensor_fault", "breach_soon"}
    assert (
        scores[["breach_prob", "breach_soon_prob", "sensor_fault_prob"]].stack().between(0, 1).all()
    )


def test_batch_scoring_equals_scoring_one_row_at_a_time(models, monkeypatch):
    rows = feature_rows(23, seed=4)
    monkeypatch.setattr(scoring, "BATCH_ROWS", 5)  # 5 batches, the last one short
    batched = score(rows, thresholds=HALF, **models)

    one_by_one = pd.concat(
        [score(rows.iloc[[i]], thresholds=HALF, **models) for i in range(len(rows))]
    )
    pd.testing.assert_frame_equal(batched, one_by_one)


def test_scoring_an_empty_frame_gives_an_empty_table(models):
    scores = score(feature_rows(0), thresholds=HALF, **models)
    assert len(scores) == 0
    assert list(scores.columns) == ["breach_prob", "breach_soon_prob", "sensor_fault_prob", "flag"]


def test_a_booster_trained_on_other_columns_is_refused(models):
    other = xgboost.train(
        {"objective": "binary:logistic", "nthread": 1},
        xgboost.DMatrix(np.zeros((4, len(FEATURES))), np.array([0, 1, 0, 1])),
        num_boost_round=1,
    )  # no feature names
    with pytest.raises(ScoringError, match="breach_soon model's feature names"):
        score(
            feature_rows(5),
            breach_model=models["breach_model"],
            breach_soon_model=other,
            thresholds=HALF,
        )


def test_a_feature_frame_missing_a_column_is_refused(models):
    with pytest.raises(ScoringError, match="lacks spread_c"):
        score(feature_rows(5).drop(columns="spread_c"), thresholds=HALF, **models)


def readings() -> pd.DataFrame:
    return readings_frame(
        pd.DataFrame(
            {
                "shipment": ["s1", "s1", "s1", "s2"],
                "device": ["a", "b", "a", "a"],
                "ts": [
                    "2026-01-05T00:00:00Z",
                    "2026-01-05T00:00:00.5Z",
                    "2026-01-05T00:01:00Z",
                    "2026-01-05T00:00:00Z",
                ],
                "temp_c": ["5.1", "5", "0.1", "-18"],
                "door_open": ["true", "", "false", ""],
            }
        )
    )


def test_the_input_window_hash_is_the_sha256_of_the_documented_json_lines():
    expected = (
        '["shipment","device","ts","temp_c","ambient_c","humidity_pct","door_open",'
        '"reefer_on","setpoint_c","temp_min","temp_max"]\n'
        '["s1","a","2026-01-05T00:00:00.000Z",5.1,null,null,true,null,null,null,null]\n'
        '["s1","a","2026-01-05T00:01:00.000Z",0.1,null,null,false,null,null,null,null]\n'
        '["s1","b","2026-01-05T00:00:00.500Z",5.0,null,null,null,null,null,null,null]\n'
        '["s2","a","2026-01-05T00:00:00.000Z",-18.0,null,null,null,null,null,null,null]\n'
    )
    assert COLUMNS[0] == "shipment"
    assert input_window_sha256(readings()) == hashlib.sha256(expected.encode()).hexdigest()


def test_the_input_window_hash_ignores_row_order_and_sees_every_value():
    frame = readings()
    assert input_window_sha256(frame.iloc[::-1]) == input_window_sha256(frame)
    changed = frame.copy()
    changed.loc[2, "temp_c"] = 0.10000000000000002  # the next double after 0.1
    assert input_window_sha256(changed) != input_window_sha256(frame)


def test_window_hashes_at_many_instants_equal_one_hash_per_window():
    frame = readings()
    instants = [
        T0 - pd.Timedelta(seconds=1),
        T0,
        T0 + pd.Timedelta(seconds=30),
        T0 + pd.Timedelta(hours=1),
    ]
    expected = [input_window_sha256(decision_input(frame, shipment="s1", t=t)) for t in instants]
    assert input_window_sha256s(frame, shipment="s1", instants=instants) == expected
    assert len(set(expected)) == len(expected)


def test_a_decision_rests_on_the_shipments_readings_up_to_its_time():
    window = decision_input(readings(), shipment="s1", t=T0 + pd.Timedelta(seconds=30))
    assert list(window["device"]) == ["a", "b"]
    assert (window["shipment"] == "s1").all()


def test_scoring_flags_what_the_evaluation_report_measures(models):
    rows = feature_rows(200, seed=8)
    thresholds = {"breach": 0.3, "sensor_fault": 0.3, "breach_soon": 0.3}

    scored = score(rows, thresholds=thresholds, **models)
    evaluated = model_flags(
        rows,
        breach=models["breach_model"],
        breach_soon=models["breach_soon_model"],
        thresholds=thresholds,
    )

    assert list(scored["flag"]) == list(evaluated["flag"])


def documented_line(row: dict) -> bytes:
    """One reading's line as docs/scoring.md defines it, value by value."""

    def plain(value):
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            return None
        if isinstance(value, pd.Timestamp):
            return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        if isinstance(value, bool | np.bool_):
            return bool(value)
        return float(value) if isinstance(value, float | np.floating) else str(value)

    values = [plain(row[name]) for name in COLUMNS]
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


temperatures = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([0.0, -0.0, 0.1, 5.0, 1e16, 1e-7]),
    st.none(),
)
flags = st.sampled_from([True, False, None])


@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "device": st.text(min_size=1, max_size=5).filter(lambda s: s.strip() == s),
                "ms": st.integers(min_value=0, max_value=4_000_000_000_000),
                "temp_c": temperatures.filter(lambda v: v is not None),
                "ambient_c": temperatures,
                "door_open": flags,
            }
        ),
        max_size=30,
    )
)
@settings(max_examples=60, deadline=None)
def test_the_window_hash_encodes_every_value_as_documented(rows):
    frame = pd.DataFrame(
        {
            "shipment": pd.Series(["s"] * len(rows), dtype="string"),
            "device": pd.Series([r["device"] for r in rows], dtype="string"),
            "ts": pd.to_datetime([r["ms"] for r in rows], unit="ms", utc=True).astype(
                "datetime64[ms, UTC]"
            ),
            "temp_c": pd.Series([r["temp_c"] for r in rows], dtype="float64"),
            "ambient_c": pd.Series([r["ambient_c"] for r in rows], dtype="float64"),
            "door_open": pd.Series([r["door_open"] for r in rows], dtype="boolean"),
        }
    )
    for name in COLUMNS:
        if name not in frame:
            frame[name] = pd.Series([None] * len(rows), dtype="float64")
    ordered = frame.sort_values(["shipment", "device", "ts"], kind="stable")
    expected = hashlib.sha256(
        json.dumps(list(COLUMNS), separators=(",", ":")).encode()
        + b"\n"
        + b"".join(documented_line(row) for _, row in ordered.iterrows())
    ).hexdigest()
    assert input_window_sha256(frame) == expected
