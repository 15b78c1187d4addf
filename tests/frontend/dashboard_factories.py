"""Assessments and alerts as scoring would write them, for the dashboard's tests."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from analytics.features import FEATURES
from analytics.models import ModelVersion
from analytics.registry import model_version_register
from coldchain.models import Alert, Assessment, Shipment
from tests.analytics.boosters import DATA_SHA256, breach_booster, breach_soon_booster

FACTORS = [
    {"feature": "gap_to_max_c", "value": -0.4, "contribution": 1.2,
     "text": "0.4 °C outside the upper limit (raises breach risk)"},
    {"feature": "door_open_min_15m", "value": 6.0, "contribution": 0.7,
     "text": "door open 6 min in the last 15 min (raises breach risk)"},
]  # fmt: skip


METRICS = {
    ModelVersion.Task.BREACH: {"macro_f1": 0.941, "recall": {"breach": 0.97, "sensor_fault": 0.9}},
    ModelVersion.Task.BREACH_SOON: {"auc": 0.962, "recall": 0.931, "lead_time_min": 24},
}


def active_models() -> tuple[ModelVersion, ModelVersion]:
    """The active breach and breach-soon versions, registering tiny ones the first time."""
    active = {version.task: version for version in ModelVersion.objects.filter(active=True)}
    for task, booster in (
        (ModelVersion.Task.BREACH, breach_booster),
        (ModelVersion.Task.BREACH_SOON, breach_soon_booster),
    ):
        if task not in active:
            active[task] = model_version_register(
                task=task,
                booster=booster(),
                features=list(FEATURES),
                params={"max_depth": 3},
                metrics=METRICS[task],
                training_data_sha256=DATA_SHA256,
            )
    return active[ModelVersion.Task.BREACH], active[ModelVersion.Task.BREACH_SOON]


def make_assessment(
    shipment: Shipment, *, at: datetime | None = None, validated_c: float = 5.0, flag: str = "ok"
) -> Assessment:
    breach, soon = active_models()
    return Assessment.objects.create(
        shipment=shipment,
        evaluated_at=at or shipment.departure_at + timedelta(hours=1),
        breach_model=breach,
        breach_soon_model=soon,
        input_sha256=hashlib.sha256(shipment.reference.encode()).hexdigest(),
        breach_prob=0.9 if flag == "breach" else 0.01,
        breach_soon_prob=0.8 if flag == "breach_soon" else 0.02,
        sensor_fault_prob=0.0,
        flag=flag,
        validated_c=validated_c,
        top_factors=FACTORS,
    )


def make_alert(
    shipment: Shipment, *, kind: str = Alert.Kind.BREACH, at: datetime | None = None, **status
) -> Alert:
    assessment = make_assessment(shipment, at=at, validated_c=8.4, flag=kind)
    return Alert.objects.create(
        shipment=shipment,
        kind=kind,
        opened_at=assessment.evaluated_at,
        opened_by=assessment,
        last_assessment=assessment,
        **status,
    )
