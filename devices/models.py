from __future__ import annotations

from django.db import models

from devices.keys import fingerprint


class Device(models.Model):
    class Kind(models.TextChoices):
        REEFER_CONTROLLER = "reefer_controller", "Reefer controller probe"
        INDEPENDENT_LOGGER = "independent_logger", "Independent data logger"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REVOKED = "revoked", "Revoked"

    id = models.CharField(primary_key=True, max_length=64)
    public_key = models.BinaryField(
        max_length=32,
        help_text="The current raw 32-byte Ed25519 public key (history and proofs: DeviceKey)",
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    vehicle = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    last_seq = models.BigIntegerField(null=True, blank=True, help_text="Highest accepted seq")
    last_reading_ts = models.DateTimeField(null=True, blank=True, help_text="ts at last_seq")
    last_seen = models.DateTimeField(null=True, blank=True)
    registered_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.CharField(max_length=200, blank=True)
    registration_entry = models.OneToOneField(
        "ledger.Entry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revocation_entry = models.OneToOneField(
        "ledger.Entry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["vehicle", "id"]

    def __str__(self) -> str:
        return self.id

    @property
    def key_fingerprint(self) -> str:
        return fingerprint(bytes(self.public_key))


class DeviceKey(models.Model):
    """One key of a device's history: key #1 from its registration, #n+1 from a rotation.

    A key verifies readings whose signed ``ts`` lies in ``[valid_from, retired_at)``;
    key #1 has no lower bound (a logger may record before it is registered).
    ``Device.public_key`` is kept equal to the current key, under the device's
    row lock, so that ingest notices a rotation that commits while it works.
    """

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="keys")
    number = models.PositiveIntegerField(help_text="1 for the registered key, +1 per rotation")
    public_key = models.BinaryField(max_length=32, help_text="Raw 32-byte Ed25519 public key")
    fingerprint = models.CharField(max_length=64, help_text="Hex SHA-256 of the raw key")
    valid_from = models.DateTimeField()
    valid_from_entry = models.OneToOneField(
        "ledger.Entry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The registration or rotation entry that made this key the device's",
    )
    requested_by_previous_key = models.BooleanField(
        default=False,
        help_text="The rotation entry carries a request signed by the previous key",
    )
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_entry = models.OneToOneField(
        "ledger.Entry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The rotation entry that replaced this key",
    )

    class Meta:
        ordering = ["device", "number"]
        constraints = [
            models.UniqueConstraint(fields=["device", "number"], name="device_key_unique_number"),
            models.UniqueConstraint(
                fields=["device"],
                condition=models.Q(retired_at__isnull=True),
                name="device_key_one_current",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device_id} key #{self.number}"


class Reading(models.Model):
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="readings")
    seq = models.BigIntegerField()
    ts = models.DateTimeField(help_text="Device clock, as signed")
    received_at = models.DateTimeField(help_text="When the platform first received it")
    stored_at = models.DateTimeField(auto_now_add=True)
    temp_c = models.FloatField()
    ambient_c = models.FloatField(null=True, blank=True)
    humidity_pct = models.FloatField(null=True, blank=True)
    door_open = models.BooleanField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    reefer_on = models.BooleanField(null=True, blank=True)
    setpoint_c = models.FloatField(null=True, blank=True)
    battery_pct = models.FloatField(null=True, blank=True)
    jws = models.BinaryField(help_text="The exact compact JWS bytes the device signed")
    # No index: it would cost every ingest insert, and nothing looks readings
    # up by key (keys are never deleted; a device's readings are found by device).
    signing_key = models.ForeignKey(
        DeviceKey,
        on_delete=models.PROTECT,
        related_name="readings",
        db_index=False,
        help_text="The key of the device's history whose signature verified at ingest",
    )
    ledger_entry = models.OneToOneField(
        "ledger.Entry", null=True, blank=True, on_delete=models.PROTECT, related_name="reading"
    )

    class Meta:
        ordering = ["device", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["device", "seq"], name="reading_unique_device_seq")
        ]
        # The readings of a device over a time range, with what the dashboard's
        # chart and the excursion accounting read of them: PostgreSQL answers
        # those from the index alone, without the rows and their signatures.
        indexes = [
            models.Index(
                fields=["device", "ts"],
                include=["temp_c", "door_open", "reefer_on", "ledger_entry"],
                name="reading_device_ts_covering",
            )
        ]

    def __str__(self) -> str:
        return f"{self.device_id}#{self.seq}"


class Rejection(models.Model):
    """A message the platform did not store as a reading, kept as evidence."""

    class Reason(models.TextChoices):
        OVERSIZED = "oversized", "Larger than the message limit"
        MALFORMED_JWS = "malformed_jws", "Not a compact JWS"
        WRONG_ALG = "wrong_alg", "Algorithm other than EdDSA"
        UNKNOWN_DEVICE = "unknown_device", "No device registered under kid"
        REVOKED_DEVICE = "revoked_device", "Device revoked"
        BAD_SIGNATURE = "bad_signature", "Signature does not verify"
        MALFORMED_JSON = "malformed_json", "Payload is not a JSON object"
        SCHEMA_VIOLATION = "schema_violation", "Payload violates the v1 schema"
        IMPLAUSIBLE = "implausible", "Physically implausible value"
        DEVICE_MISMATCH = "device_mismatch", "Topic, kid and payload name other devices"
        FUTURE_TIMESTAMP = "future_timestamp", "Timestamp too far in the future"
        SEQ_NOT_INCREASING = "seq_not_increasing", "seq does not increase with ts"
        DUPLICATE = "duplicate", "Exact duplicate of a stored reading"
        EQUIVOCATION = "equivocation", "Same device and seq, other bytes"

    SECURITY_REASONS = frozenset(
        {Reason.BAD_SIGNATURE, Reason.REVOKED_DEVICE, Reason.EQUIVOCATION, Reason.DEVICE_MISMATCH}
    )

    reason = models.CharField(max_length=32, choices=Reason.choices, db_index=True)
    detail = models.CharField(max_length=300)
    received_at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=8, help_text="mqtt or http")
    topic = models.CharField(max_length=200, blank=True)
    device_id = models.CharField(max_length=64, blank=True, db_index=True, help_text="As claimed")
    seq = models.BigIntegerField(null=True, blank=True)
    raw = models.BinaryField(help_text="The message, truncated to the storage cap")
    raw_size = models.PositiveIntegerField()
    raw_sha256 = models.CharField(max_length=64)
    security_event = models.BooleanField(default=False, db_index=True)
    conflicting_reading = models.ForeignKey(
        Reading, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.reason} {self.device_id or '?'}"


class IngestBatch(models.Model):
    """MQTT messages the bridge has acknowledged but the worker not yet ingested.

    Deleted in the transaction that stores the batch's readings (devices.inbox).
    """

    data = models.BinaryField(help_text="The messages, length-prefixed frames")
    message_count = models.PositiveIntegerField()
    received_at = models.DateTimeField(help_text="When the bridge received the first message")
    queued_at = models.DateTimeField(help_text="When it was last queued")
    attempts = models.PositiveIntegerField(default=1, help_text="Times queued")
    requeue_at = models.DateTimeField(
        db_index=True, help_text="When to queue it again if it is still here"
    )

    class Meta:
        verbose_name_plural = "ingest batches"

    def __str__(self) -> str:
        return f"batch {self.pk} of {self.message_count} messages"
