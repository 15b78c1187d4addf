"""Assessments and alerts as scoring would write them, for the dashboard's tests."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from coldchain.models import Alert, Assessment, Shipment
from tests.analytics.boosters import register_both

FACTORS = [
    {"feature": "gap_to_max_c", "value": -0.4, "contribution": 1.2,
     "text": "0.4 °C outside the upper limit (raises breach risk)"},
    {"feature": "door_open_min_15m", "value": 6.0, "contribution": 0.7,
     "text": "door open 6 min in the last 15 min (raises breach risk)"},
]  # fmt: skip


def make_assessment(
    shipment: Shipment, *, at: datetime | None = None, validated_c: float = 5.0, flag: str = "ok"
) -> Assessment:
    breach, soon = register_both()
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


def make_alert(shipment: Shipment, *, kind: str = Alert.Kind.BREACH, **status) -> Alert:
    assessment = make_assessment(shipment, validated_c=8.4, flag=kind)
    return Alert.objects.create(
        shipment=shipment,
        kind=kind,
        opened_at=assessment.evaluated_at,
        opened_by=assessment,
        last_assessment=assessment,
        **status,
    )
