"""The event report on a hand-made timeline with known figures."""

import pandas as pd

from analytics.evaluation import event_report

T0 = pd.Timestamp("2026-01-05T00:00:00Z")
HOURS = 10


def test_recall_lead_time_false_alarms_and_fault_alarms_on_a_known_timeline():
    minutes = pd.RangeIndex(HOURS * 60)
    t = T0 + pd.to_timedelta(minutes, unit="min")
    # One shipment of 10 h; breaches at 120-160 min and 400-420 min.
    breach = ((minutes >= 120) & (minutes < 160)) | ((minutes >= 400) & (minutes < 420))
    labels = pd.DataFrame({"shipment": "a/0", "t": t, "breach": breach})
    # A probe fault at 250-270 min.
    sensor = pd.DataFrame(
        {
            "shipment": "a/0",
            "device": "x",
            "t": t,
            "sensor_fault": (minutes >= 250) & (minutes < 270),
        }
    )
    instants = t[::5]
    flag = pd.Series("ok", index=range(len(instants)))
    at = {int(m): i for i, m in enumerate(minutes[::5])}
    flag[at[100]] = "breach_soon"  # 20 min before the first breach
    flag[at[105]] = "breach"
    flag[at[255]] = "breach"  # during the fault, no breach near: a false alarm
    flag[at[260]] = "sensor_fault"
    flag[at[500]] = "sensor_fault"  # no fault there
    # The second breach is missed.
    flags = pd.DataFrame({"shipment": "a/0", "t": instants, "flag": flag.to_numpy()})

    report = event_report(flags, labels, sensor, horizon_s=1800, linger_s=1800)

    assert report["breach_events"] == 2
    assert report["breach_recall"] == 0.5
    assert report["lead_time_median_min"] == 20.0
    assert report["alarm_events"] == 2
    assert report["false_alarm_events"] == 1
    assert report["false_alarms_per_1000_truck_hours"] == 100.0  # 1 in 10 h
    assert report["sensor_fault_events"] == 1
    assert report["sensor_fault_events_with_breach_alarm_share"] == 1.0
    assert report["sensor_fault_flag_events"] == 2
    assert report["sensor_fault_flag_precision"] == 0.5


def test_breaches_at_loading_are_reported_apart_from_mid_trip_breaches():
    minutes = pd.RangeIndex(4 * 60)
    t = T0 + pd.to_timedelta(minutes, unit="min")
    # Shipment a/0 is out of range from its first minute (a warm load);
    # b/0 breaches at 120-160 min, warned 25 min ahead.
    labels = pd.concat(
        [
            pd.DataFrame({"shipment": "a/0", "t": t, "breach": minutes < 30}),
            pd.DataFrame({"shipment": "b/0", "t": t, "breach": (minutes >= 120) & (minutes < 160)}),
        ]
    )
    sensor = labels[["shipment", "t"]].assign(device="x", sensor_fault=False)
    instants = t[::5]
    flag_a = ["breach" if m == 5 else "ok" for m in minutes[::5]]
    flag_b = ["breach_soon" if m == 95 else "ok" for m in minutes[::5]]
    flags = pd.concat(
        [
            pd.DataFrame({"shipment": "a/0", "t": instants, "flag": flag_a}),
            pd.DataFrame({"shipment": "b/0", "t": instants, "flag": flag_b}),
        ]
    )

    report = event_report(flags, labels, sensor, horizon_s=1800, linger_s=1800)

    assert report["breach_events"] == 2
    assert report["lead_time_median_min"] == 10.0  # -5 and 25 min
    assert report["at_loading_breach_events"] == 1
    assert report["mid_trip_breach_events"] == 1
    assert report["mid_trip_breach_recall"] == 1.0
    assert report["mid_trip_lead_time_median_min"] == 25.0
