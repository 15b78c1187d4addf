"""Contracts, their timeline, claims, payments and the release signature: evidence, read only."""

from __future__ import annotations

from rest_framework import serializers

from coldchain.api.serializers import LedgerIndexField
from coldchain.models import (
    Contract,
    ContractAction,
    InsuranceClaim,
    ReleaseSignature,
    ShipmentTransition,
)
from coldchain.release import release_manifestation


def _shipment_field(**source) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="reference", read_only=True, **source)


def _party_field() -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="slug", read_only=True)


class TransitionSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(
        source="actor.username", allow_null=True, default=None, help_text="null: the platform"
    )
    ledger_index = LedgerIndexField(source="ledger_entry")

    class Meta:
        model = ShipmentTransition
        fields = ["from_status", "to_status", "at", "reason", "actor", "ledger_index"]


class ContractActionSerializer(serializers.ModelSerializer):
    shipment = _shipment_field()
    payer = _party_field()
    payee = _party_field()
    model_versions = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    ledger_index = LedgerIndexField(source="ledger_entry")

    class Meta:
        model = ContractAction
        fields = [
            "id", "shipment", "kind", "idempotency_key", "reason", "at", "terms_sha256",
            "facts_sha256", "facts", "reading_indices", "assessment_indices", "model_versions",
            "amount", "currency", "payer", "payee", "details", "created_at", "ledger_index",
        ]  # fmt: skip


class ContractSerializer(serializers.ModelSerializer):
    """The terms as activated, then the timeline: transitions and engine actions in order."""

    shipment = _shipment_field()
    template = serializers.CharField(source="template.__str__", allow_null=True, default=None)
    ledger_index = LedgerIndexField(source="ledger_entry")
    transitions = TransitionSerializer(source="shipment.transitions", many=True)
    actions = ContractActionSerializer(source="shipment.actions", many=True)

    class Meta:
        model = Contract
        fields = [
            "shipment", "template", "terms", "terms_sha256", "activated_at", "ledger_index",
            "transitions", "actions",
        ]  # fmt: skip


class ClaimSerializer(serializers.ModelSerializer):
    shipment = _shipment_field(source="action.shipment")
    action = serializers.IntegerField(source="action_id", help_text="The contract action")
    at = serializers.DateTimeField(source="action.at")
    reason = serializers.CharField(source="action.reason")
    insurer = _party_field()
    status = serializers.SerializerMethodField()
    evidence_attached = serializers.SerializerMethodField()
    ledger_index = LedgerIndexField(source="action.ledger_entry")

    class Meta:
        model = InsuranceClaim
        fields = [
            "id", "shipment", "action", "at", "reason", "insurer", "policy", "insured_value",
            "deductible", "claimed_amount", "currency", "status", "evidence_attached",
            "evidence_built_at", "ledger_index",
        ]  # fmt: skip

    def get_status(self, claim: InsuranceClaim) -> str:
        """``filed`` until its entry is sealed and the evidence bundle built."""
        return "evidence_attached" if claim.evidence_built_at else "filed"

    def get_evidence_attached(self, claim: InsuranceClaim) -> bool:
        return claim.evidence_built_at is not None


class PaymentSerializer(serializers.ModelSerializer):
    shipment = _shipment_field()
    payer = _party_field()
    payee = _party_field()
    breakdown = serializers.JSONField(source="details")
    ledger_index = LedgerIndexField(source="ledger_entry")

    class Meta:
        model = ContractAction
        fields = [
            "id", "shipment", "kind", "at", "reason", "amount", "currency", "payer", "payee",
            "breakdown", "ledger_index",
        ]  # fmt: skip


class ReleaseSignatureSerializer(serializers.ModelSerializer):
    shipment = _shipment_field()
    signer = serializers.CharField(source="signer.username")
    manifestation = serializers.SerializerMethodField()
    ledger_index = LedgerIndexField(source="ledger_entry")

    class Meta:
        model = ReleaseSignature
        fields = [
            "shipment", "decision", "released_fraction", "reason", "signer", "printed_name",
            "meaning", "signed_at", "manifestation", "ledger_index",
        ]  # fmt: skip

    def get_manifestation(self, signature: ReleaseSignature) -> str:
        """Printed name, date and time (UTC) and meaning, as every display shows it."""
        return release_manifestation(signature)


class ReleaseRequestSerializer(serializers.Serializer):
    """The signer re-enters their password for every signature (21 CFR Part 11 §11.200)."""

    password = serializers.CharField(max_length=4096, trim_whitespace=False)
    decision = serializers.ChoiceField(choices=ReleaseSignature.Decision.choices)
    fraction = serializers.DecimalField(
        max_digits=5,
        decimal_places=4,
        required=False,
        allow_null=True,
        help_text="The released share, 0 < fraction < 1: partially_released only",
    )
    reason = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required unless released",
    )
