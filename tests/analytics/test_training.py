"""Training: labels joined to feature rows, validation split by shipment, the alarm rule."""

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from analytics.decision import BREACH, NORMAL, SENSOR_FAULT
from analytics.evaluation import event_truth
from analytics.features import FEATURES
from analytics.training import alarm_rule_choose, shipment_split, training_frame

T0 = pd.Timestamp("2026-01-05T00:00:00Z")


def at(minutes):
    return T0 + pd.Timedelta(minutes=minutes)


def test_training_frame_labels_breach_before_sensor_fault_before_normal():
    index = pd.MultiIndex.from_tuples(
        [("a/0", at(0)), ("a/0", at(5)), ("a/0", at(10)), ("b/0", at(0))], names=["shipment", "t"]
    )
    rows = pd.DataFrame(1.0, index=index, columns=list(FEATURES))
    labels = pd.DataFrame(
        {
            "shipment": ["a/0", "a/0", "a/0", "b/0"],
            "t": [at(0), at(5), at(10), at(0)],
            "breach": [False, True, False, False],
            "breach_soon": [True, False, False, False],
        }
    )
    # A fault on one of two devices at 5 and 10: the breach at 5 wins.
    sensor = pd.DataFrame(
        {
            "shipment": ["a/0"] * 6 + ["b/0"],
            "device": ["x", "y"] * 3 + ["x"],
            "t": [at(0), at(0), at(5), at(5), at(10), at(10), at(0)],
            "sensor_fault": [False, False, False, True, True, False, False],
        }
    )
    frame = training_frame(rows, labels, sensor)
    assert frame["breach_class"].tolist() == [NORMAL, BREACH, SENSOR_FAULT, NORMAL]
    assert frame["breach_soon"].tolist() == [1, 0, 0, 0]
    assert list(frame.columns[: len(FEATURES)]) == list(FEATURES)


def test_the_split_holds_out_whole_shipments_the_same_for_a_seed():
    shipments = pd.Index([f"truck-{n % 7:03d}/{n % 3}" for n in range(500)])
    held_out = shipment_split(shipments, validation_share=0.25, seed=3)
    assert held_out.equals(shipment_split(shipments[::-1], validation_share=0.25, seed=3))
    in_valid = shipments.isin(held_out)
    # Every row of a shipment falls on the same side.
    assert pd.Series(in_valid).groupby(shipments).nunique().eq(1).all()
    assert 0 < in_valid.mean() < 1


def test_train_model_names_a_missing_data_set_instead_of_a_traceback(tmp_path):
    with pytest.raises(CommandError, match="not a readable data set"):
        call_command("train_model", data=tmp_path / "missing")


def test_the_alarm_rule_waits_out_a_passing_blip_and_keeps_the_breach_warning():
    minutes = pd.RangeIndex(6 * 60)
    t = T0 + pd.to_timedelta(minutes, unit="min")
    # a/0 breaches from 240 min; b/0 never does, but its breach probability
    # jumps at one evaluated instant, as a failure that passes makes it.
    labels = pd.concat(
        [
            pd.DataFrame({"shipment": "a/0", "t": t, "breach": minutes >= 240}),
            pd.DataFrame({"shipment": "b/0", "t": t, "breach": False}),
        ]
    )
    sensor = labels.assign(device="x", sensor_fault=False).drop(columns="breach")
    instants = t[::5]
    index = pd.MultiIndex.from_product([["a/0", "b/0"], instants], names=["shipment", "t"])
    evaluated = pd.Series(list(minutes[::5]) * 2)
    shipment = index.get_level_values("shipment")
    breach_prob = np.where(
        (shipment == "a/0") & (evaluated >= 200) | (shipment == "b/0") & (evaluated == 100),
        0.95,
        0.05,
    )
    probabilities = pd.DataFrame(
        {"breach_prob": breach_prob, "sensor_fault_prob": 0.0, "breach_soon_prob": 0.0},
        index=index,
    )

    rule, report = alarm_rule_choose(
        probabilities, event_truth(labels, sensor), sensor_fault_threshold=0.5, horizon_s=1800
    )

    assert rule["persistence"] > 1
    assert report["breach_recall"] == 1.0
    assert report["false_alarm_events"] == 0
    assert report["mid_trip_lead_time_median_min"] >= 15
