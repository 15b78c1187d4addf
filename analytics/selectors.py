"""Reads from the model registry for scoring: which boosters and thresholds to score with."""

from __future__ import annotations

from typing import NamedTuple

import xgboost

from analytics.features import FEATURES
from analytics.models import ModelVersion
from analytics.registry import model_version_active, model_version_load
from analytics.scoring import decision_thresholds

# One thread per prediction: scoring runs in worker processes (one per core),
# and a one-shipment prediction that waits for a second OpenMP thread on a
# busy core took 50 ms instead of 2 (bench/analytics_bench.py, docs/benchmarks.md).
SCORING_THREADS = 1


def _load(version: ModelVersion) -> xgboost.Booster:
    booster = model_version_load(version=version)
    booster.set_param({"nthread": SCORING_THREADS})
    return booster


class ScoringModelsError(ValueError):
    """No usable model for a task; the message says what to do."""


class ScoringModels(NamedTuple):
    breach: ModelVersion
    breach_soon: ModelVersion
    breach_model: xgboost.Booster
    breach_soon_model: xgboost.Booster
    thresholds: dict[str, float]  # of the flag rule, from the versions' params


def _version(task: str, number: int | None) -> ModelVersion:
    if number is None:
        version = model_version_active(task=task)
        if version is None:
            raise ScoringModelsError(f"no active {task} model: run manage.py train_model")
    else:
        version = ModelVersion.objects.filter(task=task, version=number).first()
        if version is None:
            raise ScoringModelsError(f"no {task} model version {number} is registered")
    if version.features != list(FEATURES):
        # An older feature list: its columns would be fed the wrong values.
        raise ScoringModelsError(
            f"model {version} was trained on other features than analytics.features.FEATURES"
        )
    return version


def scoring_models_get(
    *, breach_version: int | None = None, breach_soon_version: int | None = None
) -> ScoringModels:
    """The given registered versions, or each task's active one, loaded and hash-checked."""
    breach = _version(ModelVersion.Task.BREACH, breach_version)
    breach_soon = _version(ModelVersion.Task.BREACH_SOON, breach_soon_version)
    return ScoringModels(
        breach=breach,
        breach_soon=breach_soon,
        breach_model=_load(breach),
        breach_soon_model=_load(breach_soon),
        thresholds=decision_thresholds(
            breach_params=breach.params, breach_soon_params=breach_soon.params
        ),
    )
