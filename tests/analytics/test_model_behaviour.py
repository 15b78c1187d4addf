"""Behaviour of a trained model: what it says about hand-made situations.

One small model for the whole session (``trained`` in ``tests/conftest.py``):
simulating and training it takes a few seconds, too long to repeat per test.
"""

import numpy as np
import pandas as pd

from analytics.evaluation import model_flags
from analytics.features import FEATURES, features
from analytics.readings import readings_frame

T0 = pd.Timestamp("2026-02-02T08:00:00Z")
DEVICES = ("t-reefer", "t-logger", "t-logger-2")


def steady_readings(minutes=90, temp_c=5.0):
    """Three devices of a 2-8 °C shipment reading ``temp_c`` once a minute."""
    rows = [
        {
            "shipment": "s/0",
            "device": device,
            "ts": T0 + pd.Timedelta(minutes=m),
            "temp_c": temp_c,
            "ambient_c": 15.0,
            "door_open": False,
            "reefer_on": True,
            "setpoint_c": 5.0,
            "temp_min": 2.0,
            "temp_max": 8.0,
        }
        for m in range(minutes)
        for device in DEVICES
    ]
    return pd.DataFrame(rows)


def last_flag(trained, readings):
    rows = features(readings_frame(readings))
    flags = model_flags(
        rows, breach=trained.breach, breach_soon=trained.breach_soon, thresholds=trained.thresholds
    )
    return flags["flag"].iloc[-1]


def breach_soon_prob(trained, readings):
    rows = features(readings_frame(readings))
    return float(trained.breach_soon.inplace_predict(rows[list(FEATURES)])[-1])


def test_a_warming_trend_raises_breach_soon_over_a_flat_one(trained):
    flat = steady_readings()
    warming = steady_readings()
    # Every probe climbs 3 °C/h over the last hour, from 5 °C to 7.95 °C:
    # still in range, heading for the 8 °C limit.
    minutes = (warming["ts"] - T0).dt.total_seconds() / 60.0
    warming["temp_c"] = 5.0 + (minutes - 30.0).clip(lower=0.0) * 0.05
    assert warming["temp_c"].max() < 8.0
    assert breach_soon_prob(trained, warming) > breach_soon_prob(trained, flat)


def test_a_lone_spike_on_one_probe_is_not_a_breach(trained):
    readings = steady_readings()
    spike = (readings["device"] == "t-logger-2") & (readings["ts"] >= T0 + pd.Timedelta(minutes=86))
    readings.loc[spike, "temp_c"] = 30.0
    assert last_flag(trained, readings) not in ("breach", "breach_soon")


def test_the_whole_load_out_of_range_is_a_breach(trained):
    readings = steady_readings(temp_c=12.0)
    assert last_flag(trained, readings) == "breach"


def test_the_same_input_gives_the_same_probabilities(trained):
    rows = features(readings_frame(steady_readings()))
    first = trained.breach.inplace_predict(rows)
    again = trained.breach.inplace_predict(rows.copy())
    np.testing.assert_array_equal(first, again)
