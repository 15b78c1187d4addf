"""The alerts inbox."""

from __future__ import annotations

from django.db.models import Case, IntegerField, QuerySet, Value, When

from coldchain.access import shipments_visible_to
from coldchain.models import Alert

STATUS_ORDER = Case(
    When(status=Alert.Status.OPEN, then=Value(0)),
    When(status=Alert.Status.ACKNOWLEDGED, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def inbox_alerts(user, status: str = "") -> QuerySet[Alert]:
    """Alerts on the user's shipments: open first, then acknowledged, newest first."""
    alerts = (
        Alert.objects.filter(shipment__in=shipments_visible_to(user))
        .select_related(
            "shipment",
            "last_assessment__breach_model",
            "last_assessment__breach_soon_model",
        )
        .prefetch_related("notes__author")
        .order_by(STATUS_ORDER, "-opened_at")
    )
    if status in Alert.Status.values:
        alerts = alerts.filter(status=status)
    return alerts


def factor_texts(factors: list) -> list[str]:
    """An assessment's top factors in plain words (stored as Factor dicts or text)."""
    return [f.get("text", "") if isinstance(f, dict) else str(f) for f in factors or []]
