"""What the platform concluded about a shipment's cargo, and the alerts it raised."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from coldchain.models.shipments import Shipment


class Assessment(models.Model):
    """One scored instant of a shipment: model versions, input hash, probabilities,
    decision and its top factors; anchored as a platform-signed ledger entry."""

    class Flag(models.TextChoices):
        OK = "ok", "OK"
        BREACH_SOON = "breach_soon", "Breach soon"
        BREACH = "breach", "Breach"
        SENSOR_FAULT = "sensor_fault", "Sensor fault"

    shipment = models.ForeignKey(Shipment, on_delete=models.PROTECT, related_name="assessments")
    evaluated_at = models.DateTimeField(help_text="The instant assessed (cargo time)")
    breach_model = models.ForeignKey(
        "analytics.ModelVersion", on_delete=models.PROTECT, related_name="+"
    )
    breach_soon_model = models.ForeignKey(
        "analytics.ModelVersion", on_delete=models.PROTECT, related_name="+"
    )
    input_sha256 = models.CharField(max_length=64, help_text="Hash of the input window")
    breach_prob = models.FloatField()
    breach_soon_prob = models.FloatField()
    sensor_fault_prob = models.FloatField()
    flag = models.CharField(max_length=16, choices=Flag.choices, db_index=True)
    validated_c = models.FloatField(null=True, blank=True, help_text="Quorum cargo temperature")
    flagged_devices = models.JSONField(default=list, help_text="Devices outside the quorum")
    top_factors = models.JSONField(default=list, help_text="SHAP contributions, in plain words")
    reading_indices = models.JSONField(
        default=list, help_text="Ledger indices of the readings in the input window"
    )
    # Set by the evaluation, not by the database: the ledger entry signs the same instant.
    created_at = models.DateTimeField(default=timezone.now, help_text="When it was assessed")
    ledger_entry = models.OneToOneField(
        "ledger.Entry", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        ordering = ["shipment", "-evaluated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "evaluated_at"], name="assessment_one_per_instant"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shipment_id} @ {self.evaluated_at:%Y-%m-%d %H:%M}: {self.flag}"


class Alert(models.Model):
    """An open condition someone must look at, from the first assessment that
    raised it until one that no longer does."""

    class Kind(models.TextChoices):
        BREACH_SOON = "breach_soon", "Breach soon"
        BREACH = "breach", "Breach"
        SENSOR_FAULT = "sensor_fault", "Sensor fault"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        CLOSED = "closed", "Closed"

    shipment = models.ForeignKey(Shipment, on_delete=models.PROTECT, related_name="alerts")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    opened_by = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="+")
    last_assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="+")
    closed_by = models.ForeignKey(
        Assessment, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            # At most one live alert per shipment and kind: re-scoring extends it.
            models.UniqueConstraint(
                fields=["shipment", "kind"],
                condition=~models.Q(status="closed"),
                name="alert_one_live_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.shipment_id} ({self.status})"


class AlertNote(models.Model):
    """An acknowledgement or comment on an alert, by a named user; anchored."""

    class Kind(models.TextChoices):
        ACKNOWLEDGEMENT = "ack", "Acknowledgement"
        COMMENT = "comment", "Comment"

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="notes")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(blank=True)
    at = models.DateTimeField()
    ledger_entry = models.OneToOneField("ledger.Entry", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["alert", "at"]
        constraints = [
            # A retried acknowledgement must not acknowledge twice.
            models.UniqueConstraint(
                fields=["alert"], condition=models.Q(kind="ack"), name="alert_note_one_ack"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} by {self.author} on alert {self.alert_id}"
