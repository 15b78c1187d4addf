"""Shipments as the fleet overview and the shipment page show them."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from coldchain.access import shipments_visible_to
from coldchain.cargo import device_periods
from coldchain.models import Alert, Assessment, Shipment
from devices.models import Reading
from frontend.selectors.alerts import ALERT_RELATED, NOTES

LIVE_STATUSES = (
    Shipment.Status.ACTIVE,
    Shipment.Status.IN_TRANSIT,
    Shipment.Status.DELIVERED,
    Shipment.Status.DISPUTED,
)
OPEN_ALERT_STATUSES = (Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED)


@dataclass(frozen=True)
class FleetFilter:
    """The fleet overview's query string: free text, a status, alerting only."""

    search: str = ""
    status: str = ""
    alerting: bool = False

    @classmethod
    def from_query(cls, query) -> FleetFilter:
        status = query.get("status", "")
        return cls(
            search=query.get("q", "").strip()[:100],
            status=status if status in Shipment.Status.values else "",
            alerting=query.get("alerting") == "1",
        )


def fleet_shipments(user, fleet_filter: FleetFilter) -> QuerySet[Shipment]:
    """Live shipments (or those of one status) with their latest assessment and open alerts."""
    latest = Assessment.objects.filter(shipment=OuterRef("pk")).order_by("-evaluated_at")
    shipments = (
        shipments_visible_to(user)
        .select_related("product", "carrier")
        .annotate(
            validated_c=Subquery(latest.values("validated_c")[:1]),
            assessed_at=Subquery(latest.values("evaluated_at")[:1]),
            flag=Subquery(latest.values("flag")[:1]),
            open_alerts=Count("alerts", filter=Q(alerts__status__in=OPEN_ALERT_STATUSES)),
        )
        .order_by("-open_alerts", "deadline_at", "reference")
    )
    if fleet_filter.status:
        shipments = shipments.filter(status=fleet_filter.status)
    else:
        shipments = shipments.filter(status__in=LIVE_STATUSES)
    if fleet_filter.alerting:
        shipments = shipments.filter(open_alerts__gt=0)
    if fleet_filter.search:
        text = fleet_filter.search
        shipments = shipments.filter(
            Q(reference__icontains=text)
            | Q(vehicle__icontains=text)
            | Q(origin__icontains=text)
            | Q(destination__icontains=text)
            | Q(product__name__icontains=text)
            | Q(carrier__name__icontains=text)
        )
    return shipments


def shipment_for(user, reference: str) -> Shipment:
    """The shipment if the user may see it; otherwise 404, as if it did not exist."""
    shipment = (
        shipments_visible_to(user)
        .select_related("product", "shipper", "carrier", "receiver", "insurer", "bank")
        .filter(reference=reference)
        .first()
    )
    if shipment is None:
        raise Http404("No such shipment")
    return shipment


def latest_readings(shipment: Shipment) -> list[Reading]:
    """Each attached device's latest reading on this shipment, with its ledger
    index: one step down the end of the device's (device, time) index range."""
    latest = []
    for periods in device_periods(shipment):
        reading = (
            Reading.objects.filter(periods)
            .select_related("device", "ledger_entry__sealed")
            .order_by("-ts", "-seq")
            .first()
        )
        if reading is not None:
            latest.append(reading)
    return latest


def latest_assessment(shipment: Shipment) -> Assessment | None:
    return (
        shipment.assessments.select_related("breach_model", "breach_soon_model")
        .order_by("-evaluated_at")
        .first()
    )


def shipment_alerts(shipment: Shipment) -> QuerySet[Alert]:
    return shipment.alerts.select_related(*ALERT_RELATED).prefetch_related(NOTES)
