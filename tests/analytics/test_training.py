"""Training: labels joined to feature rows, validation split by shipment, the alarm rule."""

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from analytics.decision import BREACH, NORMAL, SENSOR_FAULT
from analytics.evaluation import event_truth
from analytics.features import FEATURES
from analytics.training import (
    LEAD_TIME_REQUIRED_MIN,
    RECALL_REQUIRED,
    alarm_rule_choose,
    alarm_rule_pick,
    shipment_split,
    training_frame,
    vehicle_of,
)

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


def test_the_split_holds_out_whole_trucks_the_same_for_a_seed():
    shipments = pd.Index([f"truck-{n % 7:03d}/{n % 3}" for n in range(500)])
    held_out = shipment_split(shipments, validation_share=0.25, seed=3)
    assert held_out.equals(shipment_split(shipments[::-1], validation_share=0.25, seed=3))
    in_valid = pd.Series(shipments.isin(held_out))
    # Every trip of a truck falls on the same side.
    assert in_valid.groupby(shipments.str.split("/").str[0]).nunique().eq(1).all()
    assert 0 < in_valid.mean() < 1


def test_a_shipment_id_without_a_vehicle_part_is_its_own_vehicle():
    assert list(vehicle_of(pd.Index(["truck-003/2", "SHP-17", "a/b/c"]))) == [
        "truck-003",
        "SHP-17",
        "a/b",
    ]


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


LEAD = LEAD_TIME_REQUIRED_MIN


def rule_report(recall, lead, false_alarms, faults_alarmed=0, faults=100):
    return {
        "breach_recall": recall,
        "mid_trip_lead_time_median_min": lead,
        "false_alarm_events": false_alarms,
        "sensor_fault_events": faults,
        "sensor_fault_events_with_breach_alarm_share": faults_alarmed / faults,
    }


def test_among_rules_with_about_the_fewest_alarms_the_highest_recall_wins():
    fewest = ({"name": "fewest"}, rule_report(0.975, LEAD + 5, 30, faults_alarmed=6))
    # 36 + 4 = 40 alarms, within sqrt(36) of the fewest's 36: as good, and more recall.
    surer = ({"name": "surer"}, rule_report(0.99, LEAD, 36, faults_alarmed=4))
    noisy = ({"name": "noisy"}, rule_report(1.0, LEAD + 10, 60))
    assert alarm_rule_pick([fewest, surer, noisy])[0]["name"] == "surer"


def test_a_rule_short_of_the_required_recall_or_lead_is_never_picked_over_one_meeting_them():
    meets = ({"name": "meets"}, rule_report(RECALL_REQUIRED, LEAD, 50))
    quiet_but_late = ({"name": "late"}, rule_report(1.0, LEAD - 1, 5))
    quiet_but_blind = ({"name": "blind"}, rule_report(RECALL_REQUIRED - 0.01, LEAD + 10, 5))
    assert alarm_rule_pick([quiet_but_late, meets, quiet_but_blind])[0]["name"] == "meets"


def test_with_no_rule_meeting_the_requirements_the_highest_recall_wins():
    late = ({"name": "late"}, rule_report(0.99, LEAD - 1, 40))
    blind = ({"name": "blind"}, rule_report(0.9, LEAD + 10, 5))
    assert alarm_rule_pick([blind, late])[0]["name"] == "late"
