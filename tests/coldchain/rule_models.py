"""Registered models that learned simple, known rules, so tests can say which flag a
situation must get and check what the platform does with it.

* breach: the validated temperature is more than 0.5 °C above the range;
* sensor fault (else): at least one probe disagrees with the quorum;
* breach soon: the validated temperature rises faster than 2 °C/h over
  15 min while it is still within 0.5 °C of the upper limit.
"""

from __future__ import annotations

import numpy as np

from tests.analytics.boosters import feature_rows, register_both, train_booster

BREACH_ABOVE_C = 0.5
RISING_C_PER_H = 2.0


def register_rule_models():
    """Register and activate both rule models; (breach, breach_soon) versions."""
    rows = feature_rows(3000, seed=11)
    above = rows["gap_to_max_c"] < -BREACH_ABOVE_C
    disagreeing = rows["n_flagged"] >= 0.5
    rising = (rows["validated_slope_15m_c_per_h"] > RISING_C_PER_H) & ~above
    breach = train_booster(
        {"objective": "multi:softprob", "num_class": 3},
        rows,
        np.where(above, 1, np.where(disagreeing, 2, 0)).astype(float),
    )
    breach_soon = train_booster({"objective": "binary:logistic"}, rows, rising.astype(float))
    return register_both(breach=breach, breach_soon=breach_soon)
