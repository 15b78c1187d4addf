"""The feature function on hand-made readings: known values, and no look-ahead."""

import math

import pandas as pd

from analytics.features import FEATURES, features

T0 = pd.Timestamp("2026-01-05T00:00:00Z")


def readings(minutes=60, slope_per_min=0.0, door_open_at=(), devices=("a", "b")):
    """Two probes reading 5 C plus a linear trend, one reading per minute."""
    rows = []
    for device in devices:
        for i in range(minutes + 1):
            rows.append(
                {
                    "shipment": "s1",
                    "device": device,
                    "ts": T0 + pd.Timedelta(minutes=i),
                    "temp_c": 5.0 + slope_per_min * i,
                    "door_open": (i in door_open_at) if device == "a" else pd.NA,
                    "temp_min": 2.0,
                    "temp_max": 8.0,
                    "setpoint_c": 5.0,
                }
            )
    frame = pd.DataFrame(rows)
    for name in ("ambient_c", "humidity_pct", "reefer_on"):
        frame[name] = pd.NA
    return frame.astype({"door_open": "boolean"})


def row_at(table, minute):
    return table.loc[("s1", T0 + pd.Timedelta(minutes=minute))]


def test_rows_every_five_minutes_with_every_feature():
    table = features(readings())
    assert tuple(table.columns) == FEATURES
    assert len(table) == 13


def test_a_linear_trend_gives_its_slope_in_degrees_per_hour():
    row = row_at(features(readings(slope_per_min=0.05)), 30)
    assert math.isclose(row["probe_slope_max_15m_c_per_h"], 3.0)
    assert math.isclose(row["validated_slope_15m_c_per_h"], 3.0)
    assert math.isclose(row["gap_to_max_c"], 8.0 - 6.5)


def test_time_since_the_door_opened_counts_from_the_opening():
    row = row_at(features(readings(door_open_at=range(10, 14))), 25)
    assert row["since_door_opened_min"] == 15.0
    assert row["door_open"] == 0.0


def test_time_above_range_accumulates_from_the_validated_temperature():
    table = features(readings(minutes=60, slope_per_min=0.1))  # above 8 C after minute 30
    assert row_at(table, 30)["above_range_min"] == 0.0
    assert row_at(table, 40)["above_range_min"] == 10.0


def test_a_feature_at_t_uses_no_reading_after_t():
    full = readings(minutes=60, slope_per_min=0.05)
    cut = T0 + pd.Timedelta(minutes=30)
    future_changed = full.copy()
    future_changed.loc[future_changed["ts"] > cut, "temp_c"] = 40.0
    expected = features(full).loc[pd.IndexSlice[:, :cut], :]
    got = features(future_changed).loc[pd.IndexSlice[:, :cut], :]
    pd.testing.assert_frame_equal(got, expected)
    truncated = features(full[full["ts"] <= cut])
    pd.testing.assert_frame_equal(truncated, expected)
