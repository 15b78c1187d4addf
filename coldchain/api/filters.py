"""Query filters of the list endpoints (django-filter); each appears in the schema."""

from __future__ import annotations

from datetime import UTC

import django_filters as filters
from django import forms
from django_filters.fields import IsoDateTimeField

from analytics.models import ModelVersion
from coldchain.access import attached_when_read
from coldchain.models import (
    Alert,
    Assessment,
    Contract,
    ContractAction,
    InsuranceClaim,
    Shipment,
    WebhookDelivery,
)
from devices.models import Device, Reading


class UtcDateTimeField(IsoDateTimeField):
    """An RFC 3339 date-time, converted to UTC before it reaches the database:
    PostgreSQL refuses offsets beyond ±15:59, which RFC 3339 syntax allows."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("date-time out of range", code="overflow") from None


class DateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


def _party(role: str) -> filters.CharFilter:
    return filters.CharFilter(field_name=f"{role}__slug", help_text=f"The {role}'s slug")


class ShipmentFilter(filters.FilterSet):
    product = filters.CharFilter(field_name="product__code", help_text="Product code")
    shipper = _party("shipper")
    carrier = _party("carrier")
    receiver = _party("receiver")
    insurer = _party("insurer")
    bank = _party("bank")
    departure_after = DateTimeFilter(field_name="departure_at", lookup_expr="gte")
    departure_before = DateTimeFilter(field_name="departure_at", lookup_expr="lt")

    class Meta:
        model = Shipment
        fields = ["status", "vehicle"]


class DeviceFilter(filters.FilterSet):
    class Meta:
        model = Device
        fields = ["vehicle", "kind", "status"]


class ReadingFilter(filters.FilterSet):
    device = filters.CharFilter(field_name="device_id")
    since = DateTimeFilter(field_name="ts", lookup_expr="gte", help_text="ts >= since")
    until = DateTimeFilter(field_name="ts", lookup_expr="lt", help_text="ts < until")
    shipment = filters.CharFilter(
        method="of_shipment", help_text="Readings of this shipment's devices while attached"
    )

    class Meta:
        model = Reading
        fields = ["device", "since", "until", "shipment"]

    def of_shipment(self, queryset, name: str, reference: str):
        shipment = Shipment.objects.filter(reference=reference).first()
        if shipment is None:
            return queryset.none()
        return queryset.filter(attached_when_read(shipment.attachments.all()))


class AssessmentFilter(filters.FilterSet):
    shipment = filters.CharFilter(field_name="shipment__reference")
    evaluated_after = DateTimeFilter(field_name="evaluated_at", lookup_expr="gte")
    evaluated_before = DateTimeFilter(field_name="evaluated_at", lookup_expr="lt")

    class Meta:
        model = Assessment
        fields = ["shipment", "flag"]


class AlertFilter(filters.FilterSet):
    shipment = filters.CharFilter(field_name="shipment__reference")

    class Meta:
        model = Alert
        fields = ["shipment", "kind", "status"]


class ModelVersionFilter(filters.FilterSet):
    class Meta:
        model = ModelVersion
        fields = ["task", "active"]


class ContractFilter(filters.FilterSet):
    activated_after = DateTimeFilter(field_name="activated_at", lookup_expr="gte")
    activated_before = DateTimeFilter(field_name="activated_at", lookup_expr="lt")

    class Meta:
        model = Contract
        fields = ["activated_after", "activated_before"]


class ContractActionFilter(filters.FilterSet):
    shipment = filters.CharFilter(field_name="shipment__reference")
    at_after = DateTimeFilter(field_name="at", lookup_expr="gte", help_text="at >= at_after")
    at_before = DateTimeFilter(field_name="at", lookup_expr="lt", help_text="at < at_before")

    class Meta:
        model = ContractAction
        fields = ["shipment", "kind", "at_after", "at_before"]


class PaymentFilter(ContractActionFilter):
    kind = filters.ChoiceFilter(
        choices=[
            (kind.value, kind.label)
            for kind in (ContractAction.Kind.PAYMENT_RELEASED, ContractAction.Kind.PAYMENT_WITHHELD)
        ]
    )


class ClaimFilter(filters.FilterSet):
    shipment = filters.CharFilter(field_name="action__shipment__reference")
    insurer = filters.CharFilter(field_name="insurer__slug", help_text="The insurer's slug")
    at_after = DateTimeFilter(field_name="action__at", lookup_expr="gte")
    at_before = DateTimeFilter(field_name="action__at", lookup_expr="lt")
    evidence_attached = filters.BooleanFilter(
        field_name="evidence_built_at", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = InsuranceClaim
        fields = ["shipment", "insurer", "policy", "at_after", "at_before"]


class WebhookDeliveryFilter(filters.FilterSet):
    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = WebhookDelivery
        fields = ["endpoint", "event_type", "status"]
