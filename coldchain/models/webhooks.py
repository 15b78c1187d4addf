"""Webhooks: where each party wants events sent, and every delivery and attempt."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from coldchain.models.parties import Party

ALL_EVENTS = "*"


class WebhookEndpoint(models.Model):
    """A URL of a party's that receives the event types it subscribed to.

    ``secret`` is kept in clear: an HMAC is computed with the secret itself,
    so a hash of it would not do (docs/webhooks.md, "The secret").
    """

    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    event_types = models.JSONField(
        default=list, help_text=f'Event types sent to this URL; ["{ALL_EVENTS}"] for all'
    )
    secret = models.CharField(max_length=128, editable=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["party", "created_at"]

    def __str__(self) -> str:
        return f"{self.party}: {self.url}"

    def subscribes_to(self, event_type: str) -> bool:
        return ALL_EVENTS in self.event_types or event_type in self.event_types


class WebhookDelivery(models.Model):
    """One event for one endpoint, with a body fixed at creation.

    Unique on (endpoint, key): the same event announced again records
    nothing, so an endpoint may be sent an event twice but never two
    different bodies for it. Every attempt and every redelivery sends
    ``body`` byte for byte with the same ``event_id``.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending (not tried yet)"
        FAILED = "failed", "Failed (the last attempt failed; the next is scheduled)"
        DELIVERED = "delivered", "Delivered (the receiver answered 2xx)"
        GIVEN_UP = "given_up", "Given up (no 2xx within the retry window)"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries"
    )
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event_type = models.CharField(max_length=64, db_index=True)
    key = models.CharField(max_length=200)
    body = models.BinaryField()
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    # Retries wait longer the longer this schedule has run, and stop at its
    # end; a manual redelivery starts a new schedule.
    schedule_started_at = models.DateTimeField()
    # Empty once delivered or given up: only deliveries still to send have one.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When a Celery message for this delivery was last queued: the sweep
    # queues a due delivery again only if that message looks lost.
    queued_at = models.DateTimeField(null=True, blank=True)
    # The lease of the worker sending it: nobody else sends it until then.
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "key"], name="webhook_one_delivery_per_key"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(next_attempt_at__isnull=False),
                name="webhook_pending_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} to {self.endpoint.url}"


class WebhookAttempt(models.Model):
    """One POST of a delivery and what came of it."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    number = models.PositiveIntegerField()
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Empty when no HTTP response came back"
    )
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField()

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_number"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}: {self.status_code or self.error}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
