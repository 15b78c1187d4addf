"""The alerts inbox."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Prefetch, QuerySet, Value, When
from django.http import Http404

from coldchain.access import shipments_visible_to
from coldchain.models import Alert, AlertNote

STATUS_ORDER = Case(
    When(status=Alert.Status.OPEN, then=Value(0)),
    When(status=Alert.Status.ACKNOWLEDGED, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)
# Each note with its author and its ledger index, in the order they were written.
NOTES = Prefetch(
    "notes",
    queryset=AlertNote.objects.select_related("author", "ledger_entry__sealed").order_by("at"),
)
ALERT_RELATED = ("shipment", "last_assessment__breach_model", "last_assessment__breach_soon_model")


def inbox_alerts(user, status: str = "") -> QuerySet[Alert]:
    """Alerts on the user's shipments: open first, then acknowledged, newest first."""
    alerts = (
        Alert.objects.filter(shipment__in=shipments_visible_to(user))
        .select_related(*ALERT_RELATED)
        .prefetch_related(NOTES)
        .order_by(STATUS_ORDER, "-opened_at")
    )
    if status in Alert.Status.values:
        alerts = alerts.filter(status=status)
    return alerts


def alert_for(user, alert_id: int) -> Alert:
    """The alert if it is on a shipment the user may see; otherwise 404."""
    alert = (
        Alert.objects.filter(pk=alert_id, shipment__in=shipments_visible_to(user))
        .select_related(*ALERT_RELATED)
        .prefetch_related(NOTES)
        .first()
    )
    if alert is None:
        raise Http404("No such alert")
    return alert


def factor_texts(factors: list) -> list[str]:
    """An assessment's top factors in plain words (stored as Factor dicts or text)."""
    return [f.get("text", "") if isinstance(f, dict) else str(f) for f in factors or []]
