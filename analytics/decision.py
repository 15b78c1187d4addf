"""From model probabilities to one flag per evaluated instant.

The rule scoring and evaluation share, so that the report measures exactly
what the platform does. The thresholds and the persistence come from the
registered versions' ``params["decision"]``, chosen on validation shipments
by ``analytics.training``.
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
    shipments: np.ndarray | None = None,
) -> pd.Series:
    """``breach`` if its probability reaches its threshold; else ``sensor_fault``;
    else ``breach_soon``; else ``ok``.

    A breach outranks a sensor fault: losing cargo costs more than checking a probe.
    With ``thresholds["persistence"]`` = n > 1, a breach alarm (``breach`` or
    ``breach_soon``) is raised only at the n-th consecutive evaluated instant
    of a shipment that calls for one (the rows are those instants in time
    order; ``shipments`` names each row's shipment); before that the instant
    gets the flag it would have without the alarm. A failure that the air
    shows for a few minutes and the cargo never feels then raises nothing.
    A breach-soon probability at or above ``thresholds["breach_soon_at_once"]``
    (when set) raises its alarm at once: waiting out a call that sure only
    costs warning time.
    """
    breach_prob, breach_soon_prob = np.asarray(breach_prob), np.asarray(breach_soon_prob)
    fault = np.asarray(sensor_fault_prob) >= thresholds["sensor_fault"]
    breach = breach_prob >= thresholds["breach"]
    soon = breach_soon_prob >= thresholds["breach_soon"]
    persistence = int(thresholds.get("persistence", 1))
    if persistence > 1:
        if shipments is None:
            raise ValueError("a persistence above 1 needs each row's shipment")
        alarm = pd.Series(breach | (~fault & soon))
        shipment = pd.Series(np.asarray(shipments))
        run = (alarm.ne(alarm.shift()) | shipment.ne(shipment.shift())).cumsum()
        held = alarm.groupby(run).cumsum().to_numpy() >= persistence
        at_once = thresholds.get("breach_soon_at_once")
        if at_once is not None:
            held |= (breach_soon_prob >= at_once) & ~fault
        breach, soon = breach & held, soon & held
    flags = np.select(
        [breach, fault, soon], ["breach", "sensor_fault", "breach_soon"], default="ok"
    )
    return pd.Series(flags, dtype="string")
