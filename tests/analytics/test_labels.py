"""Breach, breach-soon and sensor-fault labels on hand-made truth."""

import pandas as pd

from analytics.labels import LabelConfig, breach_labels, sensor_fault_labels

T0 = pd.Timestamp("2026-01-05T00:00:00Z")


def truth(cargo, shipment="s1"):
    """One row per minute, range 2..8 C."""
    return pd.DataFrame(
        {
            "shipment": shipment,
            "t": [T0 + pd.Timedelta(minutes=i) for i in range(len(cargo))],
            "cargo_c": cargo,
            "temp_min": 2.0,
            "temp_max": 8.0,
        }
    )


def test_an_excursion_of_ten_minutes_is_a_breach_from_its_start():
    labels = breach_labels(truth([5.0] * 5 + [9.0] * 10 + [5.0] * 5))
    assert labels["breach"].tolist() == [False] * 5 + [True] * 10 + [False] * 5


def test_a_shorter_excursion_is_out_of_range_but_not_a_breach():
    labels = breach_labels(truth([5.0] * 5 + [9.0] * 9 + [5.0] * 5))
    assert labels["out_of_range"].sum() == 9
    assert not labels["breach"].any()


def test_breach_soon_covers_the_horizon_before_the_breach_only():
    cargo = [5.0] * 40 + [1.0] * 15
    labels = breach_labels(truth(cargo), LabelConfig(min_breach_s=600, horizon_s=1800))
    assert labels["breach_soon"].tolist() == [False] * 10 + [True] * 30 + [False] * 15


def test_an_excursion_does_not_run_across_shipments():
    frame = pd.concat([truth([5.0] * 5 + [9.0] * 5, "s1"), truth([9.0] * 5 + [5.0] * 5, "s2")])
    assert not breach_labels(frame)["breach"].any()


def test_a_probe_fault_labels_its_device_only_while_it_acts():
    minutes = [T0 + pd.Timedelta(minutes=i) for i in range(6)]
    grid = pd.DataFrame({"shipment": "s1", "device": ["a"] * 6 + ["b"] * 6, "t": minutes * 2})
    faults = pd.DataFrame(
        {
            "kind": ["dropout", "door_left_open"],
            "device": ["a", None],
            "start": [T0 + pd.Timedelta(seconds=90), T0],
            "end": [T0 + pd.Timedelta(minutes=4), T0 + pd.Timedelta(minutes=6)],
        }
    )
    labels = sensor_fault_labels(grid, faults).set_index("device")["sensor_fault"]
    assert labels["a"].tolist() == [False, False, True, True, False, False]
    assert not labels["b"].any()
