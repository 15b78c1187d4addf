"""From model probabilities to one flag per evaluated instant.

The rule scoring and evaluation share, so that the report measures exactly
what the platform does. The thresholds come from the registered versions'
``params["decision"]``, chosen on validation shipments by ``analytics.training``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Class order of the breach model's probabilities (multi:softprob, num_class=3).
BREACH_CLASSES = ("normal", "breach", "sensor_fault")
NORMAL, BREACH, SENSOR_FAULT = range(3)
FLAGS = ("ok", "breach_soon", "breach", "sensor_fault")
# What calls for action on the cargo: both count as a breach alarm in the report.
BREACH_ALARM_FLAGS = frozenset({"breach", "breach_soon"})


def decision_flags(
    *,
    breach_prob: np.ndarray,
    sensor_fault_prob: np.ndarray,
    breach_soon_prob: np.ndarray,
    thresholds: dict[str, float],
) -> pd.Series:
    """``breach`` if its probability reaches its threshold; else ``sensor_fault``;
    else ``breach_soon``; else ``ok``.

    A breach outranks a sensor fault: losing cargo costs more than checking a probe.
    """
    flags = np.select(
        [
            np.asarray(breach_prob) >= thresholds["breach"],
            np.asarray(sensor_fault_prob) >= thresholds["sensor_fault"],
            np.asarray(breach_soon_prob) >= thresholds["breach_soon"],
        ],
        ["breach", "sensor_fault", "breach_soon"],
        default="ok",
    )
    return pd.Series(flags, dtype="string")
