"""The event report on a hand-made timeline with known figures."""

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.evaluation import event_report, event_truth, events_grade

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


def fault_timeline():
    """Shipment a/0, 10 h without a breach, probe faults at 250-270 and 400-420 min."""
    minutes = pd.RangeIndex(HOURS * 60)
    t = T0 + pd.to_timedelta(minutes, unit="min")
    labels = pd.DataFrame({"shipment": "a/0", "t": t, "breach": False})
    faulty = ((minutes >= 250) & (minutes < 270)) | ((minutes >= 400) & (minutes < 420))
    sensor = pd.DataFrame({"shipment": "a/0", "device": "x", "t": t, "sensor_fault": faulty})
    return labels, sensor


def flags_at(alarms, shipment="a/0"):
    """A flag every 5 minutes of the timeline: ``alarms`` maps minutes to flags, else ok."""
    minutes = range(0, HOURS * 60, 5)
    return pd.DataFrame(
        {
            "shipment": shipment,
            "t": [T0 + pd.Timedelta(minutes=m) for m in minutes],
            "flag": [alarms.get(m, "ok") for m in minutes],
        }
    )


def test_a_fault_caused_the_alarm_only_if_the_twin_does_not_ring_within_the_linger():
    labels, sensor = fault_timeline()
    # A false alarm during each probe fault.
    flags = flags_at({255: "breach", 405: "breach_soon"})
    twin = pd.concat(
        [
            # Without the faults: an alarm 35 min after the first (too far to be
            # the same one) and 30 min after the second (the same, give or take).
            flags_at({290: "breach", 435: "breach_soon"}),
            # Another shipment's alarm at the very instant is not this one's.
            flags_at({255: "breach"}, shipment="b/0"),
        ]
    )

    report = event_report(flags, labels, sensor, twin_flags=twin, linger_s=1800)
    without_twin = event_report(flags, labels, sensor, linger_s=1800)

    assert report["sensor_fault_events"] == 2
    assert report["sensor_fault_events_with_breach_alarm_share"] == 1.0
    # The second alarm rings on the twin too: the equipment, not the probe, raised it.
    assert report["sensor_fault_events_causing_breach_alarm_share"] == 0.5
    assert without_twin["sensor_fault_events_causing_breach_alarm_share"] is None
    assert without_twin["sensor_fault_events_with_breach_alarm_share"] == 1.0


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(range(0, HOURS * 60, 5)),
        st.sampled_from(["breach", "breach_soon", "sensor_fault", "ok"]),
    )
)
def test_a_twin_that_never_rings_leaves_every_alarm_to_the_faults_and_an_identical_one_none(
    alarms,
):
    truth = event_truth(*fault_timeline())
    flags = flags_at(alarms)

    alone = events_grade(flags, truth, twin_flags=flags_at({}))
    same = events_grade(flags, truth, twin_flags=flags)

    co_occurrence = alone["sensor_fault_events_with_breach_alarm_share"]
    assert alone["sensor_fault_events_causing_breach_alarm_share"] == co_occurrence
    assert same["sensor_fault_events_causing_breach_alarm_share"] == 0.0
