"""Tiny boosters that follow the scoring contract (docs/scoring.md), for tests.

Trained in milliseconds on random feature rows with labels from simple rules,
so their predictions vary with the features as a trained model's would.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import xgboost

from analytics.features import FEATURES
from analytics.models import ModelVersion
from analytics.registry import model_version_register

DATA_SHA256 = hashlib.sha256(b"tiny test boosters").hexdigest()


def feature_rows(n: int = 400, *, seed: int = 0) -> pd.DataFrame:
    """Random feature rows indexed by (shipment, t), about 5 % of the values missing."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n, len(FEATURES))) * 3.0
    values[rng.random(values.shape) < 0.05] = np.nan
    index = pd.MultiIndex.from_arrays(
        [
            [f"s{i % 4}" for i in range(n)],
            pd.Timestamp("2026-01-05T00:00:00Z") + pd.to_timedelta(np.arange(n) * 300, unit="s"),
        ],
        names=["shipment", "t"],
    )
    return pd.DataFrame(values, index=index, columns=list(FEATURES))


def train_booster(params: dict, rows: pd.DataFrame, labels: np.ndarray) -> xgboost.Booster:
    """A small booster on ``rows`` (columns ``FEATURES``) that learns ``labels``."""
    matrix = xgboost.DMatrix(rows.to_numpy(), labels, feature_names=list(FEATURES))
    return xgboost.train(
        {"max_depth": 3, "nthread": 1, "seed": 0, **params}, matrix, num_boost_round=8
    )


def breach_booster(rows: pd.DataFrame | None = None) -> xgboost.Booster:
    """multi:softprob, classes normal / breach / sensor_fault."""
    rows = feature_rows() if rows is None else rows
    labels = np.where(
        rows["gap_to_max_c"] < -1.0, 1, np.where(rows["n_flagged"] > 1.0, 2, 0)
    ).astype(float)
    return train_booster({"objective": "multi:softprob", "num_class": 3}, rows, labels)


def breach_soon_booster(rows: pd.DataFrame | None = None) -> xgboost.Booster:
    """binary:logistic."""
    rows = feature_rows() if rows is None else rows
    labels = (rows["validated_slope_15m_c_per_h"] > 1.0).astype(float).to_numpy()
    return train_booster({"objective": "binary:logistic"}, rows, labels)


def register_both(
    *,
    breach_decision: dict | None = None,
    breach_soon_decision: dict | None = None,
    breach: xgboost.Booster | None = None,
    breach_soon: xgboost.Booster | None = None,
):
    """Register (and activate) one version of each task; (breach, breach_soon) versions.

    ``breach`` and ``breach_soon`` default to ``breach_booster()`` and
    ``breach_soon_booster()``.
    """
    common = {"features": list(FEATURES), "metrics": {}, "training_data_sha256": DATA_SHA256}
    breach_version = model_version_register(
        task=ModelVersion.Task.BREACH,
        booster=breach_booster() if breach is None else breach,
        params={"max_depth": 3, **({"decision": breach_decision} if breach_decision else {})},
        **common,
    )
    soon_version = model_version_register(
        task=ModelVersion.Task.BREACH_SOON,
        booster=breach_soon_booster() if breach_soon is None else breach_soon,
        params={
            "max_depth": 3,
            **({"decision": breach_soon_decision} if breach_soon_decision else {}),
        },
        **common,
    )
    return breach_version, soon_version
