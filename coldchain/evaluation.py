"""Evaluate a shipment: score the instants not yet assessed, store and anchor the assessments.

One assessment per instant of the feature grid (every ``EVERY_S`` = 5 min on
the clock: 12 per shipment per hour), from the instant after the latest
assessment onwards, each with the models' probabilities, flag, top SHAP
factors, validated cargo temperature, the devices outside the quorum, the
hash of its input window and the ledger indices of its newest readings. Each
is a platform-signed ``assessment`` entry, appended in the transaction that
stores it; the alerts follow (coldchain.alerts). Formats: docs/evaluation.md.

An instant is assessed only when its input is complete enough to be final
(assessments are never rewritten): every device has reported past it, or
``EVALUATION_SETTLE_S`` has passed; and every reading up to it has its
ledger index (the sequencer seals every second).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from analytics.explain import disagreeing_probes, explain
from analytics.features import EVERY_S
from analytics.models import ModelVersion
from analytics.readings import COLUMNS
from analytics.registry import ModelRegistryError
from analytics.scoring import input_window_sha256s, score_readings
from analytics.selectors import ScoringModels, ScoringModelsError, scoring_models_get
from coldchain.alerts import alerts_follow
from coldchain.anchoring import ASSESSMENT_KIND, assessment_claims, entry_instant
from coldchain.cargo import (
    LEDGER_INDEX,
    QUORUM_MAX_AGE_S,
    attachment_filter,
    shipment_readings,
    validated_temperature,
)
from coldchain.models import Assessment, Shipment
from devices.models import Reading
from ledger.platform_entries import platform_entry_sign
from ledger.services import entries_append

logger = logging.getLogger(__name__)

STEP = pd.Timedelta(seconds=EVERY_S)


@dataclass(frozen=True)
class EvaluationResult:
    shipment: str  # reference
    assessments: int = 0  # stored by this run
    alerts_opened: int = 0
    alerts_closed: int = 0
    more: bool = False  # instants ready beyond this run's cap: evaluate again now
    retry_at: datetime | None = None  # the next instant becomes ready then
    skipped: str = ""  # why nothing was scored (no active model), else empty


_models_cache: dict[tuple[int, ...], ScoringModels] = {}


def active_scoring_models() -> ScoringModels:
    """The active models, loaded once per process per pair of active versions.

    Checking which versions are active is one small query; loading and
    hash-checking the boosters again on every evaluation would dominate it.
    """
    key = tuple(
        ModelVersion.objects.filter(active=True).order_by("task").values_list("pk", flat=True)
    )
    cached = _models_cache.get(key)
    if cached is not None:
        return cached
    models = scoring_models_get()
    _models_cache.clear()
    _models_cache[(models.breach.pk, models.breach_soon.pk)] = models
    return models


def _last_assessed(shipment: Shipment) -> pd.Timestamp | None:
    last = (
        Assessment.objects.filter(shipment=shipment)
        .order_by("-evaluated_at")
        .values_list("evaluated_at", flat=True)
        .first()
    )
    return None if last is None else pd.Timestamp(last)


def _ready_until(readings: pd.DataFrame, now: datetime) -> tuple[pd.Timestamp, bool]:
    """The latest instant whose input is final, and whether unsealed readings limit it.

    Final: every device still reporting has reported past it, or the settle
    time has passed since it. A device silent for the settle time before the
    shipment's newest reading (detached, dead) no longer holds instants back.
    """
    settle = pd.Timedelta(seconds=settings.EVALUATION_SETTLE_S)
    latest = readings.groupby("device")["ts"].max()
    reporting = latest[latest >= latest.max() - settle]
    ready = max(pd.Timestamp(now) - settle, reporting.min())
    unsealed = readings.loc[readings[LEDGER_INDEX].isna(), "ts"]
    if not unsealed.empty and unsealed.min() <= ready:
        return unsealed.min() - pd.Timedelta(milliseconds=1), True
    return ready, False


def _newest_reading_indices(readings: pd.DataFrame, instants: pd.Index) -> dict:
    """Per instant ``t``: the sorted ledger indices of the readings with ts in (t - step, t]."""
    bucket = readings["ts"].dt.ceil(STEP)
    recent = readings[bucket.isin(instants)]
    grouped = recent[LEDGER_INDEX].astype("int64").groupby(bucket[recent.index])
    return {t: sorted(int(i) for i in indices) for t, indices in grouped}


def _json_number(value: float) -> float | None:
    return None if value is None or np.isnan(value) else float(value)


def _factors_json(factors: list) -> list[dict]:
    return [
        {
            "feature": factor.feature,
            "value": _json_number(factor.value),
            "contribution": float(factor.contribution),
            "text": factor.text,
        }
        for factor in factors
    ]


def _assessments(
    shipment: Shipment, readings: pd.DataFrame, instants: pd.Index, models: ScoringModels
) -> list[Assessment]:
    """Unsaved assessments of ``instants`` (ascending), scored and explained."""
    frame = readings[list(COLUMNS)]
    table, scores = score_readings(
        frame,
        breach_model=models.breach_model,
        breach_soon_model=models.breach_soon_model,
        thresholds=models.thresholds,
    )
    keys = pd.MultiIndex.from_arrays(
        [[shipment.reference] * len(instants), instants], names=["shipment", "t"]
    )
    table, scores = table.loc[keys], scores.loc[keys]
    # The quorum at t uses readings from t - max_age on: no need to redo the whole trip.
    recent = frame[frame["ts"] >= instants[0] - pd.Timedelta(seconds=QUORUM_MAX_AGE_S)]
    factors = explain(
        table,
        scores,
        breach_model=models.breach_model,
        breach_soon_model=models.breach_soon_model,
        probes=disagreeing_probes(recent),
    )
    steps = validated_temperature(recent).set_index("t")["flagged_devices"]
    hashes = input_window_sha256s(frame, shipment=shipment.reference, instants=list(instants))
    indices = _newest_reading_indices(readings, instants)
    created_at = entry_instant()
    return [
        Assessment(
            shipment=shipment,
            evaluated_at=t.to_pydatetime(),
            breach_model=models.breach,
            breach_soon_model=models.breach_soon,
            input_sha256=hashes[i],
            breach_prob=float(scores["breach_prob"].iloc[i]),
            breach_soon_prob=float(scores["breach_soon_prob"].iloc[i]),
            sensor_fault_prob=float(scores["sensor_fault_prob"].iloc[i]),
            flag=str(scores["flag"].iloc[i]),
            validated_c=_json_number(table["validated_c"].iloc[i]),
            flagged_devices=list(steps.get(t, ())),
            top_factors=_factors_json(factors.iloc[i]),
            reading_indices=indices.get(t, []),
            created_at=created_at,
        )
        for i, t in enumerate(instants)
    ]


def _store(shipment: Shipment, assessments: list[Assessment]) -> tuple[list[Assessment], int, int]:
    """Store the assessments not stored meanwhile, anchored, and let the alerts follow.

    The shipment's row lock serialises evaluations of one shipment: a second
    worker that scored the same instants finds them stored and adds nothing.
    """
    with transaction.atomic():
        Shipment.objects.select_for_update().filter(pk=shipment.pk).first()
        last = _last_assessed(shipment)
        fresh = [a for a in assessments if last is None or a.evaluated_at > last]
        if not fresh:
            return [], 0, 0
        entry_ids = entries_append(
            items=[
                (
                    platform_entry_sign(
                        kind=ASSESSMENT_KIND,
                        claims=assessment_claims(
                            a,
                            shipment_reference=shipment.reference,
                            breach_model=a.breach_model,
                            breach_soon_model=a.breach_soon_model,
                        ),
                        at=a.created_at,
                    ),
                    ASSESSMENT_KIND,
                )
                for a in fresh
            ]
        )
        for assessment, entry_id in zip(fresh, entry_ids, strict=True):
            assessment.ledger_entry_id = entry_id
        stored = Assessment.objects.bulk_create(fresh)
        changes = alerts_follow(shipment.pk, stored)
    return stored, len(changes.opened), len(changes.closed)


def shipment_evaluate(shipment: Shipment, *, now: datetime | None = None) -> EvaluationResult:
    """Assess the shipment's instants that are ready and not yet assessed (docs/evaluation.md).

    Idempotent: instants already assessed are never assessed again. Without
    an active model nothing is recorded and a warning is logged.
    """
    now = now or timezone.now()
    reference = shipment.reference
    last = _last_assessed(shipment)
    newest = Reading.objects.filter(attachment_filter(shipment)).aggregate(newest=Max("ts"))
    if newest["newest"] is None or (
        last is not None and pd.Timestamp(newest["newest"]).floor(STEP) <= last
    ):
        return EvaluationResult(reference)  # no instant after the last assessed one has data
    try:
        models = active_scoring_models()
    except (ScoringModelsError, ModelRegistryError) as error:
        logger.warning("shipment %s not evaluated: %s", reference, error)
        return EvaluationResult(reference, skipped=str(error))

    readings = shipment_readings(shipment)
    ready_until, waiting_for_seal = _ready_until(readings, now)
    first_instant = readings["ts"].min().ceil(STEP)
    if last is not None:
        first_instant = max(first_instant, last + STEP)
    candidates = pd.date_range(first_instant, readings["ts"].max().floor(STEP), freq=STEP)
    ready = candidates[candidates <= ready_until]
    retry_at = None
    if len(ready) < len(candidates):
        waiting = candidates[len(ready)] + pd.Timedelta(seconds=settings.EVALUATION_SETTLE_S)
        retry_at = now if waiting_for_seal else waiting.to_pydatetime()
    cap = settings.EVALUATION_MAX_INSTANTS
    instants = ready[:cap]
    if len(instants) == 0:
        return EvaluationResult(reference, retry_at=retry_at)

    stored, opened, closed = _store(shipment, _assessments(shipment, readings, instants, models))
    return EvaluationResult(
        reference,
        assessments=len(stored),
        alerts_opened=opened,
        alerts_closed=closed,
        more=len(ready) > cap,
        retry_at=retry_at,
    )
