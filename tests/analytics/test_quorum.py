"""Oracle quorum: agreement, disagreement, no quorum, and a lone probe never decides."""

import math

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.quorum import aligned_readings, quorum

T0 = pd.Timestamp("2026-01-05T00:00:00Z")


def one_step(**temps):
    """Aligned readings of one shipment at one instant: device name -> temperature."""
    return pd.DataFrame(
        {
            "shipment": "s1",
            "t": T0,
            "device": list(temps),
            "temp_c": [float(v) for v in temps.values()],
        }
    )


def flagged(result):
    return set(result.devices.loc[result.devices["flagged"], "device"])


def test_agreeing_devices_give_their_mean():
    result = quorum(one_step(a=4.0, b=4.6, c=4.2))
    step = result.steps.iloc[0]
    assert step["quorum"]
    assert math.isclose(step["validated_c"], 4.6 / 3 + 4.0 / 3 + 4.2 / 3)
    assert flagged(result) == set()


def test_a_device_that_disagrees_with_the_group_is_flagged_and_ignored():
    result = quorum(one_step(a=4.0, b=4.3, c=25.0))
    step = result.steps.iloc[0]
    assert step["quorum"]
    assert math.isclose(step["validated_c"], 4.15)
    assert flagged(result) == {"c"}
    assert step["n_flagged"] == 1


def test_two_devices_that_disagree_have_no_quorum_and_no_value():
    step = quorum(one_step(a=4.0, b=9.0)).steps.iloc[0]
    assert not step["quorum"]
    assert math.isnan(step["validated_c"])


def test_two_equal_groups_are_no_quorum():
    step = quorum(one_step(a=4.0, b=4.1, c=9.0, d=9.1)).steps.iloc[0]
    assert not step["quorum"]


def test_a_stale_device_does_not_count():
    readings = pd.DataFrame(
        {
            "shipment": "s1",
            "device": ["a", "b", "a", "b"],
            "ts": [T0, T0, T0 + pd.Timedelta(minutes=10), T0 + pd.Timedelta(minutes=2)],
            "temp_c": [4.0, 4.0, 4.0, 4.0],
        }
    )
    aligned = aligned_readings(readings, step_s=60, max_age_s=180)
    at_ten = aligned[aligned["t"] == T0 + pd.Timedelta(minutes=10)]
    assert at_ten.set_index("device")["temp_c"].isna().to_dict() == {"a": False, "b": True}
    assert not quorum(at_ten).steps.iloc[0]["quorum"]


@settings(max_examples=300, deadline=None)
@given(
    honest=st.lists(st.floats(2.0, 3.0), min_size=2, max_size=4),
    rogue=st.floats(-60, 60, allow_nan=False),
)
def test_a_single_flagged_probe_never_produces_an_out_of_range_value(honest, rogue):
    # Honest devices agree within 1 C, inside a 2..8 C range; the rogue reads anything.
    temps = {f"h{i}": value for i, value in enumerate(honest)} | {"rogue": rogue}
    result = quorum(one_step(**temps), k=2, tolerance_c=1.0)
    value = result.steps.iloc[0]["validated_c"]
    if "rogue" in flagged(result):
        assert 2.0 <= value <= 8.0
        assert math.isclose(value, sum(honest) / len(honest))
    assert math.isnan(value) or 2.0 - 1.0 <= value <= 8.0 + 1.0
