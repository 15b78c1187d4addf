"""Webhook endpoints and deliveries, as their owners see them (the secret: once, at creation)."""

from __future__ import annotations

from rest_framework import serializers

from coldchain.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from coldchain.webhooks.endpoints import EVENT_TYPES, URL_MAX_LENGTH


class WebhookEndpointSerializer(serializers.ModelSerializer):
    party = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "party", "url", "event_types", "active", "created_at"]


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="Shown this once: keep it to check signatures")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


_EVENT_TYPES_HELP = f'Any of {", ".join(EVENT_TYPES)}, or ["*"] for all'


class WebhookEndpointWriteSerializer(serializers.Serializer):
    """The request body; the service checks the values and names the wrong field."""

    url = serializers.CharField(max_length=URL_MAX_LENGTH)
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=64), help_text=_EVENT_TYPES_HELP
    )
    active = serializers.BooleanField(required=False)


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "at", "status_code", "error", "duration_ms"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    body = serializers.SerializerMethodField()
    attempts = WebhookAttemptSerializer(source="log", many=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "endpoint", "event_id", "event_type", "status", "body", "attempts",
            "next_attempt_at", "created_at", "delivered_at",
        ]  # fmt: skip

    def get_body(self, delivery: WebhookDelivery) -> str:
        """The JSON body sent, byte for byte, on every attempt."""
        return bytes(delivery.body).decode()
