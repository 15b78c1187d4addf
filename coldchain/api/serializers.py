from __future__ import annotations

from typing import get_args

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from analytics.models import ModelVersion
from coldchain.eta import EtaBasis
from coldchain.models import (
    Alert,
    AlertNote,
    Assessment,
    DeviceAttachment,
    Party,
    Product,
    Shipment,
)


@extend_schema_field(serializers.IntegerField(allow_null=True))
class LedgerIndexField(serializers.ReadOnlyField):
    """The index of a ledger entry (``source`` names the entry); null until sealed."""

    def to_representation(self, entry) -> int | None:
        return entry.index  # a missing entry is rendered null before this is called


class PartySerializer(serializers.ModelSerializer):
    class Meta:
        model = Party
        fields = ["slug", "name", "kind"]


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = [
            "code", "name", "temp_min_c", "temp_max_c", "excursion_min_c", "excursion_max_c",
            "max_single_excursion_min", "max_cumulative_excursion_min", "mkt_limit_c",
        ]  # fmt: skip


class AttachmentSerializer(serializers.ModelSerializer):
    device = serializers.CharField(source="device_id")

    class Meta:
        model = DeviceAttachment
        fields = ["device", "attached_from", "attached_until"]


def _party_field() -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="slug", read_only=True)


class ShipmentSerializer(serializers.ModelSerializer):
    product = ProductSerializer()
    shipper = _party_field()
    carrier = _party_field()
    receiver = _party_field()
    insurer = _party_field()
    bank = _party_field()
    devices = AttachmentSerializer(source="attachments", many=True)

    class Meta:
        model = Shipment
        fields = [
            "reference", "status", "product", "shipper", "carrier", "receiver", "insurer", "bank",
            "vehicle", "origin", "destination", "destination_lat", "destination_lon",
            "departure_at", "deadline_at", "delivered_at", "devices", "created_at",
        ]  # fmt: skip


class ShipmentDetailSerializer(ShipmentSerializer):
    """One shipment, with its ETA (``coldchain.shipment_eta``; set as ``eta`` by the view)."""

    eta = serializers.DateTimeField(source="eta.at", read_only=True)
    eta_basis = serializers.ChoiceField(
        source="eta.basis", choices=get_args(EtaBasis), read_only=True
    )

    class Meta(ShipmentSerializer.Meta):
        fields = [*ShipmentSerializer.Meta.fields, "eta", "eta_basis"]


class AssessmentSerializer(serializers.ModelSerializer):
    shipment = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    ledger_index = LedgerIndexField(source="ledger_entry")

    class Meta:
        model = Assessment
        fields = [
            "id", "shipment", "evaluated_at", "flag", "breach_prob", "breach_soon_prob",
            "sensor_fault_prob", "validated_c", "flagged_devices", "top_factors",
            "breach_model", "breach_soon_model", "input_sha256", "reading_indices",
            "created_at", "ledger_index",
        ]  # fmt: skip


class AlertNoteSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username")
    ledger_index = LedgerIndexField(source="ledger_entry")

    class Meta:
        model = AlertNote
        fields = ["kind", "author", "text", "at", "ledger_index"]


class AlertSerializer(serializers.ModelSerializer):
    shipment = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    notes = AlertNoteSerializer(many=True)

    class Meta:
        model = Alert
        fields = [
            "id", "shipment", "kind", "status", "opened_at", "closed_at", "escalated_at",
            "opened_by", "last_assessment", "notes",
        ]  # fmt: skip


class AlertNoteRequestSerializer(serializers.Serializer):
    text = serializers.CharField(
        required=False, default="", allow_blank=True, help_text="Required for a comment"
    )


class ModelVersionSerializer(serializers.ModelSerializer):
    registration_index = LedgerIndexField(source="registration_entry")

    class Meta:
        model = ModelVersion
        fields = [
            "id", "task", "version", "active", "artifact_sha256", "training_data_sha256",
            "features", "params", "metrics", "code_version", "xgboost_version", "created_at",
            "registration_index",
        ]  # fmt: skip


class SeriesQuerySerializer(serializers.Serializer):
    """Query of /readings/series/: ``device``, ``from``, ``to`` (RFC 3339), ``max_points``."""

    device = serializers.CharField(max_length=64)
    max_points = serializers.IntegerField(min_value=1, max_value=10_000, default=500)

    def get_fields(self) -> dict:
        # "from" is a Python keyword, so these two cannot be class attributes.
        fields = super().get_fields()
        fields["from"] = serializers.DateTimeField(source="start")
        fields["to"] = serializers.DateTimeField(source="end")
        return fields

    def validate(self, attrs: dict) -> dict:
        if attrs["start"] >= attrs["end"]:
            raise serializers.ValidationError({"to": "must be after from"})
        return attrs


class SeriesPointSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="Start of the bucket")
    count = serializers.IntegerField()
    mean_c = serializers.FloatField()
    min_c = serializers.FloatField()
    max_c = serializers.FloatField()


class SeriesSerializer(serializers.Serializer):
    device = serializers.CharField()
    bucket_seconds = serializers.FloatField()
    points = SeriesPointSerializer(many=True, help_text="Non-empty buckets only, oldest first")
