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


def failing_reefer_readings(minutes=40):
    """A reefer probe and two loggers at 5 °C; from minute 21 the air is at 25 °C and
    the loggers, between the pallets, read 7 and 9 °C (part cargo, part air)."""
    after = {"t-reefer": 25.0, "t-logger": 7.0, "t-logger-2": 9.0}
    frame = readings(minutes=minutes, devices=tuple(after))
    late = frame["ts"] > T0 + pd.Timedelta(minutes=20)
    frame.loc[late, "temp_c"] = frame.loc[late, "device"].map(after)
    return frame


def test_the_air_aware_features_bound_the_cargo_from_the_coldest_logger_and_the_air():
    row = row_at(features(failing_reefer_readings()), 30)
    assert row["coldest_logger_gap_to_max_c"] == 8.0 - 7.0
    # The cargo is at most (7 - 0.1 * 25) / 0.9 = 5 °C: 3 °C below the limit.
    assert math.isclose(row["air_corrected_gap_to_max_c"], 3.0)
    assert row["logger_spread_c"] == 2.0
    # The air last agreed with the cargo (5 °C) at minute 20, and has stood
    # 20 °C above it for the 10 minutes since.
    assert row["settled_cargo_gap_to_max_c"] == 3.0
    assert row["since_settled_min"] == 10.0
    assert math.isclose(row["air_heat_since_settled_c_h"], 20.0 * 10 / 60)


def test_the_air_aware_features_at_t_use_no_reading_after_t():
    full = failing_reefer_readings()
    cut = T0 + pd.Timedelta(minutes=30)
    expected = features(full).loc[pd.IndexSlice[:, :cut], :]
    pd.testing.assert_frame_equal(features(full[full["ts"] <= cut]), expected)


def test_each_logger_learns_its_share_of_the_air_from_a_swing_and_gives_back_the_cargo():
    # At minute 21 the air jumps 20 °C and the loggers follow by 2 and 4 °C:
    # shares of 0.1 and 0.2 of the air, over a cargo that stays at 5 °C.
    row = row_at(features(failing_reefer_readings()), 30)
    assert math.isclose(row["cargo_estimate_gap_to_max_c"], 3.0, abs_tol=0.05)
    assert math.isclose(row["cargo_estimate_coldest_gap_to_max_c"], 3.0, abs_tol=0.05)
    assert row["cargo_estimate_spread_c"] < 0.1


def with_noise(frame):
    """Readings alternating by 0.01 °C, as a live probe's last digit does."""
    return frame.assign(temp_c=frame["temp_c"] + 0.01 * (frame.index % 2))


def test_an_air_probe_spike_that_no_logger_follows_teaches_no_share():
    spiked = with_noise(failing_reefer_readings())
    spike = (spiked["device"] == "t-reefer") & (spiked["ts"] == T0 + pd.Timedelta(minutes=31))
    spiked.loc[spike, "temp_c"] = 60.0
    expected = row_at(features(with_noise(failing_reefer_readings())), 40)
    row = row_at(features(spiked), 40)
    assert row["cargo_estimate_gap_to_max_c"] == expected["cargo_estimate_gap_to_max_c"]


def test_without_a_swing_the_share_is_the_prior():
    # The air stands 20 °C above the cargo from the start: nothing to learn from,
    # so each logger is read with the middle share, 0.175.
    frame = failing_reefer_readings()
    frame = frame[frame["ts"] > T0 + pd.Timedelta(minutes=20)]
    row = row_at(features(frame), 30)
    assert math.isclose(row["cargo_estimate_gap_to_max_c"], 8.0 - (8.0 - 0.175 * 25) / 0.825)


def test_the_minutes_to_the_limit_follow_the_cargo_trend():
    # Air and loggers agree and warm 3 °C per hour from 5 °C: at minute 40 the
    # cargo is at 7 °C, 1 °C below its limit, which it reaches in 20 minutes.
    frame = readings(minutes=40, slope_per_min=0.05, devices=("t-reefer", "t-logger", "t-logger-2"))
    row = row_at(features(frame), 40)
    assert math.isclose(row["cargo_estimate_slope_30m_c_per_h"], 3.0)
    assert math.isclose(row["cargo_estimate_minutes_to_max"], 20.0)
    assert (
        row_at(features(readings(devices=("t-reefer", "t-logger"))), 40)[
            "cargo_estimate_minutes_to_max"
        ]
        == 600.0
    )


def test_a_logger_that_holds_one_value_while_the_air_swings_gives_no_cargo_estimate():
    # t-logger-2 stops at 5 °C from minute 15: it misses the air's swing at
    # minute 21, and ten minutes on it is taken for stuck.
    frame = with_noise(failing_reefer_readings())
    stuck = (frame["device"] == "t-logger-2") & (frame["ts"] > T0 + pd.Timedelta(minutes=15))
    frame.loc[stuck, "temp_c"] = 5.0
    row = row_at(features(frame), 30)
    assert row["n_stuck_probes"] == 1.0
    assert row["cargo_estimate_spread_c"] == 0.0  # the one live logger's estimate alone
    assert math.isclose(row["cargo_estimate_gap_to_max_c"], 3.0, abs_tol=0.1)


def test_an_air_probe_that_holds_one_value_while_the_loggers_move_gives_no_cargo_estimate():
    frame = with_noise(failing_reefer_readings())
    stuck = (frame["device"] == "t-reefer") & (frame["ts"] > T0 + pd.Timedelta(minutes=15))
    frame.loc[stuck, "temp_c"] = 5.0
    row = row_at(features(frame), 30)
    assert row["n_stuck_probes"] == 1.0
    assert math.isnan(row["cargo_estimate_gap_to_max_c"])


def test_probes_holding_steady_with_nothing_moving_are_not_stuck():
    frame = failing_reefer_readings()  # not a digit moves before minute 21
    row = row_at(features(frame[frame["ts"] <= T0 + pd.Timedelta(minutes=20)]), 20)
    assert row["n_stuck_probes"] == 0.0


def test_a_logger_drifting_while_the_air_holds_steady_is_set_aside():
    # Air and loggers agree at 5 °C; from minute 10 t-logger-2 drifts 1.2 °C
    # per hour, as no load can with the air standing at its temperature.
    frame = with_noise(readings(minutes=100, devices=("t-reefer", "t-logger", "t-logger-2")))
    drifting = frame["device"] == "t-logger-2"
    minutes = (frame["ts"] - T0).dt.total_seconds() / 60
    frame.loc[drifting, "temp_c"] += (minutes[drifting] - 10).clip(lower=0) * 0.02
    row = row_at(features(frame), 100)
    assert row["n_implausible_loggers"] == 1.0
    assert math.isclose(row["cargo_plausible_gap_to_max_c"], 3.0, abs_tol=0.05)
    assert row["cargo_estimate_gap_to_max_c"] < 2.5  # the drift drags the plain mean


def test_a_load_warming_with_the_air_is_plausible():
    frame = failing_reefer_readings(minutes=100)
    # From minute 21 the cargo warms 1.2 °C per hour under the warm air, and
    # the loggers (shares 0.1 and 0.2) follow it.
    minutes = (frame["ts"] - T0).dt.total_seconds() / 60
    loggers = frame["device"] != "t-reefer"
    share = frame["device"].map({"t-logger": 0.9, "t-logger-2": 0.8})
    frame.loc[loggers, "temp_c"] += ((minutes - 21).clip(lower=0) * 0.02 * share)[loggers]
    row = row_at(features(with_noise(frame)), 100)
    assert row["n_implausible_loggers"] == 0.0
